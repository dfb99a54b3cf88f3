import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { StateConfig } from '../../../gateway/src/config/schema';
import { createSecretProvider } from '../../../gateway/src/secrets';
import { createIamTokenSource } from '../../../gateway/src/state/iam-token';
import { rdsAuthToken } from '../../../gateway/src/state/rds-auth-token';
import { createStateStore, type StateStore } from '../../../gateway/src/state/store';
import { startPostgres, type TestPostgres } from '../../support/postgres';

/**
 * The gateway logs in to a real PostgreSQL 15 over verify-full TLS with tokens from the real
 * @azure/identity and google-auth-library code paths, each talking to a local stand-in of the
 * platform's token endpoint (Container Apps' IDENTITY_ENDPOINT; Cloud Run's metadata server via
 * GCE_METADATA_HOST). The app role's password is set to the token the stand-in will issue, so a
 * login succeeds only with that exact token.
 *
 * RDS IAM tokens cannot be validated by a plain PostgreSQL: there, the role's password is set to
 * the token the gateway must send for a fixed clock and the credentials the real SDK chain got
 * from an ECS container-credentials stand-in, so a login proves the plumbing end to end (URL →
 * host, port, user; credentials; one token per new connection). That the token is the one RDS
 * expects is shown against AWS's own signer in rds-auth-token.test.ts.
 */
const SERVER_NAME = 'db.gatehouse.test';

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

function makeCa(dir: string, name: string): { cert: string; key: string; pem: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', key, '-out', cert]);
  return { cert, key, pem: readFileSync(cert, 'utf8') };
}

/** A server certificate naming only SERVER_NAME (as Cloud SQL's names the instance, not its private IP). */
function makeServerCert(dir: string, ca: { cert: string; key: string }): { cert: string; key: string } {
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${SERVER_NAME}\n`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${SERVER_NAME}`, '-keyout', key, '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', cert]);
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

/** A token endpoint stand-in: issues `next`, or refuses while `down`; records what it was asked. */
interface StandIn {
  server: Server;
  next: string;
  down: boolean;
  requests: { url: string; headers: IncomingMessage['headers'] }[];
  tokenRequests(): number;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const secrets = createSecretProvider({ mode: 'development' });
const resolveSecret = (ref: string) => secrets.get(ref);

describe('state store: IAM token login over verify-full TLS', () => {
  let dir: string;
  let db: TestPostgres;
  let caPem: string;
  let otherCaPem: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-iam-'));
    const ca = makeCa(dir, 'gatehouse-test-ca');
    caPem = ca.pem;
    otherCaPem = makeCa(dir, 'some-other-ca').pem;
    db = await startPostgres({
      database: 'gh_iam',
      ssl: makeServerCert(dir, ca),
      // Every role but the superuser (trusted for setup) logs in over TLS with its password.
      hba: ['hostssl all all 127.0.0.1/32 scram-sha-256'],
    });
    await admin(['create role "gh-identity" login', 'create role "gh-sa@proj.iam" login']);
    process.env.GH_TEST_STATE_CA = caPem;
    process.env.GH_TEST_OTHER_CA = otherCaPem;
  });
  afterAll(async () => {
    process.env = saved;
    await db?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function admin(statements: string[]): Promise<void> {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      for (const s of statements) await c.query(s);
    } finally {
      await c.end();
    }
  }

  async function setPassword(role: string, password: string): Promise<void> {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const sql = await c.query<{ s: string }>('select format(\'alter role %I password %L\', $1::text, $2::text) as s', [role, password]);
      await c.query(sql.rows[0]!.s);
    } finally {
      await c.end();
    }
  }

  const url = (user: string, host = '127.0.0.1') => `postgresql://${encodeURIComponent(user)}@${host}:${db.port}/${db.database}?sslmode=verify-full`;

  /** Opens one new connection the way the store does (its client config), returns current_user or the error. */
  async function connectOnce(store: StateStore): Promise<string | { code?: string; message: string }> {
    const c = new pg.Client((await store.clientConfig())!);
    c.on('error', () => undefined);
    try {
      await c.connect();
      return (await c.query<{ u: string }>('select current_user as u')).rows[0]!.u;
    } catch (e) {
      return { code: (e as { code?: string }).code, message: (e as Error).message };
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  describe.each([
    {
      kind: 'azure-entra' as const,
      role: 'gh-identity',
      start: async (s: StandIn) => {
        s.server.on('request', (req, res) => {
          s.requests.push({ url: req.url ?? '', headers: req.headers });
          res.setHeader('content-type', 'application/json');
          if (s.down) {
            res.statusCode = 400; // the identity endpoint refusing (a 5xx would be retried for ~40 s)
            res.end(JSON.stringify({ error: 'invalid_request', error_description: 'identity unavailable' }));
            return;
          }
          // Four minutes: the SDK's own cache (5-minute renewal offset) then never answers for the endpoint.
          res.end(JSON.stringify({ access_token: s.next, expires_on: String(Math.floor(Date.now() / 1000) + 240), resource: 'https://ossrdbms-aad.database.windows.net', token_type: 'Bearer' }));
        });
        const port = await listen(s.server);
        // What Azure Container Apps give a container with a managed identity.
        process.env.IDENTITY_ENDPOINT = `http://127.0.0.1:${port}/msi/token`;
        process.env.IDENTITY_HEADER = 'identity-header-from-the-platform';
        delete process.env.AZURE_CLIENT_ID;
      },
      checkRequest: (r: StandIn['requests'][number]) => {
        expect(r.headers['x-identity-header']).toBe('identity-header-from-the-platform');
        expect(new URL(r.url, 'http://x').searchParams.get('resource')).toBe('https://ossrdbms-aad.database.windows.net');
      },
    },
    {
      kind: 'gcp-cloudsql' as const,
      role: 'gh-sa@proj.iam',
      start: async (s: StandIn) => {
        s.server.on('request', (req, res) => {
          s.requests.push({ url: req.url ?? '', headers: req.headers });
          res.setHeader('metadata-flavor', 'Google');
          if (req.headers['metadata-flavor'] !== 'Google') {
            res.statusCode = 403;
            res.end();
            return;
          }
          if (!(req.url ?? '').includes('/service-accounts/default/token')) {
            res.end(''); // platform detection probes
            return;
          }
          if (s.down) {
            res.statusCode = 503;
            res.end('metadata server unavailable');
            return;
          }
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ access_token: s.next, expires_in: 240, token_type: 'Bearer' }));
        });
        const port = await listen(s.server);
        // google-auth-library's (gcp-metadata's) override of metadata.google.internal.
        process.env.GCE_METADATA_HOST = `127.0.0.1:${port}`;
        delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
        process.env.CLOUDSDK_CONFIG = mkdtempSync(join(tmpdir(), 'gh-gcloud-'));
      },
      checkRequest: (r: StandIn['requests'][number]) => {
        expect(r.headers['metadata-flavor']).toBe('Google');
        expect(new URL(r.url, 'http://x').searchParams.get('scopes')).toBe('https://www.googleapis.com/auth/sqlservice.login');
      },
    },
  ])('$kind', ({ kind, role, start, checkRequest }) => {
    const standIn: StandIn = {
      server: createServer(),
      next: '',
      down: false,
      requests: [],
      tokenRequests: () => standIn.requests.filter((r) => /token/.test(r.url)).length,
    };
    let clock = Date.now();
    const tokenSource = createIamTokenSource(kind, { now: () => clock });
    let store: StateStore;
    const config = (over: Partial<StateConfig> = {}): StateConfig => ({ url: url(role), embeddedPath: 'memory', iamAuth: kind, caCert: 'env:GH_TEST_STATE_CA', serverName: SERVER_NAME, ...over });

    beforeAll(async () => {
      await start(standIn);
      // google-auth-library's first token takes seconds (platform detection): more than the default 5 s on a loaded machine.
      store = createStateStore(config(), { resolveSecret, tokenSource, connectTimeoutMs: 20000 });
    });
    afterAll(async () => {
      await store?.close();
      standIn.server.close();
    });

    test('the platform token is the password: the store logs in as the role', async () => {
      clock = Date.now(); // the SDKs state expiry in real time
      const token = `${kind}-token-1-${'x'.repeat(400)}`; // real tokens are long JWTs
      standIn.next = token;
      await setPassword(role, token);
      const r = await store.query<{ u: string; ssl: boolean }>('select current_user as u, (select ssl from pg_stat_ssl where pid = pg_backend_pid()) as ssl');
      expect(r.rows[0]).toEqual({ u: role, ssl: true });
      expect(standIn.tokenRequests()).toBe(1);
      checkRequest(standIn.requests.find((q) => /token/.test(q.url))!);
    }, 20000);

    test('a rotated token: the cached one serves new connections until its refresh time, then the new one is fetched and used', async () => {
      const rotated = `${kind}-token-2`;
      standIn.next = rotated;
      await setPassword(role, rotated);
      const stale = await connectOnce(store);
      expect(stale).toMatchObject({ code: '28P01' }); // the cached (old) token was offered: password authentication failed
      expect(standIn.tokenRequests()).toBe(1);
      clock += 3 * 60_000; // past half of the four-minute life (the refresh point), before expiry
      expect(await connectOnce(store)).toBe(role);
      expect(standIn.tokenRequests()).toBe(2);
    }, 20000);

    test('a token outage fails closed with GH_ERR_STATE_TOKEN_UNAVAILABLE on a new connection and a new store (no fallback password)', async () => {
      standIn.down = true;
      clock += 5 * 60_000; // the cached token has expired
      const failed = await connectOnce(store);
      expect(failed).toMatchObject({ code: 'GH_ERR_STATE_TOKEN_UNAVAILABLE' });
      const fresh = createStateStore(config(), { resolveSecret, tokenSource });
      try {
        await expect(fresh.open()).rejects.toMatchObject({ code: 'GH_ERR_STATE_TOKEN_UNAVAILABLE' });
      } finally {
        await fresh.close();
      }
      expect(JSON.stringify(failed)).not.toContain(`${kind}-token`);
      standIn.down = false;
    }, 30000);
  });

  describe('aws-rds', () => {
    const role = 'gatehouse_app';
    const ecs = { server: createServer(), requests: [] as IncomingMessage['headers'][], n: 0 };
    // ECS container credentials as the agent serves them (a new session token per fetch).
    const credentialsOf = (n: number) => ({ accessKeyId: `ASIAGATEHOUSETEST${n}`, secretAccessKey: `secret-${n}-${'k'.repeat(30)}`, sessionToken: `session-${n}-${'t'.repeat(300)}` });
    let clock = Date.UTC(2026, 11, 6, 22, 30, 0);
    let store: StateStore;
    const config = (): StateConfig => ({ url: url(role), embeddedPath: 'memory', iamAuth: 'aws-rds', awsRegion: 'eu-west-1', caCert: 'env:GH_TEST_STATE_CA', serverName: SERVER_NAME });
    const expected = (n: number) => rdsAuthToken({ host: '127.0.0.1', port: db.port, user: role, region: 'eu-west-1' }, credentialsOf(n), new Date(clock));

    beforeAll(async () => {
      await admin([`create role ${role} login`]);
      ecs.server.on('request', (req, res) => {
        ecs.requests.push(req.headers);
        ecs.n++;
        const c = credentialsOf(ecs.n);
        res.setHeader('content-type', 'application/json');
        // Expiring in an hour: the SDK's chain caches them (as it does the task role's).
        res.end(JSON.stringify({ AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, Token: c.sessionToken, Expiration: new Date(Date.now() + 3_600_000).toISOString(), RoleArn: 'arn:aws:iam::123456789012:role/gatehouse-task' }));
      });
      const port = await listen(ecs.server);
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI']) delete process.env[k];
      process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'no-credentials');
      process.env.AWS_CONFIG_FILE = join(dir, 'no-config');
      process.env.AWS_EC2_METADATA_DISABLED = 'true';
      // What ECS gives a task with a role (the Fargate agent's endpoint, here on loopback).
      process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `http://127.0.0.1:${port}/v2/credentials/task`;
      process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = 'ecs-agent-authorization';
      store = createStateStore(config(), { resolveSecret, rdsSigner: { now: () => clock } });
    });
    afterAll(async () => {
      await store?.close();
      ecs.server.close();
    });

    test('the pool logs in with the token for the URL\'s host, port and user, signed with the task role\'s credentials from the ECS endpoint', async () => {
      await setPassword(role, await expected(1));
      const r = await store.query<{ u: string; ssl: boolean }>('select current_user as u, (select ssl from pg_stat_ssl where pid = pg_backend_pid()) as ssl');
      expect(r.rows[0]).toEqual({ u: role, ssl: true });
      expect(ecs.requests).toHaveLength(1);
      expect(ecs.requests[0]!.authorization).toBe('ecs-agent-authorization');
    }, 20000);

    test('each new connection gets a token of its own moment: a connection opened a minute later sends the new one', async () => {
      await store.transaction(async (tx) => {
        // The pool's one connection is held here, so the query below opens a second one.
        clock += 60_000;
        await setPassword(role, await expected(1));
        const r = await store.query<{ u: string }>('select current_user as u');
        expect(r.rows[0]!.u).toBe(role);
        await tx.query('select 1');
      });
      // The token of a minute ago no longer logs in: what the gateway sent was made now.
      clock -= 60_000;
      expect(await connectOnce(store)).toMatchObject({ code: '28P01' });
      clock += 60_000;
      expect(await connectOnce(store)).toBe(role);
      expect(ecs.requests).toHaveLength(1); // the chain's cache served the credentials
    }, 20000);

    test('without a region to sign for, the store refuses to open (GH_ERR_CONFIG_INVALID), before any credential is fetched', async () => {
      const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION;
      const fresh = createStateStore({ ...config(), awsRegion: undefined }, { resolveSecret });
      try {
        await expect(fresh.open()).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID', message: expect.stringContaining('state.awsRegion') });
      } finally {
        await fresh.close();
        Object.assign(process.env, Object.fromEntries(Object.entries(saved).filter(([, v]) => v !== undefined)));
      }
      expect(ecs.requests).toHaveLength(1);
    });
  });

  describe('verify-full', () => {
    const azureLike = (over: Partial<StateConfig>): StateConfig => ({ url: url('gh-identity'), embeddedPath: 'memory', iamAuth: 'azure-entra', caCert: 'env:GH_TEST_STATE_CA', serverName: SERVER_NAME, ...over });
    let fetched = 0;
    const counting = createIamTokenSource('azure-entra', {
      fetch: async () => {
        fetched++;
        return { token: 'never-sent-to-an-unverified-server', expiresAt: Date.now() + 3_600_000 };
      },
    });

    test.each([
      ['no serverName (the certificate does not carry 127.0.0.1)', { serverName: undefined }, /does not match|altnames/i],
      ['a wrong serverName', { serverName: 'other.gatehouse.test' }, /does not match|altnames/i],
      ['a CA the certificate does not chain to', { caCert: 'env:GH_TEST_OTHER_CA' }, /certificate|issuer/i],
      ['no caCert (system roots do not hold the test CA)', { caCert: undefined }, /certificate|issuer/i],
    ])('refused with %s, before any token is fetched', async (_name, over, reason) => {
      const store = createStateStore(azureLike(over), { resolveSecret, tokenSource: counting });
      try {
        const e = await store.open().then(() => undefined, (err: unknown) => err);
        expect(e).toMatchObject({ code: 'GH_ERR_STATE_TLS_UNVERIFIED', message: expect.stringMatching(reason) });
      } finally {
        await store.close();
      }
      expect(fetched).toBe(0);
    }, 20000);

    test('the right CA and serverName are accepted (the superuser, trusted, over the same TLS)', async () => {
      const store = createStateStore({ url: `postgresql://postgres@127.0.0.1:${db.port}/${db.database}?sslmode=verify-full`, embeddedPath: 'memory', caCert: 'env:GH_TEST_STATE_CA', serverName: SERVER_NAME }, { resolveSecret });
      try {
        const r = await store.query<{ ssl: boolean }>('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
        expect(r.rows[0]!.ssl).toBe(true);
      } finally {
        await store.close();
      }
    });

    test('a URL resolved from a secret is held to the same rules at open: sslmode=require with iamAuth is refused', async () => {
      process.env.GH_TEST_WEAK_URL = url('gh-identity').replace('verify-full', 'require');
      const store = createStateStore(azureLike({ url: 'env:GH_TEST_WEAK_URL' }), { resolveSecret, tokenSource: counting });
      try {
        await expect(store.open()).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID', message: expect.stringContaining('state.url: iamAuth azure-entra needs sslmode=verify-full') });
      } finally {
        await store.close();
      }
      expect(fetched).toBe(0);
    });
  });
});
