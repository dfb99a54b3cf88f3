import { createHash, generateKeyPairSync, verify as cryptoVerify } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyCommand } from '../../../../gateway/src/cli/commands/verify';
import { main } from '../../../../gateway/src/main';
import { parseDigest } from '../../../../gateway/src/recording/digest';
import { DIGEST_PREFIX } from '../../../../gateway/src/recording/layout';
import { GatehouseRecorder } from '../../../../gateway/src/recording/recorder';
import type { DigestSigner } from '../../../../gateway/src/recording/signer';
import { crc32c } from '../../../../gateway/src/recording/signers/crc32c';
import { GcpKmsSigner, parseGcpKmsKeyReference } from '../../../../gateway/src/recording/signers/gcp-kms-signer';
import { FsLogSink } from '../../../../gateway/src/recording/sinks/fs/fs-sink';
import { makeTempDir, PRINCIPAL, recorderOptions, synthetic } from '../../../support/recording-helpers';
import { CloudKmsStandIn, MetadataServerStandIn } from './cloud-kms-stand-in';

describe('CRC32C', () => {
  it('matches the Castagnoli check value and RFC 3720 B.4 test vectors', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
  });
});

describe('parseGcpKmsKeyReference', () => {
  it('reads the reference the gcp kit emits; a key version is required', () => {
    const name = 'projects/gh-prod/locations/europe-west1/keyRings/gatehouse/cryptoKeys/records/cryptoKeyVersions/1';
    expect(parseGcpKmsKeyReference(`gcp-kms:${name}`)).toBe(name);
    for (const bad of ['gcp-kms:projects/gh-prod/locations/europe-west1/keyRings/gatehouse/cryptoKeys/records', `gcp-kms:${name}/x`, `gcp-kms:${name.replace('/1', '/0')}`, name, 'gcp-kms:']) {
      expect(() => parseGcpKmsKeyReference(bad)).toThrow(expect.objectContaining({ code: 'GH_ERR_CONFIG_INVALID' }));
    }
  });
});

describe('GcpKmsSigner (against a loopback Cloud KMS REST stand-in)', () => {
  let kms: CloudKmsStandIn;
  beforeEach(async () => {
    kms = new CloudKmsStandIn();
    await kms.start();
  });
  afterEach(async () => kms.stop());
  const auth = (token: string) => ({ getAccessToken: async () => token });
  const create = (keyRef = kms.ref(1), attempts = 2) => GcpKmsSigner.create({ keyRef, endpoint: kms.url, auth: auth(kms.expectedToken), attempts });

  it('reads the public key (bearer token, pemCrc32c checked); the key reference names the version', async () => {
    const signer = await create();
    expect(signer.keyRef).toBe(kms.ref(1));
    expect(signer.keyId).toMatch(/^ecdsa-p256:[0-9a-f]{32}$/);
    expect(kms.calls[0]).toMatchObject({ method: 'GET', path: `/v1/${kms.ref(1).slice('gcp-kms:'.length)}/publicKey`, authorization: `Bearer ${kms.expectedToken}` });
  });

  it('sends the SHA-256 with its CRC32C and returns the DER signature Cloud KMS gives', async () => {
    const signer = await create();
    const message = Buffer.from('gatehouse-digest-v1\n{"a":1}');
    const signature = await signer.sign(message);
    const digest = createHash('sha256').update(message).digest();
    const call = kms.calls.find((c) => c.path.endsWith(':asymmetricSign'))!;
    expect(call.body).toEqual({ digest: { sha256: digest.toString('base64') }, digestCrc32c: String(crc32c(digest)) });
    expect(cryptoVerify('sha256', message, { key: kms.versions.values().next().value!.publicKey, dsaEncoding: 'der' }, signature)).toBe(true);
  });

  it('refuses a key version of another algorithm and a public key whose CRC32C does not match', async () => {
    kms.addVersion(2, 'EC_SIGN_P384_SHA384');
    await expect(create(kms.ref(2))).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID', message: expect.stringMatching(/EC_SIGN_P384_SHA384.*EC_SIGN_P256_SHA256/) });
    kms.corrupt.pemCrc32c = true;
    await expect(create()).rejects.toMatchObject({ code: 'GH_ERR_SECRET_UNAVAILABLE', details: { code: 'pem-crc32c-mismatch' } });
  });

  it('an unknown version, a denied call or a wrong token fails start-up with GH_ERR_SECRET_UNAVAILABLE', async () => {
    await expect(create(kms.ref(9))).rejects.toMatchObject({ code: 'GH_ERR_SECRET_UNAVAILABLE', details: { status: 404, code: 'NOT_FOUND' } });
    kms.failures.set('publicKey', { status: 403, status_: 'PERMISSION_DENIED' });
    await expect(create()).rejects.toMatchObject({ code: 'GH_ERR_SECRET_UNAVAILABLE', details: { status: 403, code: 'PERMISSION_DENIED' } });
    kms.failures.clear();
    await expect(GcpKmsSigner.create({ keyRef: kms.ref(1), endpoint: kms.url, auth: auth('wrong') })).rejects.toMatchObject({ details: { status: 401, code: 'UNAUTHENTICATED' } });
  });

  it('follows the data integrity guidelines: a corrupted signatureCrc32c, an unverified digest CRC or another key version is never returned', async () => {
    const signer = await create();
    kms.corrupt = { signatureCrc32c: true };
    const before = kms.calls.length;
    await expect(signer.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'integrity' } });
    expect(kms.calls.length - before).toBe(2); // retried once, as the guidelines suggest, then refused
    kms.corrupt = { verifiedDigestCrc32c: true };
    await expect(signer.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'integrity' } });
    kms.corrupt = { name: kms.ref(2).slice('gcp-kms:'.length) };
    await expect(signer.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'wrong-key' } });
    kms.corrupt = {};
    kms.signWith = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await expect(signer.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'signature-mismatch' } });
    kms.signWith = undefined;
    kms.failures.set('sign', { status: 503, status_: 'UNAVAILABLE' });
    await expect(signer.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'unavailable', status: 503 } });
  });
});

describe('Cloud KMS-signed log, end to end: token from a metadata server through google-auth-library, recorder, fs sink, gatehouse verify', () => {
  const kms = new CloudKmsStandIn();
  const metadata = new MetadataServerStandIn('ya29.metadata-token');
  const ENV = ['GCE_METADATA_HOST', 'GCE_METADATA_IP', 'GOOGLE_APPLICATION_CREDENTIALS', 'HOME', 'CLOUDSDK_CONFIG', 'METADATA_SERVER_DETECTION'];
  const saved: Record<string, string | undefined> = {};
  let tmp: { dir: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    await Promise.all([kms.start(), metadata.start()]);
    kms.expectedToken = metadata.token;
    kms.addVersion(2);
    tmp = await makeTempDir('gh-gkms-');
    for (const k of ENV) saved[k] = process.env[k];
    for (const k of ENV) delete process.env[k];
    // Cloud Run's service account token comes from the metadata server; no key file, no gcloud login.
    process.env.GCE_METADATA_HOST = metadata.host;
    process.env.HOME = join(tmp.dir, 'home');
    await mkdir(process.env.HOME);
  });
  afterAll(async () => {
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await Promise.all([kms.stop(), metadata.stop(), tmp.cleanup()]);
  });

  async function writeLog(dir: string, signer: DigestSigner): Promise<GatehouseRecorder> {
    const rec = new GatehouseRecorder(recorderOptions(new FsLogSink(dir), { signer }));
    const s = await rec.openSession({ sessionId: 'gcp-session', protocol: 'http', principal: PRINCIPAL, connection: 'api', client: { address: '127.0.0.1' } });
    await s.append('http.request', synthetic({ method: 'GET', path: '/x' }), { durable: true });
    await s.end();
    return rec;
  }

  async function verify(...args: string[]): Promise<{ code: number; result?: { ok: boolean; firstFailure?: { code: string; message: string } }; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await verifyCommand([...args, '--json'], { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, ...(out.length > 0 ? { result: JSON.parse(out.join('')) } : {}), err: err.join('\n') };
  }

  it('digests name the key version; verify passes with the fetched key and with its PEM; another version and a forged signature fail', async () => {
    const dir = join(tmp.dir, 'log');
    const signer = await GcpKmsSigner.create({ keyRef: kms.ref(1), endpoint: kms.url });
    await (await writeLog(dir, signer)).close();
    expect(metadata.tokenRequests.length).toBeGreaterThanOrEqual(1);
    expect(metadata.tokenRequests[0]!.scopes).toContain('https://www.googleapis.com/auth/cloudkms');
    const keys = await new FsLogSink(dir).list(DIGEST_PREFIX);
    const digestFile = join(dir, keys[keys.length - 1]!);
    expect(parseDigest(Buffer.from(await readFile(digestFile)))).toMatchObject({ keyRef: kms.ref(1), keyId: signer.keyId });

    const fetched = await verify(dir, '--trust-key', kms.ref(1), '--key-endpoint', kms.url);
    expect(fetched.result?.firstFailure).toBeUndefined();
    expect(fetched.code).toBe(0);
    const pemFile = join(tmp.dir, 'gcp.pub.pem');
    await writeFile(pemFile, signer.publicKeyPem);
    expect((await verify(dir, '--trust-key', pemFile)).code).toBe(0);

    const wrongVersion = await verify(dir, '--trust-key', kms.ref(2), '--key-endpoint', kms.url);
    expect(wrongVersion.code).toBe(1);
    expect(wrongVersion.result?.firstFailure).toMatchObject({ code: 'DIGEST_KEY_UNTRUSTED', message: expect.stringContaining(kms.ref(1)) });

    // Same digest, signature made by version 2 of the key (valid ECDSA, wrong key).
    const v2 = await GcpKmsSigner.create({ keyRef: kms.ref(2), endpoint: kms.url });
    const d = JSON.parse(await readFile(digestFile, 'utf8')) as Record<string, unknown>;
    await chmod(digestFile, 0o644);
    await writeFile(digestFile, JSON.stringify({ ...d, signature: (await v2.sign(Buffer.from('anything'))).toString('base64') }) + '\n');
    const forged = await verify(dir, '--trust-key', kms.ref(1), '--key-endpoint', kms.url);
    expect(forged.code).toBe(1);
    expect(forged.result?.firstFailure?.code).toBe('DIGEST_SIGNATURE_INVALID');
  });

  it('check-config loads recording.signingKey gcp-kms: from Cloud KMS (signingKeyEndpoint), and reports a wrong algorithm at its path', async () => {
    kms.addVersion(3, 'RSA_SIGN_PKCS1_2048_SHA256');
    const run = async (version: number) => {
      const config = join(tmp.dir, `gatehouse-${version}.yaml`);
      await writeFile(
        config,
        `mode: development
listeners:
  http: { port: 0, allowPlaintext: true }
  admin: { port: 0, allowPlaintext: true }
identity:
  issuers: [{ name: corp, issuer: "https://idp.example.com", audiences: [gatehouse] }]
policy:
  cedar: 'permit (principal, action, resource);'
recording:
  sink: { type: fs, path: ${join(tmp.dir, 'cfg-log')} }
  signingKey: "${kms.ref(version)}"
  signingKeyEndpoint: "${kms.url}"
`,
      );
      let err = '';
      const code = await main(['check-config', config], { out: () => {}, err: (l) => (err += `${l}\n`) });
      return { code, err };
    };
    const ok = await run(1);
    expect(ok.err).not.toMatch(/problem/);
    expect(ok.code).toBe(0);
    const rsa = await run(3);
    expect(rsa.code).toBe(1);
    expect(rsa.err).toMatch(/recording\.signingKey: .*RSA_SIGN_PKCS1_2048_SHA256/);
  });

  it('a Cloud KMS outage fails closed: no digest without a signature, GH_ERR_RECORDING_FAILED, and verify fails', async () => {
    const dir = join(tmp.dir, 'outage');
    const signer = await GcpKmsSigner.create({ keyRef: kms.ref(1), endpoint: kms.url, attempts: 1 });
    const rec = await writeLog(dir, signer);
    kms.failures.set('sign', { status: 503, status_: 'UNAVAILABLE' });
    try {
      await expect(rec.close()).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { signer: 'gcp-kms', reason: 'unavailable' } });
    } finally {
      kms.failures.clear();
    }
    expect(await new FsLogSink(dir).list(DIGEST_PREFIX)).toEqual([]);
    expect((await verify(dir, '--trust-key', kms.ref(1), '--key-endpoint', kms.url)).code).toBe(1);
  });
});
