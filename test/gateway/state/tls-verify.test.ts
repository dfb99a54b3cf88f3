import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stateSchema, type StateConfig } from '../../../gateway/src/config/schema';
import { createSecretProvider } from '../../../gateway/src/secrets';
import { createStateStore } from '../../../gateway/src/state/store';
import { startPostgres, type TestPostgres } from '../../support/postgres';

/**
 * The state client verifies its server as the AWS kit configures it: a URL rendered from an RDS
 * secret says `sslmode=require`, `state.sslMode: verify-full` raises it, and `state.caCert` is a
 * world-readable PEM file in the image (`file:/app/aws-rds-ca.pem`). A real PostgreSQL 15 serves
 * a certificate from a test CA that names the URL's host (127.0.0.1), as an RDS certificate names
 * the cluster endpoint. The wrong CA used here is the real RDS bundle the build puts in the image.
 */
const root = join(new URL('.', import.meta.url).pathname, '../../..');

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

function makeCa(dir: string, name: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', key, '-out', cert]);
  return { cert, key };
}

function makeServerCert(dir: string, ca: { cert: string; key: string }): { cert: string; key: string } {
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n');
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', cert]);
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

describe('state store: verify-full against a CA file (the AWS kit\'s RDS setup)', () => {
  let dir: string;
  let db: TestPostgres;
  let testCa: string;
  let rdsCa: string;
  const saved = { ...process.env };
  // Production mode: the secret store refuses world-readable `file:` secrets; a CA is no secret.
  const secrets = createSecretProvider({ mode: 'production' });
  const resolveSecret = (ref: string) => secrets.get(ref);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-state-tls-'));
    const ca = makeCa(dir, 'gatehouse-test-ca');
    testCa = ca.cert;
    chmodSync(testCa, 0o644);
    // The very PEM the build writes into dist/ (gateway/build.mjs, gateway/ca-bundles.mjs).
    rdsCa = join(dir, 'aws-rds-ca.pem');
    writeFileSync(rdsCa, execFileSync(process.execPath, ['--input-type=module', '-e', "process.stdout.write((await import('./gateway/ca-bundles.mjs')).awsRdsCaPem())"], { cwd: root }));
    chmodSync(rdsCa, 0o644);
    db = await startPostgres({
      database: 'gh_tls',
      ssl: makeServerCert(dir, ca),
      hba: ['hostssl all all 127.0.0.1/32 scram-sha-256'],
    });
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query("create role gh_app login password 'app-password'");
    await c.end();
    // What aws-sm:<arn>#postgres-url renders from an RDS secret.
    process.env.GH_TEST_RDS_URL = `postgresql://gh_app:app-password@127.0.0.1:${db.port}/${db.database}?sslmode=require`;
  });
  afterAll(async () => {
    process.env = saved;
    await db?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const aws = (over: Partial<StateConfig> = {}): StateConfig => ({ url: 'env:GH_TEST_RDS_URL', embeddedPath: 'memory', sslMode: 'verify-full', caCert: `file:${testCa}`, ...over });

  test('the right CA: connected over TLS, as the app role, with the certificate checked', async () => {
    const store = createStateStore(aws(), { resolveSecret });
    try {
      const r = await store.query<{ ssl: boolean; u: string }>('select ssl, current_user as u from pg_stat_ssl where pid = pg_backend_pid()');
      expect(r.rows[0]).toEqual({ ssl: true, u: 'gh_app' });
      expect((await store.clientConfig())!.ssl).toMatchObject({ rejectUnauthorized: true, ca: readFileSync(testCa, 'utf8') });
    } finally {
      await store.close();
    }
  });

  test('the RDS CAs (a CA the server\'s certificate does not chain to) are refused with GH_ERR_STATE_TLS_UNVERIFIED', async () => {
    const store = createStateStore(aws({ caCert: `file:${rdsCa}` }), { resolveSecret });
    try {
      const e = await store.open().then(() => undefined, (err: unknown) => err);
      expect(e).toMatchObject({
        code: 'GH_ERR_STATE_TLS_UNVERIFIED',
        message: expect.stringMatching(/certificate was not verified \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/),
      });
      expect(JSON.stringify(e)).not.toContain('app-password');
    } finally {
      await store.close();
    }
  });

  test('a certificate for another name is refused the same way (verify-full checks the host)', async () => {
    // The certificate names 127.0.0.1 only; the client expects another name (no DNS involved).
    const store = createStateStore(aws({ serverName: 'db.other.test' }), { resolveSecret });
    try {
      await expect(store.open()).rejects.toMatchObject({ code: 'GH_ERR_STATE_TLS_UNVERIFIED' });
    } finally {
      await store.close();
    }
  });

  test('without sslMode the rendered sslmode=require cannot take a caCert (the rule that makes the kit set it)', async () => {
    const store = createStateStore(aws({ sslMode: undefined }), { resolveSecret });
    try {
      await expect(store.open()).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID', message: expect.stringContaining('state.caCert: caCert is used only with sslmode=verify-full') });
    } finally {
      await store.close();
    }
  });

  test('a world-readable CA file is read (a certificate is public), a missing one names the path', async () => {
    await expect(secrets.get(`file:${testCa}`)).rejects.toMatchObject({ code: 'GH_ERR_SECRET_UNAVAILABLE' });
    const store = createStateStore(aws({ caCert: `file:${join(dir, 'missing.pem')}` }), { resolveSecret });
    try {
      await expect(store.open()).rejects.toMatchObject({ code: 'GH_ERR_SECRET_UNAVAILABLE', message: expect.stringContaining('missing.pem cannot be read (ENOENT)') });
    } finally {
      await store.close();
    }
  });

  test('the schema: sslMode only raises to verify-full, and needs a url', () => {
    expect(stateSchema.safeParse({ url: 'postgresql://h/d?sslmode=require', sslMode: 'verify-full', caCert: 'file:/ca.pem' }).success).toBe(true);
    expect(stateSchema.safeParse({ url: 'postgresql://h/d?sslmode=verify-full', sslMode: 'disable' }).success).toBe(false);
    const noUrl = stateSchema.safeParse({ sslMode: 'verify-full' });
    expect(noUrl.success).toBe(false);
    expect(JSON.stringify(noUrl.error?.issues)).toContain('sslMode applies to a PostgreSQL server');
  });
});
