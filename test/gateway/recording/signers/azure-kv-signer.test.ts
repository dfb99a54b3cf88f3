import { createHash, generateKeyPairSync, verify as cryptoVerify } from 'node:crypto';
import { chmod, cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { verifyCommand } from '../../../../gateway/src/cli/commands/verify';
import { main } from '../../../../gateway/src/main';
import { parseDigest } from '../../../../gateway/src/recording/digest';
import { DIGEST_PREFIX } from '../../../../gateway/src/recording/layout';
import { GatehouseRecorder } from '../../../../gateway/src/recording/recorder';
import type { DigestSigner } from '../../../../gateway/src/recording/signer';
import { AzureKeyVaultSigner, parseAzureKeyReference } from '../../../../gateway/src/recording/signers/azure-kv-signer';
import { FsLogSink } from '../../../../gateway/src/recording/sinks/fs/fs-sink';
import { makeTempDir, PRINCIPAL, recorderOptions, synthetic } from '../../../support/recording-helpers';
import { KeyVaultStandIn, ManagedIdentityStandIn } from './key-vault-stand-in';

/** An injected credential (the real path is @azure/identity; see the end-to-end block). */
function staticCredential(token: string, scopes: string[] = []): TokenCredential {
  return {
    getToken: async (scope): Promise<AccessToken> => {
      scopes.push(...(Array.isArray(scope) ? scope : [scope]));
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}

describe('parseAzureKeyReference', () => {
  it('reads the reference the azure kit emits (no version) and one with a version', () => {
    expect(parseAzureKeyReference('azure-kv-key:https://gh-prod-kv.vault.azure.net/keys/gatehouse-signing')).toEqual({
      vaultUrl: 'https://gh-prod-kv.vault.azure.net',
      name: 'gatehouse-signing',
      scope: 'https://vault.azure.net/.default',
    });
    expect(parseAzureKeyReference('azure-kv-key:https://gh-prod-kv.vault.azure.net/keys/gatehouse-signing/0123456789abcdef0123456789abcdef')).toMatchObject({
      version: '0123456789abcdef0123456789abcdef',
    });
    expect(parseAzureKeyReference('azure-kv-key:https://hsm1.managedhsm.azure.net/keys/k').scope).toBe('https://managedhsm.azure.net/.default');
  });

  it('refuses anything that is not an https Key Vault key URL (GH_ERR_CONFIG_INVALID)', () => {
    for (const bad of [
      'azure-kv-key:http://v.vault.azure.net/keys/k',
      'azure-kv-key:https://evil.example.com/keys/k',
      'azure-kv-key:https://gh-prod-kv.vault.azure.net/secrets/k',
      'azure-kv-key:https://gh-prod-kv.vault.azure.net/keys/',
      'azure-kv:https://gh-prod-kv.vault.azure.net/keys/k',
    ]) {
      expect(() => parseAzureKeyReference(bad)).toThrow(expect.objectContaining({ code: 'GH_ERR_CONFIG_INVALID' }));
    }
  });
});

describe('AzureKeyVaultSigner (against a loopback Key Vault REST stand-in)', () => {
  let kv: KeyVaultStandIn;
  let scopes: string[];
  beforeEach(async () => {
    kv = new KeyVaultStandIn();
    await kv.start();
    scopes = [];
  });
  afterEach(async () => kv.stop());
  const create = (keyRef = kv.ref()) => AzureKeyVaultSigner.create({ keyRef, endpoint: kv.url, credential: staticCredential(kv.expectedToken, scopes), attempts: 2 });

  it('pins the current key version at start: the key reference names it, the key id is its P-256 fingerprint', async () => {
    const signer = await create();
    expect(signer.keyRef).toBe(kv.ref(kv.current));
    expect(signer.keyId).toMatch(/^ecdsa-p256:[0-9a-f]{32}$/);
    expect(kv.calls[0]).toMatchObject({ method: 'GET', path: `/keys/${kv.keyName}`, apiVersion: '7.4', authorization: `Bearer ${kv.expectedToken}` });
    expect(scopes).toContain('https://vault.azure.net/.default');
  });

  it('sends ES256 over the base64url SHA-256 and turns the JOSE r||s answer into a DER signature', async () => {
    const signer = await create();
    const message = Buffer.from('gatehouse-digest-v1\n{"a":1}');
    const signature = await signer.sign(message);
    const call = kv.calls.find((c) => c.path.endsWith('/sign'))!;
    expect(call).toMatchObject({ method: 'POST', path: `/keys/${kv.keyName}/${kv.current}/sign`, apiVersion: '7.4', authorization: `Bearer ${kv.expectedToken}` });
    expect(call.body).toEqual({ alg: 'ES256', value: createHash('sha256').update(message).digest('base64url') });
    expect(signature[0]).toBe(0x30);
    expect(cryptoVerify('sha256', message, { key: kv.versions[0]!.publicKey, dsaEncoding: 'der' }, signature)).toBe(true);
  });

  it('keeps signing with the pinned version after the key is rotated; a named version is used as named', async () => {
    const first = kv.current;
    const signer = await create();
    kv.rotate();
    await signer.sign(Buffer.from('x'));
    expect(kv.calls.at(-1)!.path).toBe(`/keys/${kv.keyName}/${first}/sign`);
    const named = await create(kv.ref(first));
    expect(named.keyRef).toBe(kv.ref(first));
    expect((await create()).keyRef).toBe(kv.ref(kv.current));
  });

  it('refuses a key that cannot sign ES256 (GH_ERR_CONFIG_INVALID)', async () => {
    for (const overrides of [{ kty: 'RSA' }, { crv: 'P-384' }, { key_ops: ['encrypt', 'decrypt'] }]) {
      kv.jwkOverrides = overrides;
      await expect(create()).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID' });
    }
    kv.jwkOverrides = {};
    kv.versions[0]!.enabled = false;
    await expect(create()).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID', message: expect.stringMatching(/disabled/) });
  });

  it('an unknown version, a denied call or a wrong token fails start-up with GH_ERR_SECRET_UNAVAILABLE naming the key, never the token', async () => {
    await expect(create(kv.ref('0'.repeat(32)))).rejects.toMatchObject({ code: 'GH_ERR_SECRET_UNAVAILABLE', details: { status: 404, code: expect.stringContaining('KeyNotFound') } });
    kv.failures.set('get', { status: 403, code: 'Forbidden' });
    const denied = create().catch((e: unknown) => e);
    expect(await denied).toMatchObject({ code: 'GH_ERR_SECRET_UNAVAILABLE', details: { ref: kv.ref(), status: 403 } });
    kv.failures.clear();
    const wrong = await AzureKeyVaultSigner.create({ keyRef: kv.ref(), endpoint: kv.url, credential: staticCredential('stolen-looking-token'), attempts: 1 }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'GH_ERR_SECRET_UNAVAILABLE', details: { status: 401 } });
    expect(JSON.stringify({ m: (wrong as Error).message, d: (wrong as { details: unknown }).details })).not.toContain('stolen-looking-token');
  });

  it('a Key Vault outage or a signature that does not verify fails the signature with GH_ERR_RECORDING_FAILED', async () => {
    const signer = await create();
    kv.failures.set('sign', { status: 503, code: 'ServiceUnavailable' });
    const before = kv.calls.length;
    await expect(signer.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'unavailable', status: 503 } });
    expect(kv.calls.length - before).toBe(2); // the configured attempts, then no more
    kv.failures.clear();
    kv.signWith = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await expect(signer.sign(Buffer.from('x'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'signature-mismatch' } });
  });
});

describe('Key Vault-signed log, end to end: managed identity token through @azure/identity, recorder, fs sink, gatehouse verify', () => {
  const kv = new KeyVaultStandIn();
  const mi = new ManagedIdentityStandIn('mi-token-for-key-vault');
  const saved: Record<string, string | undefined> = {};
  const ENV = ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_FEDERATED_TOKEN_FILE', 'MSI_ENDPOINT', 'MSI_SECRET'];
  let tmp: { dir: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    await Promise.all([kv.start(), mi.start()]);
    kv.expectedToken = mi.token;
    for (const k of ENV) saved[k] = process.env[k];
    for (const k of ENV) delete process.env[k];
    // What Container Apps and App Service inject for the managed identity endpoint.
    process.env.IDENTITY_ENDPOINT = mi.endpoint;
    process.env.IDENTITY_HEADER = mi.header;
    tmp = await makeTempDir('gh-kv-');
  });
  afterAll(async () => {
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await Promise.all([kv.stop(), mi.stop(), tmp.cleanup()]);
  });

  async function writeLog(dir: string, signer: DigestSigner): Promise<GatehouseRecorder> {
    const rec = new GatehouseRecorder(recorderOptions(new FsLogSink(dir), { signer }));
    const s = await rec.openSession({ sessionId: 'kv-session', protocol: 'http', principal: PRINCIPAL, connection: 'api', client: { address: '127.0.0.1' } });
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

  async function rewriteDigests(dir: string, change: (d: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
    const sink = new FsLogSink(dir);
    for (const key of await sink.list(DIGEST_PREFIX)) {
      const file = join(dir, key);
      await chmod(file, 0o644);
      await writeFile(file, JSON.stringify(change(JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>)) + '\n');
    }
  }

  it('digests name the exact key version; verify passes with the key fetched from the vault and with its PEM; a wrong version, an edited key name and a foreign signature fail', async () => {
    const dir = join(tmp.dir, 'log');
    const signer = await AzureKeyVaultSigner.create({ keyRef: kv.ref(), endpoint: kv.url });
    await (await writeLog(dir, signer)).close();
    // The token came from the managed identity endpoint, for the Key Vault resource.
    expect(mi.requests[0]).toEqual({ resource: 'https://vault.azure.net', identityHeader: mi.header });
    const digestKeys = await new FsLogSink(dir).list(DIGEST_PREFIX);
    expect(digestKeys.length).toBeGreaterThanOrEqual(1);
    const digest = parseDigest(Buffer.from(await readFile(join(dir, digestKeys[0]!))));
    expect(digest).toMatchObject({ keyRef: kv.ref(kv.current), keyId: signer.keyId });

    const v1 = kv.current;
    const fetched = await verify(dir, '--trust-key', kv.ref(), '--key-endpoint', kv.url);
    expect(fetched.result?.firstFailure).toBeUndefined();
    expect(fetched.code).toBe(0);
    expect((await verify(dir, '--trust-key', kv.ref(v1), '--key-endpoint', kv.url)).code).toBe(0);
    const pemFile = join(tmp.dir, 'kv.pub.pem');
    await writeFile(pemFile, signer.publicKeyPem);
    expect((await verify(dir, '--trust-key', pemFile)).code).toBe(0);

    // Rotated: the vault's current version is not the one that signed.
    const v2 = kv.rotate();
    const rotated = await verify(dir, '--trust-key', kv.ref(), '--key-endpoint', kv.url);
    expect(rotated.code).toBe(1);
    expect(rotated.result?.firstFailure?.code).toBe('DIGEST_KEY_UNTRUSTED');
    expect(rotated.result?.firstFailure?.message).toContain(kv.ref(v1));
    expect(rotated.result?.firstFailure?.message).toContain(kv.ref(v2));
    // Naming the version that signed still proves the old log.
    expect((await verify(dir, '--trust-key', kv.ref(v1), '--key-endpoint', kv.url)).code).toBe(0);

    // The digest claims another version of the same key: the signature covers keyRef.
    const renamed = join(tmp.dir, 'renamed');
    await cp(dir, renamed, { recursive: true });
    await rewriteDigests(renamed, (d) => ({ ...d, keyRef: kv.ref(v2) }));
    expect((await verify(renamed, '--trust-key', kv.ref(v1), '--key-endpoint', kv.url)).result?.firstFailure?.code).toBe('DIGEST_KEY_UNTRUSTED');
    expect((await verify(renamed, '--trust-key', pemFile)).result?.firstFailure?.code).toBe('DIGEST_SIGNATURE_INVALID');

    // A log signed by another key (here, the vault's newer version) under the trusted old version.
    const foreign = join(tmp.dir, 'foreign');
    const other = await AzureKeyVaultSigner.create({ keyRef: kv.ref(v2), endpoint: kv.url });
    await (await writeLog(foreign, other)).close();
    const foreignVerdict = await verify(foreign, '--trust-key', kv.ref(v1), '--key-endpoint', kv.url);
    expect(foreignVerdict.code).toBe(1);
    expect(foreignVerdict.result?.firstFailure?.code).toBe('DIGEST_KEY_UNTRUSTED');
  });

  it('a Key Vault outage fails closed: no unsigned digest is written, close reports GH_ERR_RECORDING_FAILED, and verify fails', async () => {
    const dir = join(tmp.dir, 'outage');
    const signer = await AzureKeyVaultSigner.create({ keyRef: kv.ref(), endpoint: kv.url, attempts: 1 });
    const rec = await writeLog(dir, signer);
    kv.failures.set('sign', { status: 503, code: 'ServiceUnavailable' });
    try {
      await expect(rec.close()).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { signer: 'azure-kv-key', reason: 'unavailable' } });
    } finally {
      kv.failures.clear();
    }
    expect(await new FsLogSink(dir).list(DIGEST_PREFIX)).toEqual([]);
    const verdict = await verify(dir, '--trust-key', kv.ref(), '--key-endpoint', kv.url);
    expect(verdict.code).toBe(1);
  });

  it('check-config loads recording.signingKey azure-kv-key: from the vault (signingKeyEndpoint), and reports a denied key at its path', async () => {
    const config = join(tmp.dir, 'gatehouse.yaml');
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
  signingKey: "${kv.ref()}"
  signingKeyEndpoint: "${kv.url}"
`,
    );
    const run = async () => {
      let err = '';
      const code = await main(['check-config', config], { out: () => {}, err: (l) => (err += `${l}\n`) });
      return { code, err };
    };
    const before = kv.calls.length;
    const ok = await run();
    expect(ok.err).not.toMatch(/problem/);
    expect(ok.code).toBe(0);
    expect(kv.calls.slice(before)).toEqual([expect.objectContaining({ method: 'GET', path: `/keys/${kv.keyName}` })]);
    kv.failures.set('get', { status: 403, code: 'Forbidden' });
    try {
      const denied = await run();
      expect(denied.code).toBe(1);
      expect(denied.err).toMatch(/recording\.signingKey: .*unavailable/);
    } finally {
      kv.failures.clear();
    }
  });

  it('verify exits 2 and names the key when the trusted key cannot be fetched', async () => {
    kv.failures.set('get', { status: 403, code: 'Forbidden' });
    try {
      const r = await verify(join(tmp.dir, 'log'), '--trust-key', kv.ref(), '--key-endpoint', kv.url);
      expect(r.code).toBe(2);
      expect(r.err).toContain(kv.ref());
      expect(r.err).toContain('403');
    } finally {
      kv.failures.clear();
    }
  });
});
