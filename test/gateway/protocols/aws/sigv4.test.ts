import { createHash, createHmac, randomBytes, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { isGatehouseError, type ErrorCode } from '../../../../gateway/src/errors';
import type { Principal } from '../../../../gateway/src/identity';
import { authenticateAwsRequest } from '../../../../gateway/src/protocols/aws/authenticate';
import { createKeyring, mintCallerCredential } from '../../../../gateway/src/protocols/aws/credentials';
import type { SignedRequest } from '../../../../gateway/src/protocols/aws/sigv4';

/** node:crypto behind the hash interface @smithy/signature-v4 takes. */
class Sha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: string | Uint8Array) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: string | Uint8Array): void {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {}
}

const NOW = Date.UTC(2026, 11, 6, 18, 0, 0);
const keyring = createKeyring('k1', { k1: randomBytes(32) });
const principal: Principal = { issuer: 'https://idp.example', issuerName: 'corp', subject: 'agent', name: 'agent', groups: ['dev'], kind: 'workload', tokenId: 't1' };
// Issued half an hour before the requests, so that a clock 16 minutes behind still meets a valid credential.
const cred = mintCallerCredential(keyring, principal, 'aws', { now: Math.floor(NOW / 1000) - 1800 });
const credentials = { accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey, sessionToken: cred.sessionToken };

interface Plain {
  method: string;
  hostname: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  body?: string;
}

async function sign(service: string, req: Plain, opts: { uriEscapePath?: boolean; presign?: boolean; region?: string } = {}): Promise<Plain> {
  const signer = new SignatureV4({ service, region: opts.region ?? 'eu-west-1', credentials, sha256: Sha256 as never /* node:crypto hash; its Uint8Array generics differ from @smithy/types' */, uriEscapePath: opts.uriEscapePath ?? service !== 's3', applyChecksum: service === 's3' });
  const input = { protocol: 'https:', ...req, headers: { host: req.hostname, ...req.headers } };
  const signed = opts.presign
    ? await signer.presign(input as never, { signingDate: new Date(NOW), expiresIn: 300 })
    : await signer.sign(input as never, { signingDate: new Date(NOW) });
  return signed as unknown as Plain;
}

/** The request as it reaches the gateway's socket: the path as sent, the query encoded the way the SDK encodes it. */
function onWire(p: Plain): SignedRequest {
  const query = Object.entries(p.query)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${encodeURIComponent(k)}=${encodeURIComponent(x)}`))
    .join('&');
  return {
    method: p.method,
    path: p.path,
    query,
    headers: Object.entries(p.headers),
    ...(p.body === undefined ? {} : { body: Buffer.from(p.body) }),
  };
}

function refusedWith(code: ErrorCode, fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(isGatehouseError(caught) ? caught.code : caught).toBe(code);
}

const s3Put = (): Plain => ({
  method: 'PUT',
  hostname: 'gw.local',
  path: '/my-bucket/dir/a%20file%2B1.txt',
  query: { 'x-id': 'PutObject' },
  headers: { 'x-amz-content-sha256': createHash('sha256').update('hello').digest('hex'), 'content-type': 'text/plain', 'x-amz-meta-owner': 'a  b' },
  body: 'hello',
});

describe('SigV4 verification of the caller', () => {
  it('accepts what @smithy/signature-v4 signs: S3 (path as sent, body hash) and a JSON service (normalized, double-encoded path, no hash header)', async () => {
    const s3 = authenticateAwsRequest(keyring, onWire(await sign('s3', s3Put())), { now: NOW, region: 'eu-west-1', service: 's3', connection: 'aws' });
    expect(s3.principal.subject).toBe('agent');
    expect(s3.signature).toMatchObject({ service: 's3', region: 'eu-west-1', payload: { kind: 'hash', verified: true } });
    const kms: Plain = { method: 'POST', hostname: 'gw.local', path: '/a b/../x', query: { 'b': 'two words', 'a': ['2', '1'] }, headers: { 'x-amz-target': 'TrentService.ListKeys', 'content-type': 'application/x-amz-json-1.1' }, body: '{}' };
    const signed = await sign('kms', kms);
    const wire = onWire(signed);
    expect(authenticateAwsRequest(keyring, { ...wire, path: '/a%20b/../x' }, { now: NOW }).signature.payload).toEqual({ kind: 'hash', sha256: createHash('sha256').update('{}').digest('hex'), verified: true });
  });

  it('fails when the method, path, query, a signed header or the body is changed', async () => {
    const wire = onWire(await sign('s3', s3Put()));
    const ok = (r: SignedRequest) => authenticateAwsRequest(keyring, r, { now: NOW });
    expect(ok(wire).accessKeyId).toBe(cred.accessKeyId);
    refusedWith('GH_ERR_AWS_SIGNATURE_MISMATCH', () => ok({ ...wire, method: 'POST' }));
    refusedWith('GH_ERR_AWS_SIGNATURE_MISMATCH', () => ok({ ...wire, path: '/my-bucket/dir/other.txt' }));
    refusedWith('GH_ERR_AWS_SIGNATURE_MISMATCH', () => ok({ ...wire, query: 'x-id=PutObject&acl=' }));
    refusedWith('GH_ERR_AWS_SIGNATURE_MISMATCH', () => ok({ ...wire, headers: wire.headers.map(([k, v]) => [k, k === 'content-type' ? 'text/html' : v] as const) }));
    refusedWith('GH_ERR_AWS_PAYLOAD_HASH_MISMATCH', () => ok({ ...wire, body: Buffer.from('hellO') }));
    // Another secret (a credential minted elsewhere, the same access key id and token) cannot sign.
    const kms = onWire(await sign('kms', { method: 'POST', hostname: 'gw.local', path: '/', query: {}, headers: { 'x-amz-target': 'TrentService.ListKeys' }, body: '{"Limit":1}' }));
    refusedWith('GH_ERR_AWS_SIGNATURE_MISMATCH', () => ok({ ...kms, body: Buffer.from('{"Limit":2}') }));
  });

  it('records the payload mode: UNSIGNED-PAYLOAD, streaming modes, a hash it could not check yet', async () => {
    for (const mode of ['UNSIGNED-PAYLOAD', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD']) {
      const wire = onWire(await sign('s3', { ...s3Put(), headers: { 'x-amz-content-sha256': mode } }));
      const payload = authenticateAwsRequest(keyring, wire, { now: NOW }).signature.payload;
      expect(payload).toEqual(mode === 'UNSIGNED-PAYLOAD' ? { kind: 'unsigned' } : { kind: 'streaming', mode });
    }
    const wire = onWire(await sign('s3', s3Put()));
    const { body: _body, ...headOnly } = wire;
    expect(authenticateAwsRequest(keyring, headOnly, { now: NOW }).signature.payload).toMatchObject({ kind: 'hash', verified: false });
    const bogus = onWire(await sign('s3', { ...s3Put(), headers: { 'x-amz-content-sha256': 'STREAMING-SOMETHING-ELSE' } }));
    refusedWith('GH_ERR_AWS_PAYLOAD_HASH_MISMATCH', () => authenticateAwsRequest(keyring, bogus, { now: NOW }));
  });

  it('refuses presigned requests, and header plus query authentication as ambiguous', async () => {
    const presigned = await sign('s3', { method: 'GET', hostname: 'gw.local', path: '/b/k', query: {}, headers: {} }, { presign: true });
    refusedWith('GH_ERR_AWS_PRESIGNED_REFUSED', () => authenticateAwsRequest(keyring, onWire(presigned), { now: NOW }));
    const header = onWire(await sign('s3', s3Put()));
    refusedWith('GH_ERR_AWS_AUTH_AMBIGUOUS', () => authenticateAwsRequest(keyring, { ...header, query: `${header.query}&X-Amz-Signature=${'0'.repeat(64)}` }, { now: NOW }));
    refusedWith('GH_ERR_AWS_AUTH_AMBIGUOUS', () => authenticateAwsRequest(keyring, { ...header, query: `${header.query}&X-Amz-Security-Token=other` }, { now: NOW }));
  });

  it('refuses repeated auth headers, unsigned x-amz-* headers, required headers left unsigned, malformed Authorization', async () => {
    const wire = onWire(await sign('s3', s3Put()));
    const date = wire.headers.find(([k]) => k === 'x-amz-date')!;
    refusedWith('GH_ERR_AWS_AUTH_AMBIGUOUS', () => authenticateAwsRequest(keyring, { ...wire, headers: [...wire.headers, date] }, { now: NOW }));
    const auth = wire.headers.find(([k]) => k === 'authorization')!;
    refusedWith('GH_ERR_AWS_AUTH_AMBIGUOUS', () => authenticateAwsRequest(keyring, { ...wire, headers: [...wire.headers, ['Authorization', auth[1]]] }, { now: NOW }));
    refusedWith('GH_ERR_AWS_SIGNATURE_MALFORMED', () => authenticateAwsRequest(keyring, { ...wire, headers: [...wire.headers, ['X-Amz-Copy-Source', '/other/key']] }, { now: NOW }));
    const withoutHost = wire.headers.map(([k, v]) => [k, k === 'authorization' ? v.replace('SignedHeaders=content-type;host;', 'SignedHeaders=content-type;') : v] as const);
    refusedWith('GH_ERR_AWS_SIGNATURE_MALFORMED', () => authenticateAwsRequest(keyring, { ...wire, headers: withoutHost }, { now: NOW }));
    refusedWith('GH_ERR_AWS_SIGNATURE_MISSING', () => authenticateAwsRequest(keyring, { ...wire, headers: wire.headers.filter(([k]) => k !== 'authorization') }, { now: NOW }));
    refusedWith('GH_ERR_AWS_SIGNATURE_MALFORMED', () => authenticateAwsRequest(keyring, { ...wire, headers: wire.headers.map(([k, v]) => [k, k === 'authorization' ? v.replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256') : v] as const) }, { now: NOW }));
  });

  it('checks the clock (15 minutes either way), the credential scope and the credential itself', async () => {
    const wire = onWire(await sign('s3', s3Put()));
    expect(authenticateAwsRequest(keyring, wire, { now: NOW + 14 * 60_000 }).accessKeyId).toBe(cred.accessKeyId);
    refusedWith('GH_ERR_AWS_REQUEST_TIME_SKEWED', () => authenticateAwsRequest(keyring, wire, { now: NOW + 16 * 60_000 }));
    refusedWith('GH_ERR_AWS_REQUEST_TIME_SKEWED', () => authenticateAwsRequest(keyring, wire, { now: NOW - 16 * 60_000 }));
    refusedWith('GH_ERR_AWS_SIGNATURE_SCOPE', () => authenticateAwsRequest(keyring, wire, { now: NOW, region: 'us-east-1' }));
    refusedWith('GH_ERR_AWS_SIGNATURE_SCOPE', () => authenticateAwsRequest(keyring, wire, { now: NOW, service: 'dynamodb' }));
    refusedWith('GH_ERR_AWS_CREDENTIAL_SCOPE', () => authenticateAwsRequest(keyring, wire, { now: NOW, connection: 'other' }));
    refusedWith('GH_ERR_AWS_CREDENTIAL_EXPIRED', () => authenticateAwsRequest(keyring, wire, { now: Date.parse(cred.expiration) + 1000 }));
    const scopeDate = wire.headers.map(([k, v]) => [k, k === 'authorization' ? v.replace(/\/20261206\//, '/20261205/') : v] as const);
    refusedWith('GH_ERR_AWS_SIGNATURE_SCOPE', () => authenticateAwsRequest(keyring, { ...wire, headers: scopeDate }, { now: NOW }));
  });
});
