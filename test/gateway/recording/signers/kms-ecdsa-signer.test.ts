import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { parseDigest, signDigest, verifyDigestSignature } from '../../../../gateway/src/recording/digest';
import { GatehouseRecorder } from '../../../../gateway/src/recording/recorder';
import { keyIdOf, verifySignature, type DigestSigner } from '../../../../gateway/src/recording/signer';
import { KmsEcdsaSigner, parseKmsKeyReference } from '../../../../gateway/src/recording/signers/kms-ecdsa-signer';
import { DIGEST_PREFIX } from '../../../../gateway/src/recording/layout';
import { fetchTrustedKey } from '../../../../gateway/src/recording/signers/trusted-key';
import { verifyLog } from '../../../../gateway/src/recording/verify';
import { PRINCIPAL, recorderOptions, TEST_KEY, synthetic } from '../../../support/recording-helpers';
import { closedPort, startS3, type S3Peer } from '../sinks/s3/s3-harness';
import { FakeKms, sha256, signPrehashedP256 } from './fake-kms';

const FAKE_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };

describe('P-256 digest signatures (verifier side)', () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const p256Pem = p256.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const message = Buffer.from('gatehouse-digest-v1\n{"x":1}');

  it('key ids name the algorithm: ecdsa-p256:<hex> for P-256, ed25519:<hex> unchanged', () => {
    expect(keyIdOf(p256Pem)).toMatch(/^ecdsa-p256:[0-9a-f]{32}$/);
    expect(keyIdOf(TEST_KEY.publicKeyPem)).toBe(TEST_KEY.keyId);
    expect(TEST_KEY.keyId).toMatch(/^ed25519:[0-9a-f]{32}$/);
  });

  it('key ids refuse other key types (a P-384 or RSA key is not a digest key)', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    expect(() => keyIdOf(p384)).toThrow(/unsupported/);
    expect(() => keyIdOf(rsa)).toThrow(/unsupported/);
  });

  it('verifies a DER ECDSA P-256/SHA-256 signature and rejects a wrong one', () => {
    const sig = cryptoSign('sha256', message, { key: p256.privateKey, dsaEncoding: 'der' });
    expect(verifySignature(p256Pem, message, sig)).toBe(true);
    expect(verifySignature(p256Pem, Buffer.concat([message, Buffer.from('!')]), sig)).toBe(false);
    // The raw r||s (IEEE P1363) form is not what the digest format stores.
    const p1363 = cryptoSign('sha256', message, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' });
    expect(verifySignature(p256Pem, message, p1363)).toBe(false);
    // An Ed25519 signature never passes for the P-256 key, and vice versa.
    const ed = cryptoSign(null, message, TEST_KEY.privateKeyPem);
    expect(verifySignature(p256Pem, message, ed)).toBe(false);
    expect(verifySignature(TEST_KEY.publicKeyPem, message, ed)).toBe(true);
    expect(verifySignature(TEST_KEY.publicKeyPem, message, sig)).toBe(false);
  });

  it('the fake KMS signs a prehashed digest exactly as node:crypto verifies SHA-256 ECDSA', () => {
    for (let i = 0; i < 5; i++) {
      const msg = Buffer.from(`message ${i}`);
      const sig = signPrehashedP256(p256.privateKey, sha256(msg));
      expect(cryptoVerify('sha256', msg, { key: p256.publicKey, dsaEncoding: 'der' }, sig)).toBe(true);
    }
  });

  it('a digest signed with a P-256 key verifies; altering it breaks the signature', async () => {
    const signer: DigestSigner = {
      keyId: keyIdOf(p256Pem),
      publicKeyPem: p256Pem,
      sign: async (bytes) => cryptoSign('sha256', bytes, { key: p256.privateKey, dsaEncoding: 'der' }),
    };
    const { digest, bytes } = await signDigest(
      { instanceId: 'gw', digestSeq: 0, runId: 'r', windowStart: '2026-01-01T00:00:00.000Z', windowEnd: '2026-01-01T00:05:00.000Z', previous: null, segments: [] },
      signer,
    );
    expect(parseDigest(bytes).keyId).toMatch(/^ecdsa-p256:/);
    expect(verifyDigestSignature(digest)).toBe(true);
    expect(verifyDigestSignature({ ...digest, digestSeq: 1 })).toBe(false);
  });
});

describe('parseKmsKeyReference', () => {
  it('takes the key and the region of an ARN, and accepts ids and aliases', () => {
    expect(parseKmsKeyReference('aws-kms:arn:aws:kms:eu-west-1:123456789012:key/abc')).toEqual({ keyId: 'arn:aws:kms:eu-west-1:123456789012:key/abc', region: 'eu-west-1' });
    expect(parseKmsKeyReference('aws-kms:alias/gatehouse')).toEqual({ keyId: 'alias/gatehouse' });
    expect(() => parseKmsKeyReference('aws-kms:')).toThrow(expect.objectContaining({ code: 'GH_ERR_CONFIG_INVALID' }));
    expect(() => parseKmsKeyReference('env:KEY')).toThrow(expect.objectContaining({ code: 'GH_ERR_CONFIG_INVALID' }));
  });
});

describe('KmsEcdsaSigner (against a loopback KMS JSON API)', () => {
  let kms: FakeKms;
  const signers: KmsEcdsaSigner[] = [];
  beforeEach(async () => {
    kms = new FakeKms();
    await kms.start();
  });
  afterEach(async () => {
    for (const s of signers.splice(0)) s.close();
    await kms.stop();
  });
  // The region comes from the key ARN when one is given (the default here).
  const create = async (overrides: { keyId?: string; region?: string } = {}) => {
    const s = await KmsEcdsaSigner.create({ keyId: kms.keyArn, endpoint: kms.url, credentials: FAKE_CREDENTIALS, maxAttempts: 1, ...overrides });
    signers.push(s);
    return s;
  };

  it('reads the public key once (SigV4-signed GetPublicKey) and names it ecdsa-p256:…', async () => {
    const signer = await create();
    expect(signer.publicKeyPem).toBe(kms.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    expect(signer.keyId).toBe(keyIdOf(kms.publicKey));
    expect(signer.keyId).toMatch(/^ecdsa-p256:/);
    await signer.sign(Buffer.from('a'));
    await signer.sign(Buffer.from('b'));
    expect(kms.calls.map((c) => c.target)).toEqual(['TrentService.GetPublicKey', 'TrentService.Sign', 'TrentService.Sign']);
    expect(kms.calls.every((c) => c.authorized)).toBe(true);
  });

  it('sends only the SHA-256 (MessageType DIGEST), so messages past KMS\'s 4096-byte RAW limit sign', async () => {
    const signer = await create();
    const big = Buffer.alloc(10_000, 'x');
    const sig = await signer.sign(big);
    const call = kms.calls.find((c) => c.target === 'TrentService.Sign')!;
    expect(call.body).toMatchObject({ KeyId: kms.keyArn, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256', Message: sha256(big).toString('base64') });
    expect(verifySignature(signer.publicKeyPem, big, sig)).toBe(true);
  });

  it('refuses a key that is not an ECC_NIST_P256 signing key (GH_ERR_CONFIG_INVALID)', async () => {
    kms.publicKeyOverrides = { KeySpec: 'RSA_2048', SigningAlgorithms: ['RSASSA_PSS_SHA_256'] };
    await expect(create()).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID', message: expect.stringMatching(/ECC_NIST_P256/) });
    kms.publicKeyOverrides = { KeyUsage: 'ENCRYPT_DECRYPT' };
    await expect(create()).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID', message: expect.stringMatching(/SIGN_VERIFY/) });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    kms.publicKeyOverrides = { PublicKey: p384.export({ type: 'spki', format: 'der' }).toString('base64') };
    await expect(create()).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID', message: expect.stringMatching(/P-256/) });
  });

  it('an unreachable, denied or unknown key fails start-up with GH_ERR_SECRET_UNAVAILABLE naming the key', async () => {
    kms.failures.set('TrentService.GetPublicKey', { status: 400, type: 'AccessDeniedException' });
    await expect(create()).rejects.toMatchObject({
      code: 'GH_ERR_SECRET_UNAVAILABLE',
      details: { ref: `aws-kms:${kms.keyArn}`, code: 'AccessDeniedException' },
    });
    kms.failures.clear();
    await expect(create({ keyId: 'alias/missing', region: 'eu-west-1' })).rejects.toMatchObject({ code: 'GH_ERR_SECRET_UNAVAILABLE', details: { code: 'NotFoundException' } });
    const down = `http://127.0.0.1:${await closedPort()}`;
    await expect(KmsEcdsaSigner.create({ keyId: kms.keyArn, endpoint: down, credentials: FAKE_CREDENTIALS, maxAttempts: 2 })).rejects.toMatchObject({
      code: 'GH_ERR_SECRET_UNAVAILABLE',
      details: { code: 'ECONNREFUSED' },
    });
  });

  it('a failed Sign rejects GH_ERR_RECORDING_FAILED (the digest is not written)', async () => {
    const signer = await create();
    kms.failures.set('TrentService.Sign', { status: 400, type: 'DisabledException' });
    await expect(signer.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { signer: 'aws-kms', reason: 'kms', code: 'DisabledException' } });
  });

  it('a signature that does not verify with the public key is refused, never returned', async () => {
    const signer = await create();
    kms.signWith = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await expect(signer.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'signature-mismatch' } });
  });

  describe('recorder round trip on the S3 sink', () => {
    let s3: S3Peer;
    beforeEach(async () => (s3 = await startS3()));
    afterEach(async () => s3.stop());

    it('digests signed by the KMS key (larger than 4096 bytes) verify; a trusted-key mismatch and a forged signature are caught', async () => {
      const signer = await create();
      const sink = s3.sink({ prefix: 'gatehouse/' });
      const rec = new GatehouseRecorder(recorderOptions(sink, { signer }));
      // Enough sessions that the digest listing them passes KMS's RAW message limit.
      // Concurrent sessions share writes (group commit), which keeps the object count small.
      await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const s = await rec.openSession({ sessionId: `kms-session-${i}`, protocol: 'http', principal: PRINCIPAL, connection: 'api', client: { address: '127.0.0.1' } });
          await s.append('http.request', synthetic({ method: 'GET', path: `/x/${i}` }), { durable: true });
          await s.end();
        }),
      );
      await rec.close();
      const digestKeys = await sink.list(DIGEST_PREFIX);
      expect(digestKeys.length).toBeGreaterThanOrEqual(1);
      const digestBytes = (await sink.get(digestKeys[digestKeys.length - 1]!))!;
      expect(digestBytes.length).toBeGreaterThan(4096);
      expect(parseDigest(digestBytes).keyId).toBe(signer.keyId);

      const byPem = await verifyLog(sink, { trustedKeys: [signer.publicKeyPem] });
      expect(byPem.firstFailure).toBeUndefined();
      expect(byPem).toMatchObject({ ok: true, stats: { sessions: 40, sessionsOpen: 0 } });
      expect((await verifyLog(sink, { trustedKeys: [signer.keyId] })).ok).toBe(true);

      // The digest names the key as KMS does (its ARN); verify --trust-key aws-kms:… fetches the
      // public key with the caller's credentials (here the SDK's environment credentials) and pins it.
      expect(parseDigest(digestBytes).keyRef).toBe(`aws-kms:${kms.keyArn}`);
      const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
      process.env.AWS_ACCESS_KEY_ID = FAKE_CREDENTIALS.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = FAKE_CREDENTIALS.secretAccessKey;
      let fetched;
      try {
        fetched = await fetchTrustedKey(`aws-kms:${kms.keyArn}`, { endpoint: kms.url });
      } finally {
        for (const [k, v] of [['AWS_ACCESS_KEY_ID', savedEnv.id], ['AWS_SECRET_ACCESS_KEY', savedEnv.secret]] as const) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
      expect(fetched).toEqual({ publicKeyPem: signer.publicKeyPem, keyRef: `aws-kms:${kms.keyArn}` });
      expect((await verifyLog(sink, { trustedKeys: [fetched] })).ok).toBe(true);
      const otherArn = kms.keyArn.replace(/.{4}$/, '9999');
      const pinnedElsewhere = await verifyLog(sink, { trustedKeys: [{ publicKeyPem: signer.publicKeyPem, keyRef: `aws-kms:${otherArn}` }] });
      expect(pinnedElsewhere.firstFailure?.code).toBe('DIGEST_KEY_UNTRUSTED');

      const untrusted = await verifyLog(sink, { trustedKeys: [TEST_KEY.publicKeyPem] });
      expect(untrusted.firstFailure?.code).toBe('DIGEST_KEY_UNTRUSTED');

      // A forged digest: same content, signature from another P-256 key (objects are immutable, so
      // verify a copy of the store through a tiny in-memory view).
      const forged = parseDigest(digestBytes);
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const badSig = signPrehashedP256(other, sha256(Buffer.from('anything')));
      const view = {
        name: 'view',
        put: async () => undefined,
        list: (p: string) => sink.list(p),
        get: async (k: string) => (k === digestKeys[digestKeys.length - 1] ? Buffer.from(JSON.stringify({ ...forged, signature: badSig.toString('base64') })) : sink.get(k)),
      };
      const verdict = await verifyLog(view, { trustedKeys: [signer.keyId] });
      expect(verdict.firstFailure?.code).toBe('DIGEST_SIGNATURE_INVALID');
    });
  });
});
