import net from 'node:net';
import tls from 'node:tls';
import pg from 'pg';
import { silentLogger } from '../../../../gateway/src/observability/logger';
import { startPostgresProxy } from '../../../../gateway/src/protocols/postgres';
import { DEFAULT_POLICY, errorFields, RawPgClient, startPgTestEnv, startupBytes, typed, type PgTestEnv } from '../../../support/pg-gateway';

/**
 * The PostgreSQL listener's front door, with a real PostgreSQL 15 (SCRAM-SHA-256 upstream), a real
 * OIDC issuer and the whole gateway: TLS by SSLRequest and by direct TLS (ALPN), token
 * authentication, refusals, and malformed start-up and protocol messages.
 */
describe('postgres listener', () => {
  let env: PgTestEnv;
  beforeAll(async () => {
    env = await startPgTestEnv({ policy: DEFAULT_POLICY });
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });

  const serverNow = async (): Promise<string> => (await env.direct('select now()::text as t')).rows[0].t as string;
  /**
   * Backends of the upstream role started at or after `since` (the server's clock). Counting all of
   * them raced with the previous test's backend, which the gateway closes after its client left.
   */
  const backendsOfUpstreamUser = async (since: string): Promise<number> =>
    (await env.direct("select count(*)::int as n from pg_stat_activity where usename = 'gh_app' and backend_start >= $1", [since])).rows[0].n as number;

  test('a token over TLS (SSLRequest) logs in; the upstream sees the brokered role, not the client user', async () => {
    const client = new pg.Client(env.clientConfig(await env.token()));
    await client.connect();
    const r = await client.query('select current_user as u, ssl from pg_stat_ssl where pid = pg_backend_pid()');
    expect(r.rows[0].u).toBe('gh_app');
    // pg_stat_ssl describes the gateway's upstream leg (disabled in this test), not the client's.
    expect(r.rows[0].ssl).toBe(false);
    const enc = await client.query('select 1 as one');
    expect(enc.rows).toEqual([{ one: 1 }]);
    await client.end();
  });

  test('a bad token gets 28P01, nothing reaches the upstream, and the failure is recorded', async () => {
    const since = await serverNow();
    const bad = (await env.token()).slice(0, -4) + 'AAAA';
    const client = new pg.Client(env.clientConfig(bad));
    const err = (await client.connect().then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; message?: string };
    expect(err?.code).toBe('28P01');
    expect(err?.message).toMatch(/OIDC token/);
    expect(err?.message).not.toContain(bad);
    expect(await backendsOfUpstreamUser(since)).toBe(0);
    const events = await env.events();
    const failure = events.find((e) => e.type === 'auth.failure' && (e.payload as Record<string, unknown>).code === 'GH_ERR_TOKEN_SIGNATURE');
    expect(failure).toBeDefined();
    expect(JSON.stringify(events)).not.toContain(bad);
  });

  test('an unknown database gets 3D000 before any token is asked for', async () => {
    const client = new pg.Client(env.clientConfig(await env.token(), { database: 'nope' }));
    await expect(client.connect()).rejects.toMatchObject({ code: '3D000' });
  });

  test('direct TLS with ALPN "postgresql" (PostgreSQL 17 clients) works', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: env.port, ca: env.certPem, ALPNProtocols: ['postgresql'], servername: undefined });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    expect(socket.alpnProtocol).toBe('postgresql');
    const c = new RawPgClient(socket);
    c.write(startupBytes({ user: 'ada', database: 'appdb' }));
    const auth = await c.next();
    expect(auth?.type).toBe('R');
    expect(auth?.body.readInt32BE(0)).toBe(3);
    c.write(typed('p', `${await env.token()}\0`));
    const ready = await c.untilReady();
    expect(ready.map((m) => m.type)).toContain('K');
    expect(ready.at(-1)?.type).toBe('Z');
    c.write(typed('Q', 'select 40 + 2\0'));
    const rows = await c.untilReady();
    const data = rows.find((m) => m.type === 'D')!;
    expect(data.body.toString('utf8', 6)).toBe('42');
    socket.destroy();
  });

  test('direct TLS without ALPN is refused', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: env.port, ca: env.certPem });
    const outcome = await new Promise<string>((resolve) => {
      socket.once('secureConnect', () => {
        socket.once('close', () => resolve('closed'));
        socket.write(startupBytes({ user: 'ada', database: 'appdb' }));
      });
      socket.once('error', () => resolve('error'));
    });
    expect(['closed', 'error']).toContain(outcome);
  });

  test('plaintext is refused (28000) when the listener does not allow it', async () => {
    const client = new pg.Client(env.clientConfig(await env.token(), { ssl: false }));
    await expect(client.connect()).rejects.toMatchObject({ code: '28000' });
  });

  test('malformed start-up and protocol messages get an ErrorResponse and a close; the gateway keeps serving', async () => {
    // unknown protocol code
    const s1 = net.connect(env.port, '127.0.0.1');
    const c1 = new RawPgClient(s1);
    const pkt = Buffer.alloc(8);
    pkt.writeInt32BE(8, 0);
    pkt.writeInt32BE(0x00020000, 4);
    c1.write(pkt);
    const e1 = await c1.next();
    expect(e1?.type).toBe('E');
    expect(errorFields(e1!.body).C).toBe('0A000');
    expect(await c1.next()).toBeUndefined();

    // absurd start-up length
    const s2 = net.connect(env.port, '127.0.0.1');
    const c2 = new RawPgClient(s2);
    const bad = Buffer.alloc(8);
    bad.writeInt32BE(0x7fffffff, 0);
    bad.writeInt32BE(196608, 4);
    c2.write(bad);
    const e2 = await c2.next();
    expect(e2?.type).toBe('E');
    expect(errorFields(e2!.body).C).toBe('08P01');
    // The start-up failure is mapped by protocols/postgres/errors.ts: the client sees the stable code.
    expect(errorFields(e2!.body).M).toMatch(/\(GH_ERR_REQUEST_INVALID\)$/);

    // after login: a message with a bad length (protocol violation), then an oversized frame (over maxMessageBytes)
    for (const [frame, sqlstate] of [[Buffer.from([0x51, 0, 0, 0, 2]), '08P01'], [Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xf0]), '54000']] as const) {
      const c = await loggedIn();
      c.write(frame);
      const e = await c.next();
      expect(e?.type).toBe('E');
      expect(errorFields(e!.body).C).toBe(sqlstate);
      expect(await c.next()).toBeUndefined();
    }

    // a Bind whose body lies about its parameters
    const c3 = await loggedIn();
    const bind = Buffer.concat([Buffer.from('\0\0'), Buffer.from([0, 0, 0, 1, 0, 0, 1, 0])]);
    c3.write(typed('B', bind));
    const e3 = await c3.next();
    expect(e3?.type).toBe('E');
    expect(await c3.next()).toBeUndefined();

    const ok = new pg.Client(env.clientConfig(await env.token()));
    await ok.connect();
    expect((await ok.query('select 1 as x')).rows).toEqual([{ x: 1 }]);
    await ok.end();
  });

  test('plaintext is accepted when a listener explicitly allows it, and SSLRequest is then answered N', async () => {
    const { pipeline } = env.gw.gateway;
    const connections = env.gw.config.connections.filter((c) => c.kind === 'postgres');
    const plain = await startPostgresProxy({ pipeline, connections, listener: { address: '127.0.0.1', port: 0, allowPlaintext: true }, logger: silentLogger() });
    try {
      const client = new pg.Client(env.clientConfig(await env.token(), { port: plain.port, ssl: false }));
      await client.connect();
      expect((await client.query('select 2 as two')).rows).toEqual([{ two: 2 }]);
      await client.end();
      const tlsClient = new pg.Client(env.clientConfig(await env.token(), { port: plain.port }));
      await expect(tlsClient.connect()).rejects.toThrow(/SSL/i);
    } finally {
      await plain.close(1000);
    }
  });

  test('each chunk a proxied client or server sends is reported as activity (busy polling)', async () => {
    const { pipeline } = env.gw.gateway;
    const connections = env.gw.config.connections.filter((c) => c.kind === 'postgres');
    let activity = 0;
    const plain = await startPostgresProxy({ pipeline, connections, listener: { address: '127.0.0.1', port: 0, allowPlaintext: true }, logger: silentLogger(), onActivity: () => activity++ });
    try {
      const client = new pg.Client(env.clientConfig(await env.token(), { port: plain.port, ssl: false }));
      await client.connect();
      const before = activity;
      expect((await client.query('select 3 as three')).rows).toEqual([{ three: 3 }]);
      // At least the query going up and its result coming back.
      expect(activity - before).toBeGreaterThanOrEqual(2);
      await client.end();
    } finally {
      await plain.close(1000);
    }
  });

  async function loggedIn(): Promise<RawPgClient> {
    const socket = tls.connect({ host: '127.0.0.1', port: env.port, ca: env.certPem, ALPNProtocols: ['postgresql'] });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    const c = new RawPgClient(socket);
    c.write(startupBytes({ user: 'ada', database: 'appdb' }));
    await c.next();
    c.write(typed('p', `${await env.token()}\0`));
    const ready = await c.untilReady();
    expect(ready.at(-1)?.type).toBe('Z');
    return c;
  }
});
