import tls from 'node:tls';
import pg from 'pg';
import postgres from 'postgres';
import { DEFAULT_POLICY, runPgBinary, startPgTestEnv, UPSTREAM_PASSWORD, type PgTestEnv } from '../../../support/pg-gateway';

/**
 * Real clients through the gateway: psql, node-postgres, postgres.js and pgbench, against a real
 * PostgreSQL 15 behind SCRAM-SHA-256. Judgment (42501 with the rule, session stays usable) and the
 * record (pg.query / pg.result with capped rows) are checked on the same traffic.
 */
describe('postgres clients through the gateway', () => {
  let env: PgTestEnv;
  let psqlEnv: Record<string, string>;
  beforeAll(async () => {
    env = await startPgTestEnv({ policy: DEFAULT_POLICY, connection: { record: { rows: 3, valueBytes: 64 } } });
    const token = await env.token();
    psqlEnv = { PGHOST: '127.0.0.1', PGPORT: String(env.port), PGUSER: 'ada', PGDATABASE: 'appdb', PGPASSWORD: token, PGSSLMODE: 'require', PGCONNECT_TIMEOUT: '10' };
    const setup = new pg.Client(env.clientConfig(token));
    await setup.connect();
    await setup.query('create table items (id int primary key, name text)');
    await setup.query("insert into items select g, 'item ' || g from generate_series(1, 10) g");
    await setup.end();
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });

  test('psql: multi-statement query, a transaction, COPY in and out via \\copy', async () => {
    const script = [
      'select 1 as a; select 2 as b;',
      'begin;',
      "insert into items values (100, 'in tx');",
      'rollback;',
      'select count(*) as n from items where id = 100;',
      'create table copied (id int, name text);',
      "\\copy copied from stdin with (format csv)",
      '1,one',
      '2,two',
      '\\.',
      '\\copy (select id, name from copied order by id) to stdout with (format csv)',
    ].join('\n');
    const r = await runPgBinary('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-At', '-f', '-'], psqlEnv, `${script}\n`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toEqual(['1', '2', 'BEGIN', 'INSERT 0 1', 'ROLLBACK', '0', 'CREATE TABLE', 'COPY 2', '1,one', '2,two']);
  });

  test('psql: a denied statement gets 42501 naming the rule, and the session stays usable', async () => {
    const r = await runPgBinary('psql', ['-X', '-At', '-f', '-'], psqlEnv, 'delete from items where id = 1;\nselect count(*) from items;\n');
    expect(r.stderr).toMatch(/ERROR:\s+gatehouse: DELETE is not allowed through the gateway \(rule no-deletes\)/);
    expect(r.stdout.trim()).toBe('10');
    const admin = new pg.Client({ connectionString: env.directUrl });
    await admin.connect();
    expect((await admin.query('select count(*)::int as n from items')).rows[0].n).toBe(10);
    await admin.end();
  });

  test('an unparseable statement is refused by default (nothing reaches the server), the next works', async () => {
    const client = new pg.Client(env.clientConfig(await env.token()));
    await client.connect();
    await expect(client.query('selec 1 frm nowhere')).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/could not be parsed/) });
    expect((await client.query('select 3 as c')).rows).toEqual([{ c: 3 }]);
    await client.end();
  });

  test('node-postgres: extended protocol with parameters, prepared statements, a denial in the extended protocol, pipelining', async () => {
    const client = new pg.Client(env.clientConfig(await env.token()));
    await client.connect();
    const r = await client.query('select name from items where id = $1', [2]);
    expect(r.rows).toEqual([{ name: 'item 2' }]);
    for (const id of [3, 4]) {
      const p = await client.query({ name: 'by-id', text: 'select id, name from items where id = $1', values: [id] });
      expect(p.rows).toEqual([{ id, name: `item ${id}` }]);
    }
    await expect(client.query('delete from items where id = $1', [5])).rejects.toMatchObject({ code: '42501' });
    expect((await client.query('select count(*)::int as n from items')).rows[0].n).toBe(10);
    // pg queues these and the server answers them in order; mixing a denial in the middle.
    const results = await Promise.allSettled([
      client.query('select $1::int as v', [1]),
      client.query('delete from items'),
      client.query('select $1::int as v', [3]),
      client.query({ name: 'by-id', text: 'select id, name from items where id = $1', values: [6] }),
    ]);
    expect(results.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[2] as PromiseFulfilledResult<pg.QueryResult>).value.rows).toEqual([{ v: 3 }]);
    await client.end();
  });

  test('node-postgres: LISTEN/NOTIFY and cancel', async () => {
    const listener = new pg.Client(env.clientConfig(await env.token()));
    const notifier = new pg.Client(env.clientConfig(await env.token()));
    await Promise.all([listener.connect(), notifier.connect()]);
    const got = new Promise<pg.Notification>((resolve) => listener.on('notification', resolve));
    await listener.query('listen events');
    await notifier.query("notify events, 'hello'");
    expect((await got).payload).toBe('hello');

    const started = Date.now();
    const slow = notifier.query('select pg_sleep(30)');
    await new Promise((r) => setTimeout(r, 300));
    // pg's cancel opens a fresh connection with the BackendKeyData the gateway handed out.
    const canceller = new pg.Client(env.clientConfig(await env.token()));
    await (canceller as unknown as { cancel(target: pg.Client, query: unknown): void }).cancel(notifier, (notifier as unknown as { activeQuery: unknown }).activeQuery);
    await expect(slow).rejects.toMatchObject({ code: '57014' });
    expect(Date.now() - started).toBeLessThan(20000);
    expect((await notifier.query('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
    await Promise.all([listener.end(), notifier.end()]);
  });

  test('postgres.js: queries, parameters, a transaction and a denial', async () => {
    const sql = postgres({ host: '127.0.0.1', port: env.port, database: 'appdb', username: 'ada', password: await env.token(), ssl: { ca: env.certPem, checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity('127.0.0.1', cert) }, max: 2, onnotice: () => undefined });
    try {
      const rows = await sql`select id, name from items where id = ${7}`;
      expect(rows).toEqual([{ id: 7, name: 'item 7' }]);
      await sql.begin(async (tx) => {
        await tx`insert into items values (${200}, ${'tx row'})`;
        await tx`update items set name = 'changed' where id = ${200}`;
      });
      const [{ name }] = await sql`select name from items where id = 200`;
      expect(name).toBe('changed');
      await expect(sql`delete from items where id = ${200}`).rejects.toMatchObject({ code: '42501' });
      expect((await sql`select count(*)::int as n from items`)[0]!.n).toBe(11);
    } finally {
      await sql.end();
    }
  });

  test('pgbench in simple and extended modes', async () => {
    const init = await runPgBinary('pgbench', ['-i', '-s', '1', '-q', '-h', '127.0.0.1', '-p', String(env.pg.port), '-U', 'gh_app', 'appdb'], { PGPASSWORD: UPSTREAM_PASSWORD }, undefined, 60000);
    expect(init.code).toBe(0);
    for (const mode of ['simple', 'extended']) {
      const r = await runPgBinary('pgbench', ['-n', '-M', mode, '-c', '4', '-T', '2', '-h', '127.0.0.1', '-p', String(env.port), '-U', 'ada', 'appdb'], { PGPASSWORD: psqlEnv.PGPASSWORD!, PGSSLMODE: 'require' }, undefined, 30000);
      expect(r.stderr).not.toMatch(/error|abort/i);
      expect(r.code).toBe(0);
      const tx = /number of transactions actually processed: (\d+)/.exec(r.stdout);
      expect(Number(tx?.[1] ?? 0)).toBeGreaterThan(10);
      expect(r.stdout).toMatch(/number of failed transactions: 0/);
    }
  }, 40000);

  test('the record holds the session, each statement and its result with rows capped', async () => {
    const client = new pg.Client(env.clientConfig(await env.token(), { application_name: 'record-test' }));
    await client.connect();
    await client.query("select id, name, 'marker-42' as tag from items where id <= 5 order by id");
    await client.query('select name from items where id = $1', [9]);
    await client.query('select repeat($1, 100) as long', ['x']);
    await client.end();
    await new Promise((r) => setTimeout(r, 100));
    const events = await env.events();
    const start = events.find((e) => e.type === 'pg.session' && JSON.stringify(e.payload).includes('record-test'))!;
    expect(start).toBeDefined();
    const sessionId = start.session as string;
    const mine = events.filter((e) => e.session === sessionId);
    expect(mine[0]!.type).toBe('session.start');
    expect((mine[0]!.principal as Record<string, unknown>).subject).toBe('ada');
    expect(start.payload).toMatchObject({ upstream: expect.stringContaining('/appdb'), upstreamUser: 'gh_app', clientTls: true });

    const query = mine.find((e) => e.type === 'pg.query' && String((e.payload as Record<string, unknown>).text).includes('marker-42'))!;
    expect((query.payload as Record<string, unknown>).decision).toMatchObject({ effect: 'allow' });
    const result = mine.find((e) => e.type === 'pg.result' && e.requestId === query.requestId)!;
    expect(result.payload).toMatchObject({
      tag: 'SELECT 5',
      rowsAffected: 5,
      rowCount: 5,
      truncated: true,
      columns: [
        { name: 'id', typeOid: 23 },
        { name: 'name', typeOid: 25 },
        { name: 'tag', typeOid: 25 },
      ],
      rows: [
        ['1', 'item 1', 'marker-42'],
        ['2', 'item 2', 'marker-42'],
        ['3', 'item 3', 'marker-42'],
      ],
    });
    expect(typeof (result.payload as Record<string, unknown>).ms).toBe('number');

    const bound = mine.find((e) => e.type === 'pg.query' && (e.payload as Record<string, unknown>).text === 'select name from items where id = $1')!;
    expect(bound.payload).toMatchObject({ protocol: 'extended', parameters: [{ format: 'text', value: '9' }] });
    const boundResult = mine.find((e) => e.type === 'pg.result' && e.requestId === bound.requestId)!;
    expect(boundResult.payload).toMatchObject({ rows: [['item 9']], columns: [{ name: 'name', typeOid: 25 }], truncated: false });

    const long = mine.find((e) => e.type === 'pg.result' && JSON.stringify(e.payload).includes('"long"'))!;
    expect(long.payload).toMatchObject({ rows: [['x'.repeat(64)]], truncated: true });

    const denied = events.find((e) => e.type === 'policy.denied' && (e.payload as Record<string, unknown>).action === 'sql:delete');
    expect(denied).toBeDefined();
    expect(JSON.stringify(events)).not.toContain(UPSTREAM_PASSWORD);
    expect(JSON.stringify(events)).not.toContain(psqlEnv.PGPASSWORD);
  });
});
