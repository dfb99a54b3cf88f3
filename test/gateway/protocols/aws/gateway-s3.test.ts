import { createHash, createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  SelectObjectContentCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { awsConnectionSchema, type AwsConnectionConfig } from '../../../../gateway/src/config/schema';
import { createHttpProxy, type HttpProxy } from '../../../../gateway/src/protocols/http/proxy';
import { prepareAwsConnections } from '../../../../gateway/src/protocols/aws/connections';
import { AWS_CREDENTIALS_PATH, withAwsCredentials } from '../../../../gateway/src/protocols/aws/credential-endpoint';
import { createKeyring, mintCallerCredential, parseKeyring, type CallerCredential } from '../../../../gateway/src/protocols/aws/credentials';
import { NodeSha256 } from '../../../../gateway/src/protocols/aws/sha256';
import { startPipelineWorld, startRealPipeline, type PipelineWorld, type RealPipeline } from '../../../support/real-pipeline';
import { selectEventStream, startAwsFront, type AwsFront } from '../../../support/aws-front';
import { MemoryLogger } from '../http/harness';
import { awsCredentialsCommand } from '../../../../gateway/src/cli/commands/aws-credentials';
import { awsCommand } from '../../../../gateway/src/cli/commands/aws';
import { mintPresignTicket, PRESIGN_PARAM } from '../../../../gateway/src/protocols/aws/presign';

/**
 * The `aws` connection kind end to end: a real @aws-sdk/client-s3 with gateway-issued credentials
 * talks to the gateway (real pipeline: OIDC issuer, Cedar, strict recorder); the gateway re-signs
 * with the brokered credential for a SigV4-verifying front (recomputing every signature with
 * @smithy/signature-v4, checking chunk signatures and checksum trailers) before s3rver.
 */
const POLICY = `
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("keep-protected")
@message("objects under protected/ are never deleted")
forbid (principal, action == Gatehouse::Action::"aws:s3:DeleteObject", resource)
  when { context.resources has Key && context.resources.Key like "protected/*" };

@id("no-secret-reads")
@message("objects under secret/ are not read through the gateway")
forbid (principal, action == Gatehouse::Action::"aws:s3:GetObject", resource)
  when { context.resources has Key && context.resources.Key like "secret/*" };

@id("no-copy-out-of-other")
@message("objects of other-bucket are not copied elsewhere")
forbid (principal, action in [Gatehouse::Action::"aws:s3:CopyObject", Gatehouse::Action::"aws:s3:UploadPartCopy"], resource)
  when { context.resources has SourceBucket && context.resources.SourceBucket == "other-bucket" };
`;

const REGION = 'eu-west-1';
const BUCKET = 'agent-bucket';
/** A second bucket, named as the first segment of a virtual-hosted request's path. */
const OTHER_BUCKET = 'other-bucket';
const VHOST_SUFFIX = 's3.gw.local';
const BROKERED = { accessKeyId: 'AKIABROKEREDEXAMPLE1', secretAccessKey: 'brokered/secret/key/EXAMPLE0000000000000000' };
const KEYRING_JSON = JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } });

let world: PipelineWorld;
let env: RealPipeline;
let s3rver: S3rver;
let s3dir: string;
let front: AwsFront;
let proxy: HttpProxy;
let server: http.Server;
let gateway: string;
let token: string;

beforeAll(async () => {
  world = await startPipelineWorld();
  env = await startRealPipeline({ policy: POLICY, world, recordingMode: 'strict', env: { AWS_KEYRING: KEYRING_JSON, BROKERED_ID: BROKERED.accessKeyId, BROKERED_SECRET: BROKERED.secretAccessKey } });
  s3dir = await mkdtemp(join(tmpdir(), 'gh-s3rver-'));
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3dir, configureBuckets: [{ name: BUCKET }, { name: OTHER_BUCKET }] });
  const { port } = await s3rver.run();
  front = await startAwsFront({
    upstream: `http://127.0.0.1:${port}`,
    credentials: () => BROKERED,
    service: 's3',
    region: REGION,
    // s3rver has no S3 Select: the front answers it as S3 does, an event stream of the object's rows (two lines per Records event).
    answer: async ({ method, url }) => {
      if (method !== 'POST' || !/[?&]select(&|=|$)/.test(url)) return undefined;
      const object = await fetch(`http://127.0.0.1:${port}${url.split('?')[0]}`);
      const lines = (await object.text()).split(/(?<=\n)/);
      const rows: Buffer[] = [];
      for (let i = 0; i < lines.length; i += 2) rows.push(Buffer.from(lines.slice(i, i + 2).join('')));
      return { status: 200, headers: { 'content-type': 'application/vnd.amazon.eventstream' }, body: selectEventStream(rows, { corrupt: url.includes('corrupt') }) };
    },
  });
  const connection: AwsConnectionConfig = awsConnectionSchema.parse({
    name: 's3',
    kind: 'aws',
    service: 's3',
    region: REGION,
    route: { pathPrefix: '/aws/s3' },
    endpoint: front.url,
    callerCredentials: { keys: 'env:AWS_KEYRING' },
    brokered: { source: 'static', accessKeyId: 'env:BROKERED_ID', secretAccessKey: 'env:BROKERED_SECRET' },
  });
  // The same endpoint (path-style) answering virtual-hosted requests `<bucket>.s3.gw.local`; it accepts the s3 connection's credentials.
  const virtualHosted: AwsConnectionConfig = awsConnectionSchema.parse({
    ...connection,
    name: 's3v',
    route: { pathPrefix: '/aws/s3v' },
    virtualHostSuffixes: [VHOST_SUFFIX],
    callerCredentials: { keys: 'env:AWS_KEYRING', scope: 's3' },
  });
  const aws = prepareAwsConnections([connection, virtualHosted], { secrets: env.pipeline.secrets, bodyCapBytes: env.pipeline.bodyCapBytes });
  proxy = createHttpProxy({ pipeline: env.pipeline, connections: aws.http, dialects: aws.dialects, logger: new MemoryLogger(), idleSweepMs: 0 });
  server = http.createServer(withAwsCredentials(env.pipeline, aws, proxy.handler));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  gateway = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  token = await env.token(['developers'], 'agent-7');
}, 60_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => server?.close(() => r()));
  await proxy?.close();
  await front?.close();
  await s3rver?.close();
  await env?.close();
  await world?.close();
  await rm(s3dir, { recursive: true, force: true });
});

/** A GET signed by the caller for a virtual-hosted Host header (the gateway is reached on 127.0.0.1 all the same). */
async function virtualHostedGet(c: CallerCredential, host: string, path: string, query = ''): Promise<{ status: number; body: string }> {
  const signer = new SignatureV4({ credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken }, region: REGION, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  const signed = await signer.sign({ method: 'GET', protocol: 'http:', hostname: host, path, query: {}, headers: { host, 'x-amz-content-sha256': createHash('sha256').update('').digest('hex') } });
  return rawGet(host, path + query, query === '' ? signed.headers : { host });
}

function rawGet(host: string, target: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const url = new URL(gateway);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname: url.hostname, port: url.port, path: target, method: 'GET', headers: { ...headers, host }, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function fetchCredentials(bearer = token): Promise<{ status: number; body: Record<string, string | number> }> {
  const res = await fetch(`${gateway}${AWS_CREDENTIALS_PATH}?connection=s3`, { method: 'POST', headers: { authorization: `Bearer ${bearer}` } });
  return { status: res.status, body: (await res.json()) as Record<string, string | number> };
}

function clientWith(c: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): S3Client {
  // Without `expiration`: the SDK would refuse to use an expired credential itself.
  const credentials = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken === undefined ? {} : { sessionToken: c.sessionToken }) };
  return new S3Client({ endpoint: `${gateway}/aws/s3`, forcePathStyle: true, region: REGION, credentials, maxAttempts: 1 });
}

async function caller(): Promise<{ client: S3Client; credential: CallerCredential }> {
  const { status, body } = await fetchCredentials();
  expect(status).toBe(200);
  const credential = { accessKeyId: String(body.AccessKeyId), secretAccessKey: String(body.SecretAccessKey), sessionToken: String(body.SessionToken), expiration: String(body.Expiration) };
  return { client: clientWith(credential), credential };
}

/** No header the upstream received carries anything of the caller's credential. */
function expectNoCallerCredentialUpstream(credential: CallerCredential, from: number): void {
  for (const r of front.records.slice(from)) {
    const all = r.rawHeaders.join('\n');
    expect(all).not.toContain(credential.accessKeyId);
    expect(all).not.toContain(credential.sessionToken);
    expect(all).not.toContain('GHGW');
    expect(r.accessKeyId).toBe(BROKERED.accessKeyId);
  }
}

describe('aws connection: S3 through the gateway with a real SDK', () => {
  it('issues credential_process credentials for an OIDC token, and refuses without one', async () => {
    const { status, body } = await fetchCredentials();
    expect(status).toBe(200);
    expect(body).toMatchObject({ Version: 1, AccessKeyId: expect.stringMatching(/^GHGW[A-Z2-7]{16}$/), SecretAccessKey: expect.any(String), SessionToken: expect.stringMatching(/^GHGW1\./) });
    expect(Date.parse(String(body.Expiration))).toBeGreaterThan(Date.now());
    const refused = await fetchCredentials('not-a-token');
    expect(refused.status).toBe(401);
    const issued = await env.waitForEvent('aws.credentials.issued', (e) => e.payload.accessKeyId === body.AccessKeyId);
    expect(issued.payload).toMatchObject({ connection: 's3', scope: 's3' });
    expect(JSON.stringify(issued)).not.toContain(String(body.SecretAccessKey));
  });

  it('gatehouse aws-credentials prints credential_process JSON the SDK signs with, and fails without a usable token', async () => {
    const out: string[] = [];
    const err: string[] = [];
    expect(await awsCredentialsCommand([gateway, '--connection', 's3', '--token', token], { out: (l) => out.push(l), err: (l) => err.push(l) }, { env: {} })).toBe(0);
    const printed = JSON.parse(out.join('')) as Record<string, unknown>;
    expect(Object.keys(printed)).toEqual(['Version', 'AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration']);
    const client = clientWith({ accessKeyId: String(printed.AccessKeyId), secretAccessKey: String(printed.SecretAccessKey), sessionToken: String(printed.SessionToken) });
    await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    client.destroy();
    const refusedOut: string[] = [];
    expect(await awsCredentialsCommand([gateway, '--connection', 's3', '--token', 'forged'], { out: (l) => refusedOut.push(l), err: (l) => err.push(l) }, { env: {} })).toBe(1);
    expect(refusedOut).toEqual([]);
    expect(err.join('\n')).toContain('GH_ERR_TOKEN');
  });

  it('puts, gets, lists and deletes; each call judged, re-signed with the brokered credential, recorded', async () => {
    const { client, credential } = await caller();
    const from = front.records.length;
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'dir/hello world.txt', Body: 'hello gateway', ContentType: 'text/plain' }));
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/hello world.txt' }));
    expect(await got.Body!.transformToString()).toBe('hello gateway');
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'dir/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['dir/hello world.txt']);
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'dir/hello world.txt' }));
    const records = front.records.slice(from);
    expect(records.map((r) => [r.method, r.verified])).toEqual([['PUT', true], ['GET', true], ['GET', true], ['DELETE', true]]);
    expectNoCallerCredentialUpstream(credential, from);
    const responses = (await env.eventsOf('aws.response')).slice(-4);
    expect(responses.map((e) => [e.payload.action, e.payload.status, (e.payload.resources as Record<string, string>).Key ?? null])).toEqual([
      ['aws:s3:PutObject', 200, 'dir/hello world.txt'],
      ['aws:s3:GetObject', 200, 'dir/hello world.txt'],
      ['aws:s3:ListObjectsV2', 200, null],
      ['aws:s3:DeleteObject', 204, 'dir/hello world.txt'],
    ]);
    expect(responses[0]!.payload.awsRequestId).toEqual(expect.any(String));
    client.destroy();
  });

  it('re-signs a streamed aws-chunked upload (STREAMING-UNSIGNED-PAYLOAD-TRAILER, CRC32 trailer) the upstream verifies', async () => {
    const { client, credential } = await caller();
    const from = front.records.length;
    const data = randomBytes(300 * 1024);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'streamed.bin', Body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]), ContentLength: data.length }));
    expect(front.records[from]).toMatchObject({ method: 'PUT', payload: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', verified: true });
    expect(front.records[from]!.body.equals(data)).toBe(true);
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'streamed.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    expectNoCallerCredentialUpstream(credential, from);
    client.destroy();
  });

  it('passes a multipart upload (create, parts, complete), each part judged and re-signed', async () => {
    const { client } = await caller();
    const from = front.records.length;
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'multi.bin' }));
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1024)];
    const etags: string[] = [];
    for (const [i, body] of parts.entries()) etags.push((await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'multi.bin', UploadId, PartNumber: i + 1, Body: body }))).ETag!);
    await client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'multi.bin', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'multi.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(parts))).toBe(true);
    expect(front.records.slice(from).every((r) => r.verified)).toBe(true);
    const actions = (await env.eventsOf('aws.response')).map((e) => e.payload.action);
    expect(actions).toEqual(expect.arrayContaining(['aws:s3:CreateMultipartUpload', 'aws:s3:UploadPart', 'aws:s3:CompleteMultipartUpload']));
    client.destroy();
  });

  it('verifies and re-signs each chunk of a signed aws-chunked upload (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)', async () => {
    const { credential } = await caller();
    const from = front.records.length;
    const data = randomBytes(150_000);
    const res = await signedChunkedPut(credential, 'chunked.bin', data, 64 * 1024);
    expect(res.status).toBe(200);
    expect(front.records[from]).toMatchObject({ payload: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', verified: true });
    expect(front.records[from]!.body.equals(data)).toBe(true);
    // A chunk changed in flight (its signature no longer matches) never reaches the upstream whole.
    const before = front.records.length;
    const tampered = await signedChunkedPut(credential, 'tampered.bin', data, 64 * 1024, true);
    expect(tampered.status).not.toBe(200);
    expect(front.records.slice(before).every((r) => !r.verified)).toBe(true);
    const { client } = await caller();
    await expect(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'tampered.bin' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    client.destroy();
  });

  it('verifies and re-signs a signed upload with a signed checksum trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER); a changed trailer is refused', async () => {
    const { credential } = await caller();
    const from = front.records.length;
    const data = randomBytes(100_000);
    const res = await signedChunkedPut(credential, 'trailer.bin', data, 64 * 1024, false, {});
    expect(res.status).toBe(200);
    expect(front.records[from]).toMatchObject({ payload: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', verified: true });
    expect(front.records[from]!.body.equals(data)).toBe(true);
    // The checksum changed after the caller signed: the trailer signature no longer matches; the upstream never gets it whole.
    const before = front.records.length;
    const tampered = await signedChunkedPut(credential, 'trailer-tampered.bin', data, 64 * 1024, false, { tamperTrailer: true });
    expect(tampered.status).not.toBe(200);
    expect(front.records.slice(before).every((r) => !r.verified)).toBe(true);
    const { client } = await caller();
    await expect(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'trailer-tampered.bin' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    client.destroy();
  });

  it('passes SelectObjectContent\'s event stream through, message by message, to the SDK that decodes it; recorded as its summary', async () => {
    const { client } = await caller();
    const csv = 'id,name\n1,ada\n2,grace\n3,alan\n4,barbara\n';
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'data.csv', Body: csv }));
    const from = front.records.length;
    const out = await client.send(new SelectObjectContentCommand({ Bucket: BUCKET, Key: 'data.csv', Expression: 'select * from s3object', ExpressionType: 'SQL', InputSerialization: { CSV: {} }, OutputSerialization: { CSV: {} } }));
    const records: string[] = [];
    const kinds: string[] = [];
    for await (const event of out.Payload!) {
      kinds.push(Object.keys(event).filter((k) => (event as unknown as Record<string, unknown>)[k] !== undefined)[0]!);
      if (event.Records?.Payload !== undefined) records.push(Buffer.from(event.Records.Payload).toString('utf8'));
    }
    expect(records.join('')).toBe(csv);
    expect(kinds).toEqual(['Records', 'Records', 'Records', 'Stats', 'End']);
    expect(front.records.slice(from).map((r) => [r.method, r.verified, r.url.split('?')[1]])).toEqual([['POST', true, 'select=&select-type=2']]);
    const response = (await env.eventsOf('aws.response')).at(-1)!;
    const sent = Buffer.concat(selectEventStream([Buffer.from('id,name\n1,ada\n'), Buffer.from('2,grace\n3,alan\n'), Buffer.from('4,barbara\n')]));
    expect(response.payload).toMatchObject({ action: 'aws:s3:SelectObjectContent', status: 200, eventStream: { messages: 5, bytes: sent.length, sha256: createHash('sha256').update(sent).digest('hex'), events: { Records: 3, Stats: 1, End: 1 } } });
    expect(response.payload.body).toBeUndefined();
    client.destroy();
  });

  it('cuts an event stream whose message fails its CRC (fail closed), recorded as GH_ERR_AWS_EVENT_STREAM_MALFORMED', async () => {
    const { client } = await caller();
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'corrupt.csv', Body: 'a\nb\nc\nd\n' }));
    const received: string[] = [];
    const failed = await (async () => {
      const out = await client.send(new SelectObjectContentCommand({ Bucket: BUCKET, Key: 'corrupt.csv', Expression: 'select * from s3object', ExpressionType: 'SQL', InputSerialization: { CSV: {} }, OutputSerialization: { CSV: {} } }));
      for await (const event of out.Payload!) if (event.Records?.Payload !== undefined) received.push(Buffer.from(event.Records.Payload).toString('utf8'));
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failed).toBeDefined();
    // Whole checked messages only: at most the first (when it came apart from the corrupt one), never the corrupt second.
    expect(received).toEqual(['a\nb\n'].slice(0, received.length));
    const error = (await env.eventsOf('http.error')).at(-1)!;
    expect(error.payload).toMatchObject({ code: 'GH_ERR_AWS_EVENT_STREAM_MALFORMED' });
    client.destroy();
  });

  it('refuses a DeleteObject policy forbids, with AccessDenied, recorded before the answer; the upstream never sees it', async () => {
    const { client } = await caller();
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'protected/keep.txt', Body: 'keep' }));
    const from = front.records.length;
    const err = await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'protected/keep.txt' })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect((err as Error).message).toContain('GH_ERR_POLICY_DENIED');
    expect(front.records.length).toBe(from);
    const denied = await env.storedEvents();
    expect(denied.some((e) => e.type === 'policy.denied' && e.payload.action === 'aws:s3:DeleteObject' && e.payload.code === 'policy.forbid')).toBe(true);
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'protected/keep.txt' }));
    expect(await got.Body!.transformToString()).toBe('keep');
    client.destroy();
  });

  it('refuses expired, forged and foreign caller credentials with AWS errors, recorded as auth.failure; nothing reaches the upstream', async () => {
    const keyring = parseKeyring(KEYRING_JSON);
    const principal = await env.principal(['developers'], 'agent-7');
    const expired = mintCallerCredential(keyring, principal, 's3', { now: Math.floor(Date.now() / 1000) - 7200, ttlSeconds: 3600 });
    const good = mintCallerCredential(keyring, principal, 's3');
    const otherGateway = mintCallerCredential(createKeyring('k1', { k1: randomBytes(32) }), principal, 's3');
    const from = front.records.length;
    const cases: [{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }, string][] = [
      [expired, 'ExpiredToken'],
      [{ ...good, secretAccessKey: 'forged-secret-forged-secret-forged-secre' }, 'SignatureDoesNotMatch'],
      [otherGateway, 'InvalidAccessKeyId'],
      [{ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }, 'InvalidAccessKeyId'],
    ];
    for (const [credentials, name] of cases) {
      const client = clientWith(credentials);
      await expect(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'protected/keep.txt' }))).rejects.toMatchObject({ name });
      client.destroy();
    }
    expect(front.records.length).toBe(from);
    const failures = (await env.eventsOf('auth.failure')).map((e) => e.payload.code);
    expect(failures).toEqual(expect.arrayContaining(['GH_ERR_AWS_CREDENTIAL_EXPIRED', 'GH_ERR_AWS_SIGNATURE_MISMATCH', 'GH_ERR_AWS_CREDENTIAL_INVALID', 'GH_ERR_AWS_CREDENTIAL_FOREIGN']));
  });

  it('forwards a virtual-hosted request path-style to the bucket it was judged on, never to the bucket its path names (signed and presigned)', async () => {
    const { client, credential } = await caller();
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${OTHER_BUCKET}/data.txt`, Body: 'judged object' }));
    await client.send(new PutObjectCommand({ Bucket: OTHER_BUCKET, Key: 'data.txt', Body: 'object never judged' }));
    const from = front.records.length;
    const host = `${BUCKET}.${VHOST_SUFFIX}`;
    const got = await virtualHostedGet(credential, host, `/aws/s3v/${OTHER_BUCKET}/data.txt`);
    expect(got).toEqual({ status: 200, body: 'judged object' });
    expect(front.records.slice(from).map((r) => [r.method, r.url, r.verified])).toEqual([['GET', `/${BUCKET}/${OTHER_BUCKET}/data.txt`, true]]);
    const judged = (await env.eventsOf('aws.response')).at(-1)!;
    expect(judged.payload).toMatchObject({ action: 'aws:s3:GetObject', resources: { Bucket: BUCKET, Key: `${OTHER_BUCKET}/data.txt` } });
    // The same through a gateway presigned URL used on the virtual host.
    const out: string[] = [];
    expect(await awsCommand(['presign', `s3://${BUCKET}/${OTHER_BUCKET}/data.txt`, '--connection', 's3v', '--gateway', gateway, '--token', token], { out: (l) => out.push(l), err: () => undefined }, { env: {} })).toBe(0);
    const presigned = new URL(out.join(''));
    const before = front.records.length;
    const viaTicket = await rawGet(host, `/aws/s3v/${OTHER_BUCKET}/data.txt${presigned.search}`, {});
    expect(viaTicket).toEqual({ status: 200, body: 'judged object' });
    expect(front.records.slice(before).map((r) => [r.method, r.url, r.verified])).toEqual([['GET', `/${BUCKET}/${OTHER_BUCKET}/data.txt`, true]]);
    client.destroy();
  });

  it('judges the object a copy reads: policy refuses a CopyObject out of a forbidden bucket; the upstream never sees it', async () => {
    const { client } = await caller();
    await client.send(new PutObjectCommand({ Bucket: OTHER_BUCKET, Key: 'copy-me.txt', Body: 'kept in other-bucket' }));
    const from = front.records.length;
    await expect(client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copied.txt', CopySource: `${OTHER_BUCKET}/copy-me.txt` }))).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(front.records.length).toBe(from);
    client.destroy();
  });

  it('gatehouse aws presign: a gateway-signed URL any HTTP client uses until it expires, for its own object and method only; each use judged, re-signed and recorded', async () => {
    const { client } = await caller();
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'shared/report.txt', Body: 'quarterly report' }));
    const presign = async (...args: string[]): Promise<{ code: number; url: string; err: string }> => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await awsCommand(['presign', ...args, '--connection', 's3', '--gateway', gateway, '--token', token], { out: (l) => out.push(l), err: (l) => err.push(l) }, { env: {} });
      return { code, url: out.join(''), err: err.join('\n') };
    };
    const get = await presign(`s3://${BUCKET}/shared/report.txt`, '--expires', '120');
    expect(get.code).toBe(0);
    expect(get.url).toMatch(new RegExp(`^${gateway}/aws/s3/${BUCKET}/shared/report\\.txt\\?${PRESIGN_PARAM}=GHPS1\\.`));
    const ticket = decodeURIComponent(new URL(get.url).searchParams.get(PRESIGN_PARAM)!);
    const from = front.records.length;
    const res = await fetch(get.url);
    expect([res.status, await res.text()]).toEqual([200, 'quarterly report']);
    // Upstream: re-signed with the brokered credential, without the ticket.
    expect(front.records.slice(from).map((r) => [r.method, r.url, r.verified, r.accessKeyId])).toEqual([['GET', `/${BUCKET}/shared/report.txt`, true, BROKERED.accessKeyId]]);
    const issued = (await env.eventsOf('aws.presign.issued')).at(-1)!;
    expect(issued.payload).toMatchObject({ connection: 's3', action: 'aws:s3:GetObject', method: 'GET', bucket: BUCKET, key: 'shared/report.txt' });
    const used = (await env.eventsOf('aws.response')).at(-1)!;
    expect(used.payload).toMatchObject({ action: 'aws:s3:GetObject', status: 200, presign: issued.payload.id, resources: { Bucket: BUCKET, Key: 'shared/report.txt' } });
    // Refused: another method, another key, another query parameter, a changed ticket; nothing reaches the upstream.
    const before = front.records.length;
    const other = new URL(get.url);
    other.pathname = `/aws/s3/${BUCKET}/shared/other.txt`;
    const extra = new URL(get.url);
    extra.searchParams.set('versionId', '1');
    const forged = new URL(get.url);
    forged.searchParams.set(PRESIGN_PARAM, ticket.replace(/\.([^.]+)\./, (_m, p: string) => `.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), key: 'shared/other.txt' })).toString('base64url')}.`));
    forged.pathname = other.pathname;
    for (const [url, init, code] of [
      [get.url, { method: 'PUT', body: 'overwritten' }, 'GH_ERR_AWS_PRESIGN_INVALID'],
      [get.url, { method: 'DELETE' }, 'GH_ERR_AWS_PRESIGN_INVALID'],
      [other.toString(), {}, 'GH_ERR_AWS_PRESIGN_INVALID'],
      [extra.toString(), {}, 'GH_ERR_AWS_PRESIGN_INVALID'],
      [forged.toString(), {}, 'GH_ERR_AWS_PRESIGN_INVALID'],
    ] as const) {
      const r = await fetch(url, init);
      expect([url, r.status, r.headers.get('x-gatehouse-error')]).toEqual([url, 403, code]);
      expect(await r.text()).toContain('<Code>AccessDenied</Code>');
    }
    // Expired (issued two hours ago for a minute).
    const keyring = parseKeyring(KEYRING_JSON);
    const principal = await env.principal(['developers'], 'agent-7');
    const old = mintPresignTicket(keyring, principal, { connection: 's3', method: 'GET', operation: 'GetObject', bucket: BUCKET, key: 'shared/report.txt' }, { now: Math.floor(Date.now() / 1000) - 7200, ttlSeconds: 60 });
    const expired = await fetch(`${gateway}/aws/s3/${BUCKET}/shared/report.txt?${PRESIGN_PARAM}=${encodeURIComponent(old.ticket)}`);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('the presigned URL has expired');
    expect(front.records.length).toBe(before);
    // The ticket is a bearer credential: it is in no record.
    expect(JSON.stringify(await env.storedEvents())).not.toContain(ticket.split('.')[2]);
    client.destroy();
  });

  it('gatehouse aws presign: PUT uploads through the gateway; policy refuses a URL for an object the caller may not read', async () => {
    const out: string[] = [];
    const err: string[] = [];
    expect(await awsCommand(['presign', `s3://${BUCKET}/uploads/in.txt`, '--method', 'PUT', '--connection', 's3', '--gateway', gateway, '--token', token], { out: (l) => out.push(l), err: (l) => err.push(l) }, { env: {} })).toBe(0);
    const from = front.records.length;
    const put = await fetch(out.join(''), { method: 'PUT', body: 'uploaded with a gateway URL', headers: { 'content-type': 'text/plain' } });
    expect(put.status).toBe(200);
    expect(front.records.slice(from).map((r) => [r.method, r.verified, r.payload, r.body.toString()])).toEqual([['PUT', true, 'UNSIGNED-PAYLOAD', 'uploaded with a gateway URL']]);
    const { client } = await caller();
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'uploads/in.txt' }));
    expect(await got.Body!.transformToString()).toBe('uploaded with a gateway URL');
    client.destroy();
    // Judged at issuance: a forbidden read gets no URL.
    const refusedOut: string[] = [];
    const refusedErr: string[] = [];
    expect(await awsCommand(['presign', `s3://${BUCKET}/secret/keys.txt`, '--connection', 's3', '--gateway', gateway, '--token', token], { out: (l) => refusedOut.push(l), err: (l) => refusedErr.push(l) }, { env: {} })).toBe(1);
    expect(refusedOut).toEqual([]);
    expect(refusedErr.join('\n')).toMatch(/GH_ERR_POLICY_DENIED.*not read through the gateway/);
    const denied = (await env.eventsOf('policy.denied')).at(-1)!;
    expect(denied.payload).toMatchObject({ action: 'aws:s3:GetObject', reasons: ['no-secret-reads'] });
  });
});

/**
 * A PUT with a signed aws-chunked body, as SDKs that sign chunks send it: the seed signature from
 * @smithy/signature-v4, each chunk signed in the chain (AWS's sigv4-streaming). `tamper` flips a
 * byte of the second chunk after signing. With `trailer`, the upload ends with a CRC32 checksum
 * trailer and its signature (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, AWS's
 * sigv4-streaming-trailers, as the Java and .NET SDKs send over plain HTTP); `tamperTrailer`
 * changes the checksum after signing.
 */
async function signedChunkedPut(c: CallerCredential, key: string, data: Buffer, chunkSize: number, tamper = false, trailer?: { tamperTrailer?: boolean }): Promise<{ status: number; body: string }> {
  const url = new URL(`${gateway}/aws/s3/${BUCKET}/${key}`);
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunkSize) chunks.push(data.subarray(at, at + chunkSize));
  chunks.push(Buffer.alloc(0));
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data) >>> 0);
  const checksumLine = `x-amz-checksum-crc32:${crc.toString('base64')}`;
  let encodedLength = chunks.reduce((n, ch) => n + ch.length.toString(16).length + ';chunk-signature='.length + 64 + 4 + ch.length, 0);
  // With a trailer the final chunk has no CRLF of its own; the trailing headers and an empty line follow.
  if (trailer) encodedLength += -2 + checksumLine.length + 2 + 'x-amz-trailer-signature:'.length + 64 + 2 + 2;
  const signer = new SignatureV4({ credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken }, region: REGION, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  const signed = await signer.sign({
    method: 'PUT',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: {},
    headers: {
      host: url.host,
      'content-encoding': 'aws-chunked',
      'content-length': String(encodedLength),
      'x-amz-content-sha256': trailer ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'x-amz-decoded-content-length': String(data.length),
      ...(trailer ? { 'x-amz-trailer': 'x-amz-checksum-crc32' } : {}),
    },
  });
  const amzDate = signed.headers['x-amz-date']!;
  const day = amzDate.slice(0, 8);
  let k = createHmac('sha256', `AWS4${c.secretAccessKey}`).update(day).digest();
  for (const part of [REGION, 's3', 'aws4_request']) k = createHmac('sha256', k).update(part).digest();
  let previous = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization!)![1]!;
  const empty = createHash('sha256').update('').digest('hex');
  const framed: Buffer[] = [];
  for (const [i, chunk] of chunks.entries()) {
    const sts = `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${day}/${REGION}/s3/aws4_request\n${previous}\n${empty}\n${createHash('sha256').update(chunk).digest('hex')}`;
    previous = createHmac('sha256', k).update(sts).digest('hex');
    const body = Buffer.from(chunk);
    if (tamper && i === 1) body[0] = body[0]! ^ 0xff;
    framed.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n`), body);
    if (!trailer || chunk.length > 0) framed.push(Buffer.from('\r\n'));
  }
  if (trailer) {
    const sts = `AWS4-HMAC-SHA256-TRAILER\n${amzDate}\n${day}/${REGION}/s3/aws4_request\n${previous}\n${createHash('sha256').update(`${checksumLine}\n`).digest('hex')}`;
    const trailerSignature = createHmac('sha256', k).update(sts).digest('hex');
    const sent = trailer.tamperTrailer ? checksumLine.replace(/.(=*)$/, (m, pad: string) => (m[0] === 'A' ? 'B' : 'A') + pad) : checksumLine;
    framed.push(Buffer.from(`${sent}\r\nx-amz-trailer-signature:${trailerSignature}\r\n\r\n`));
  }
  const payload = Buffer.concat(framed);
  expect(payload.length).toBe(encodedLength);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: signed.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('error', (e) => (tamper || trailer?.tamperTrailer ? resolve({ status: 0, body: String(e) }) : reject(e)));
    req.end(payload);
  });
}
