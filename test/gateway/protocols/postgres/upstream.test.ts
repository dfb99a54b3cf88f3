import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { silentLogger } from '../../../../gateway/src/observability/logger';
import { startPostgresProxy } from '../../../../gateway/src/protocols/postgres';
import { startPostgres, type TestPostgres } from '../../../support/postgres';
import { DEFAULT_POLICY, startPgTestEnv, type PgTestEnv } from '../../../support/pg-gateway';

/**
 * The gateway's upstream leg against real PostgreSQL 15 servers: TLS (verify-full with the CA
 * that signed the server's certificate, a wrong CA, a wrong name, `require` against a
 * self-signed certificate and against a server without TLS) and the non-SCRAM pg_hba methods
 * (md5, cleartext `password`), plus the FATAL 57P01 an idle client gets when the listener stops.
 *
 * Servers: `signed` (certificate from a test CA; one role per method), `selfSigned`, and the
 * environment's own server (no TLS).
 */
const PASSWORDS = {
  GH_UP_TLS_PW: 'tls-role-secret-3f9a',
  GH_UP_MD5_PW: 'md5-role-secret-7c21',
  GH_UP_CLEAR_PW: 'cleartext-role-secret-9e04',
  GH_UP_WRONG_PW: 'wrong-brokered-secret-55d1',
};

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** A CA (key, cert) and, when `signed`, a leaf for 127.0.0.1 / localhost issued by it. */
function makeCa(dir: string, name: string): { caPath: string; caKey: string } {
  const caKey = join(dir, `${name}-ca.key`);
  const caPath = join(dir, `${name}-ca.pem`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${name} test CA`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', caKey, '-out', caPath]);
  return { caPath, caKey };
}

function makeLeaf(dir: string, ca: { caPath: string; caKey: string }): { cert: string; key: string } {
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.caPath, '-CAkey', ca.caKey, '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', cert]);
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

function selfSigned(dir: string): { cert: string; key: string } {
  const key = join(dir, 'self.key');
  const cert = join(dir, 'self.pem');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert]);
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

/** A fake upstream that answers SSLRequest with `answer` and then says nothing more. */
async function fakeTlsUpstream(answer: Buffer): Promise<net.Server> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', () => s.write(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function asSuperuser(url: string, statements: string[]): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    for (const s of statements) await admin.query(s);
  } finally {
    await admin.end();
  }
}

describe('postgres upstream (TLS and login methods)', () => {
  let dir: string;
  let signed: TestPostgres;
  let selfSignedPg: TestPostgres;
  let env: PgTestEnv;
  let caPath: string;
  let otherCaPath: string;
  let listenerTls: { cert: string; key: string };
  let injecting: net.Server;
  let stalling: net.Server;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-pg-upstream-'));
    const ca = makeCa(dir, 'good');
    caPath = ca.caPath;
    otherCaPath = makeCa(dir, 'other').caPath;
    listenerTls = makeLeaf(mkdtempSync(join(dir, 'listener-')), makeCa(dir, 'listener'));
    const [a, b] = await Promise.all([
      startPostgres({
        database: 'updb',
        ssl: makeLeaf(dir, ca),
        hba: [
          'hostssl all gh_tls 127.0.0.1/32 scram-sha-256',
          'hostnossl all gh_tls 127.0.0.1/32 reject',
          'host all gh_md5 127.0.0.1/32 md5',
          'host all gh_clear 127.0.0.1/32 password',
        ],
      }),
      startPostgres({ database: 'updb', ssl: selfSigned(dir), hba: ['hostssl all gh_tls 127.0.0.1/32 scram-sha-256'] }),
    ]);
    signed = a;
    selfSignedPg = b;
    await asSuperuser(signed.url, [
      `create role gh_tls login password '${PASSWORDS.GH_UP_TLS_PW}'`,
      `set password_encryption = 'md5'`,
      // md5 hba falls back to SCRAM for a SCRAM verifier: the role needs an md5 hash to be asked md5.
      `create role gh_md5 login password '${PASSWORDS.GH_UP_MD5_PW}'`,
      `create role gh_clear login password '${PASSWORDS.GH_UP_CLEAR_PW}'`,
      'create table executed (what text)',
      'grant all on executed to gh_tls, gh_md5, gh_clear',
    ]);
    await asSuperuser(selfSignedPg.url, [`create role gh_tls login password '${PASSWORDS.GH_UP_TLS_PW}'`]);
    Object.assign(process.env, PASSWORDS);
    // 'S' followed by bytes that were not sent under TLS (a man in the middle injecting), and 'S' then silence.
    [injecting, stalling] = await Promise.all([fakeTlsUpstream(Buffer.from('SZ\0\0\0\x05I')), fakeTlsUpstream(Buffer.from('S'))]);
    const fakePort = (s: net.Server): number => (s.address() as net.AddressInfo).port;

    const conn = (name: string, port: number, user: string, password: string, tls: Record<string, unknown>): Record<string, unknown> => ({
      name,
      kind: 'postgres',
      upstream: { host: '127.0.0.1', port, database: 'updb', user, password: `env:${password}`, tls, connectTimeoutMs: 5000 },
    });
    env = await startPgTestEnv({
      policy: DEFAULT_POLICY,
      extraConnections: (plainPort) => [
        conn('verified', signed.port, 'gh_tls', 'GH_UP_TLS_PW', { mode: 'verify-full', ca: caPath }),
        conn('verified_by_name', signed.port, 'gh_tls', 'GH_UP_TLS_PW', { mode: 'verify-full', ca: caPath, serverName: 'localhost' }),
        conn('wrong_ca', signed.port, 'gh_tls', 'GH_UP_TLS_PW', { mode: 'verify-full', ca: otherCaPath }),
        conn('wrong_name', signed.port, 'gh_tls', 'GH_UP_TLS_PW', { mode: 'verify-full', ca: caPath, serverName: 'db.example.com' }),
        conn('system_cas', signed.port, 'gh_tls', 'GH_UP_TLS_PW', { mode: 'verify-full' }),
        conn('self_signed', selfSignedPg.port, 'gh_tls', 'GH_UP_TLS_PW', { mode: 'require' }),
        conn('no_tls_server', plainPort, 'gh_app', 'GH_PG_TEST_PASSWORD', { mode: 'require' }),
        conn('injecting', fakePort(injecting), 'gh_tls', 'GH_UP_TLS_PW', { mode: 'require' }),
        { ...conn('stalling', fakePort(stalling), 'gh_tls', 'GH_UP_TLS_PW', { mode: 'require' }), upstream: { host: '127.0.0.1', port: fakePort(stalling), database: 'updb', user: 'gh_tls', password: 'env:GH_UP_TLS_PW', tls: { mode: 'require' }, connectTimeoutMs: 300 } },
        { ...conn('no_password', signed.port, 'gh_md5', 'GH_UP_MD5_PW', { mode: 'disable' }), upstream: { host: '127.0.0.1', port: signed.port, database: 'updb', user: 'gh_md5', tls: { mode: 'disable' } } },
        conn('md5', signed.port, 'gh_md5', 'GH_UP_MD5_PW', { mode: 'disable' }),
        conn('md5_wrong', signed.port, 'gh_md5', 'GH_UP_WRONG_PW', { mode: 'disable' }),
        conn('cleartext', signed.port, 'gh_clear', 'GH_UP_CLEAR_PW', { mode: 'require' }),
        conn('cleartext_wrong', signed.port, 'gh_clear', 'GH_UP_WRONG_PW', { mode: 'require' }),
      ],
    });
  }, 60000);

  afterAll(async () => {
    await env?.stop();
    await Promise.all([signed?.stop(), selfSignedPg?.stop()]);
    for (const s of [injecting, stalling]) s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function connectTo(database: string): Promise<pg.Client> {
    const client = new pg.Client(env.clientConfig(await env.token(), { database }));
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  /** The error a connection attempt ends with (it must end, and with an error). */
  async function refusal(database: string): Promise<{ code?: string; message: string }> {
    const client = new pg.Client(env.clientConfig(await env.token(), { database }));
    client.on('error', () => undefined);
    const outcome = await client.connect().then(
      async () => {
        await client.end();
        return undefined;
      },
      (e: unknown) => e as { code?: string; message: string },
    );
    if (outcome === undefined) throw new Error(`connecting to "${database}" succeeded`);
    return outcome;
  }

  async function executedRows(): Promise<string[]> {
    const admin = new pg.Client({ connectionString: signed.url });
    await admin.connect();
    try {
      return (await admin.query('select what from executed order by what')).rows.map((r: { what: string }) => r.what);
    } finally {
      await admin.end();
    }
  }

  async function sslOfBackend(client: pg.Client): Promise<{ ssl: boolean; u: string }> {
    const r = await client.query('select ssl, current_user as u from pg_stat_ssl where pid = pg_backend_pid()');
    return r.rows[0] as { ssl: boolean; u: string };
  }

  test('verify-full with the CA that signed the server certificate: queries work over TLS', async () => {
    for (const database of ['verified', 'verified_by_name']) {
      const client = await connectTo(database);
      expect(await sslOfBackend(client)).toEqual({ ssl: true, u: 'gh_tls' });
      await client.query('insert into executed values ($1)', [database]);
      await client.end();
    }
    expect(await executedRows()).toEqual(expect.arrayContaining(['verified', 'verified_by_name']));
    const events = await env.events();
    const session = events.find((e) => e.type === 'pg.session' && (e.payload as Record<string, unknown>).upstream === `127.0.0.1:${signed.port}/updb`);
    expect((session?.payload as Record<string, unknown>).upstreamTls).toBe(true);
  });

  test('verify-full with a CA that did not sign the certificate, or a name it is not for, is refused clearly; nothing runs; the gateway keeps serving', async () => {
    for (const [database, why] of [
      ['wrong_ca', /certificate/i],
      ['wrong_name', /db\.example\.com|altnames|Hostname/i],
      ['system_cas', /certificate/i],
    ] as const) {
      const err = await refusal(database);
      expect(err.code).toBe('08006');
      expect(err.message).toContain(`could not open connection "${database}" upstream`);
      expect(err.message).toMatch(/TLS with 127\.0\.0\.1:\d+ failed/);
      expect(err.message).toMatch(why);
      for (const pw of Object.values(PASSWORDS)) expect(err.message).not.toContain(pw);
    }
    // The refused sessions never reached a login, let alone a statement.
    const events = await env.events();
    const upstreamErrors = events.filter((e) => e.type === 'pg.upstream_error');
    expect(upstreamErrors.length).toBeGreaterThanOrEqual(3);
    const refusedSessions = new Set(upstreamErrors.map((e) => e.session));
    expect(events.filter((e) => e.type === 'pg.query' && refusedSessions.has(e.session))).toEqual([]);
    expect(await executedRows()).not.toContain('wrong_ca');

    const client = await connectTo('verified');
    expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await client.end();
  });

  test('require against a self-signed certificate is encrypted and unverified', async () => {
    const client = await connectTo('self_signed');
    expect(await sslOfBackend(client)).toEqual({ ssl: true, u: 'gh_tls' });
    await client.end();
  });

  test('require against a server without TLS is refused', async () => {
    const err = await refusal('no_tls_server');
    expect(err.code).toBe('08006');
    expect(err.message).toMatch(/does not accept TLS \(tls\.mode is require\)/);
  });

  test('an upstream sending data between its TLS answer and the handshake is refused (CVE-2021-23222)', async () => {
    const err = await refusal('injecting');
    expect(err.code).toBe('08006');
    expect(err.message).toMatch(/sent unexpected data after its TLS answer/);
  });

  test('an upstream that never completes the TLS handshake gets a timeout error, not a hang', async () => {
    const err = await refusal('stalling');
    expect(err.code).toBe('08006');
    expect(err.message).toMatch(/GH_ERR_UPSTREAM_TIMEOUT.*TLS with 127\.0\.0\.1:\d+ timed out/);
  });

  test('md5 and cleartext pg_hba methods log in with the brokered password', async () => {
    const md5 = await connectTo('md5');
    expect(await sslOfBackend(md5)).toEqual({ ssl: false, u: 'gh_md5' });
    await md5.query("insert into executed values ('md5')");
    await md5.end();
    const clear = await connectTo('cleartext');
    // cleartext travels inside the upstream TLS here, as it should anywhere
    expect(await sslOfBackend(clear)).toEqual({ ssl: true, u: 'gh_clear' });
    await clear.query("insert into executed values ('cleartext')");
    await clear.end();
    expect(await executedRows()).toEqual(expect.arrayContaining(['md5', 'cleartext']));
  });

  test('a wrong brokered password (md5, cleartext) is refused with the upstream 28P01, and no password is shown', async () => {
    for (const database of ['md5_wrong', 'cleartext_wrong']) {
      const err = await refusal(database);
      expect(err.code).toBe('08006');
      expect(err.message).toMatch(/refused the gateway's login \(28P01\): password authentication failed for user "gh_(md5|clear)"/);
      for (const pw of Object.values(PASSWORDS)) expect(err.message).not.toContain(pw);
    }
    const recorded = JSON.stringify(await env.events());
    for (const pw of Object.values(PASSWORDS)) expect(recorded).not.toContain(pw);
  });

  test('an upstream asking for a password the connection has none for is refused clearly', async () => {
    const err = await refusal('no_password');
    expect(err.code).toBe('08006');
    expect(err.message).toMatch(/asks for a password, but connection "no_password" has no upstream\.password/);
  });

  /** Waits until the signed server runs `text` in some backend (no sleeping on a guess). */
  async function untilRunning(text: string): Promise<void> {
    const admin = new pg.Client({ connectionString: signed.url });
    await admin.connect();
    try {
      for (let i = 0; i < 200; i++) {
        const r = await admin.query("select count(*)::int as n from pg_stat_activity where state = 'active' and query = $1", [text]);
        if (r.rows[0].n > 0) return;
        await new Promise((r2) => setTimeout(r2, 25));
      }
      throw new Error(`"${text}" never started`);
    } finally {
      await admin.end();
    }
  }

  test('a cancel request reaches a backend behind verify-full TLS', async () => {
    const client = await connectTo('verified');
    const slow = client.query('select pg_sleep(30) as verified_cancel');
    await untilRunning('select pg_sleep(30) as verified_cancel');
    const canceller = new pg.Client(env.clientConfig(await env.token(), { database: 'verified' }));
    await (canceller as unknown as { cancel(target: pg.Client, query: unknown): void }).cancel(client, (client as unknown as { activeQuery: unknown }).activeQuery);
    await expect(slow).rejects.toMatchObject({ code: '57014' });
    expect((await client.query('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
    await client.end();
  });

  test('a busy client finishes its statement before FATAL 57P01 when the listener shuts down', async () => {
    const { pipeline } = env.gw.gateway;
    const connections = env.gw.config.connections.filter((c) => c.kind === 'postgres');
    const proxy = await startPostgresProxy({ pipeline, connections, listener: { address: '127.0.0.1', port: 0, allowPlaintext: false }, tls: listenerTls, logger: silentLogger() });
    let closed = false;
    try {
      const client = new pg.Client(env.clientConfig(await env.token(), { port: proxy.port, database: 'verified', ssl: { rejectUnauthorized: false } }));
      const errors: { code?: string }[] = [];
      client.on('error', (e: Error & { code?: string }) => {
        errors.push(e);
      });
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      await client.connect();
      const busy = client.query('select pg_sleep(0.3) as busy_shutdown, 7 as n');
      await untilRunning('select pg_sleep(0.3) as busy_shutdown, 7 as n');
      await proxy.close(10000);
      closed = true;
      expect((await busy).rows[0].n).toBe(7);
      await ended;
      expect(errors[0]).toMatchObject({ code: '57P01' });
    } finally {
      if (!closed) await proxy.close(0);
    }
  });

  test('idle clients (several, TLS on both legs) each get FATAL 57P01 when the listener shuts down', async () => {
    const { pipeline } = env.gw.gateway;
    const connections = env.gw.config.connections.filter((c) => c.kind === 'postgres');
    const proxy = await startPostgresProxy({ pipeline, connections, listener: { address: '127.0.0.1', port: 0, allowPlaintext: false }, tls: listenerTls, logger: silentLogger() });
    let closed = false;
    try {
      const token = await env.token();
      const clients = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const client = new pg.Client(env.clientConfig(token, { port: proxy.port, database: 'verified', ssl: { rejectUnauthorized: false } }));
          // Every error the client emits: the first must be the gateway's FATAL, not a bare disconnect.
          const errors: { code?: string; severity?: string; message: string }[] = [];
          client.on('error', (e: { code?: string; severity?: string; message: string }) => errors.push(e));
          const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
          await client.connect();
          expect(await sslOfBackend(client)).toEqual({ ssl: true, u: 'gh_tls' });
          return { errors, ended };
        }),
      );
      expect(proxy.connections()).toBe(8);
      await proxy.close(2000);
      closed = true;
      for (const { errors, ended } of clients) {
        await ended;
        expect(errors[0]).toMatchObject({ code: '57P01', severity: 'FATAL' });
        expect(errors[0]!.message).toMatch(/gateway is shutting down/);
      }
      expect(proxy.connections()).toBe(0);
    } finally {
      if (!closed) await proxy.close(0);
    }
  });
});
