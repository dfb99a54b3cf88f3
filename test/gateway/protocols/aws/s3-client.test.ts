import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isGatehouseError } from '../../../../gateway/src/errors';
import type { Principal } from '../../../../gateway/src/identity';
import { authenticateAwsRequest } from '../../../../gateway/src/protocols/aws/authenticate';
import { createKeyring, mintCallerCredential } from '../../../../gateway/src/protocols/aws/credentials';
import { deriveOperation } from '../../../../gateway/src/protocols/aws/operations';
import type { SignedRequest } from '../../../../gateway/src/protocols/aws/sigv4';

/**
 * A real @aws-sdk/client-s3 (its own signer, checksums and serializers) sends to a loopback server
 * that captures each request as the gateway would see it, verifies it and names its operation.
 */
interface Captured {
  readonly request: SignedRequest;
  readonly host: string;
  readonly headers: Record<string, string | undefined>;
}

const keyring = createKeyring('k1', { k1: randomBytes(32) });
const principal: Principal = { issuer: 'https://idp.example', issuerName: 'corp', subject: 'agent', name: 'agent', groups: ['dev'], kind: 'workload', tokenId: 't1' };
const captured: Captured[] = [];
let server: Server;
let client: S3Client;

function capture(req: IncomingMessage, body: Buffer): Captured {
  const raw: [string, string][] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) raw.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
  const url = req.url!;
  const q = url.indexOf('?');
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
  return {
    request: { method: req.method!, path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), headers: raw, body },
    host: req.headers.host!,
    headers,
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const c = capture(req, Buffer.concat(chunks));
      captured.push(c);
      let ok = true;
      try {
        authenticateAwsRequest(keyring, c.request);
      } catch (e) {
        ok = false;
        res.writeHead(403, { 'content-type': 'application/xml' }).end(`<Error><Code>${isGatehouseError(e) ? e.code : 'Internal'}</Code></Error>`);
      }
      if (!ok) return;
      if (req.method === 'GET' && c.request.query.includes('list-type=2')) {
        res.writeHead(200, { 'content-type': 'application/xml' }).end('<?xml version="1.0"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount></ListBucketResult>');
      } else if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/plain', etag: '"1"' }).end('stored body');
      } else if (req.method === 'DELETE') {
        res.writeHead(204).end();
      } else {
        res.writeHead(200, { etag: '"1"' }).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const minted = mintCallerCredential(keyring, principal, 'aws');
  client = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    region: 'eu-west-1',
    credentials: { accessKeyId: minted.accessKeyId, secretAccessKey: minted.secretAccessKey, sessionToken: minted.sessionToken, expiration: new Date(minted.expiration) },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('a real @aws-sdk/client-s3 with gateway-issued credentials', () => {
  it('signs requests the gateway verifies, and each is named by the operation the SDK called', async () => {
    captured.length = 0;
    await client.send(new PutObjectCommand({ Bucket: 'my-bucket', Key: 'dir/a file+1.txt', Body: 'hello world', ContentType: 'text/plain' }));
    const got = await client.send(new GetObjectCommand({ Bucket: 'my-bucket', Key: 'dir/a file+1.txt' }));
    expect(await got.Body!.transformToString()).toBe('stored body');
    await client.send(new ListObjectsV2Command({ Bucket: 'my-bucket', Prefix: 'dir/' }));
    await client.send(new DeleteObjectCommand({ Bucket: 'my-bucket', Key: 'dir/a file+1.txt' }));
    expect(captured).toHaveLength(4);
    const names = captured.map((c) => {
      const auth = authenticateAwsRequest(keyring, c.request);
      const op = deriveOperation({ ...c.request, host: c.host, headers: c.headers }, { service: auth.signature.service, region: auth.signature.region });
      return 'refusal' in op ? op.code : [op.action, op.group, op.resources.Bucket, op.resources.Key ?? null, auth.signature.payload.kind];
    });
    // Over plain HTTP with a known body the SDK signs the body's SHA-256.
    expect(names).toEqual([
      ['aws:s3:PutObject', 'write', 'my-bucket', 'dir/a file+1.txt', 'hash'],
      ['aws:s3:GetObject', 'read', 'my-bucket', 'dir/a file+1.txt', 'hash'],
      ['aws:s3:ListObjectsV2', 'read', 'my-bucket', null, 'hash'],
      ['aws:s3:DeleteObject', 'write', 'my-bucket', 'dir/a file+1.txt', 'hash'],
    ]);
  });

  it('a streamed upload is signed as STREAMING-UNSIGNED-PAYLOAD-TRAILER (aws-chunked with a CRC32 trailer): recognized and recorded', async () => {
    captured.length = 0;
    await client.send(new PutObjectCommand({ Bucket: 'my-bucket', Key: 'big', Body: Readable.from([Buffer.from('hello '), Buffer.from('world')]), ContentLength: 11 }));
    const c = captured[0]!;
    expect(c.headers['content-encoding']).toBe('aws-chunked');
    const auth = authenticateAwsRequest(keyring, c.request);
    expect(auth.signature.payload).toEqual({ kind: 'streaming', mode: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' });
    expect(deriveOperation({ ...c.request, host: c.host, headers: c.headers }, { service: 's3', region: 'eu-west-1' })).toMatchObject({ action: 'aws:s3:PutObject', resources: { Bucket: 'my-bucket', Key: 'big' } });
  });

  it('fails verification when the captured method, path, query, a header or the body is tampered with', async () => {
    captured.length = 0;
    await client.send(new PutObjectCommand({ Bucket: 'my-bucket', Key: 'k', Body: 'payload bytes' }));
    const { request } = captured[0]!;
    expect(authenticateAwsRequest(keyring, request).principal.subject).toBe('agent');
    const codes = [
      { ...request, method: 'POST' },
      { ...request, path: '/my-bucket/k2' },
      { ...request, query: `${request.query}&acl=` },
      // x-amz-date one second later (still within the skew, still the same scope date unless at midnight).
      { ...request, headers: request.headers.map(([k, v]) => [k, k.toLowerCase() === 'x-amz-date' ? v.replace(/(\d)Z$/, (_m, d: string) => `${(Number(d) + 1) % 10}Z`) : v] as const) },
      { ...request, body: Buffer.from('payload bytez') },
    ].map((r) => {
      try {
        authenticateAwsRequest(keyring, r);
        return 'verified';
      } catch (e) {
        return isGatehouseError(e) ? e.code : String(e);
      }
    });
    expect(codes).toEqual([
      'GH_ERR_AWS_SIGNATURE_MISMATCH',
      'GH_ERR_AWS_SIGNATURE_MISMATCH',
      'GH_ERR_AWS_SIGNATURE_MISMATCH',
      'GH_ERR_AWS_SIGNATURE_MISMATCH',
      'GH_ERR_AWS_PAYLOAD_HASH_MISMATCH',
    ]);
  });
});
