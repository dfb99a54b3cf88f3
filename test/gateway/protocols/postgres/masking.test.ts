import pg from 'pg';
import type { Detector } from '../../../../gateway/src/masking/detector';
import { runPgBinary, startPgTestEnv, type PgTestEnv } from '../../../support/pg-gateway';

/**
 * Result masking through the whole gateway against a real PostgreSQL 15: what the client receives
 * and what the record holds are masked (by value, by column, in binary format, in COPY TO
 * STDOUT), a masking failure answers XX000 in place of the row and records masking.failed, and
 * the counts reach the session's index entry.
 */
const EMAIL = 'ada.lovelace@example.com';
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const POLICY = `permit (principal in Gatehouse::Group::"developers", action, resource);`;

/** Throws on any text containing BOOM: proves fail-closed behaviour (test-only detector). */
const boomDetector: Detector = {
  id: 'test-boom',
  type: 'boom',
  family: 'secret',
  maxLength: 4,
  find(text: string) {
    if (text.includes('BOOM')) throw new Error('detector exploded on purpose');
    return [];
  },
};

type Json = Record<string, any>;

describe('postgres result masking', () => {
  let env: PgTestEnv;
  let token: string;
  beforeAll(async () => {
    process.env.GH_PG_MASK_KEY = 'a-masking-hash-key-of-32-bytes!!';
    env = await startPgTestEnv({
      policy: POLICY,
      connection: { masking: { columns: ['ssn'], replacement: { kind: 'keyed_hash', key: 'env:GH_PG_MASK_KEY' } } },
      // A second name for the same database without its own masking block: the top-level default applies.
      extraConnections: (port) => [
        {
          name: 'plaincopy',
          kind: 'postgres',
          upstream: { host: '127.0.0.1', port, database: 'appdb', user: 'gh_app', password: 'env:GH_PG_TEST_PASSWORD', tls: { mode: 'disable' } },
        },
      ],
      config: { masking: { replacement: { kind: 'type_tag' } }, admin: { groups: ['auditors'] } },
      start: { extraMaskingDetectors: { appdb: [boomDetector] } },
    });
    token = await env.token();
    const admin = new pg.Client({ connectionString: env.directUrl });
    await admin.connect();
    await admin.query('create table people (id int primary key, name text, email text, note text, ssn text, doc jsonb, pin int)');
    await admin.query('create table accounts (email text primary key)');
    await admin.query(`insert into accounts values ('${EMAIL}')`);
    await admin.query(`grant all on accounts to gh_app`);
    await admin.query(`grant all on people to gh_app`);
    await admin.query(
      `insert into people values
        (1, 'Ada', '${EMAIL}', 'aws key ${AWS_KEY} here', '123-45-6789', '{"contact": "${EMAIL}"}', 1234),
        (2, 'Ada again', '${EMAIL}', 'nothing', '123-45-6789', null, 5678),
        (3, 'Grace', 'grace.hopper@example.com', 'fine', '987-65-4321', null, null),
        (4, 'Boom', 'x@example.com', 'BOOM goes the detector', '000-00-0000', null, null),
        (5, 'After', 'after@example.com', 'after the boom', '000-00-0001', null, null)`,
    );
    await admin.end();
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });

  test('an email and an AWS key in text columns are masked for the client and in the record; ssn masked whole; equal inputs equal outputs', async () => {
    const client = new pg.Client(env.clientConfig(token, { application_name: 'mask-simple' }));
    await client.connect();
    const r = await client.query('select id, name, email, note, ssn, doc, pin from people where id in (1, 2, 3) order by id');
    await client.end();
    const [a, b, c] = r.rows as Json[];
    expect(a!.name).toBe('Ada');
    expect(a!.email).toMatch(/^\[EMAIL:[0-9a-f]+\]$/);
    expect(b!.email).toBe(a!.email);
    expect(c!.email).not.toBe(a!.email);
    expect(a!.note).toMatch(/^aws key \[AWS_ACCESS_KEY_ID:[0-9a-f]+\] here$/);
    expect(a!.ssn).toMatch(/^\[COLUMN:[0-9a-f]+\]$/);
    expect(b!.ssn).toBe(a!.ssn);
    expect(c!.ssn).not.toBe(a!.ssn);
    expect(a!.doc).toEqual({ contact: a!.email });
    expect(a!.pin).toBe(1234);
    expect(JSON.stringify(r.rows)).not.toContain(EMAIL);
    expect(JSON.stringify(r.rows)).not.toContain(AWS_KEY);
    expect(JSON.stringify(r.rows)).not.toContain('123-45-6789');

    const events = await env.events();
    const result = events.find((e) => e.type === 'pg.result' && JSON.stringify(e.payload).includes('"rowCount":3'))!;
    expect(result).toBeDefined();
    const recorded = JSON.stringify(result.payload);
    expect(recorded).not.toContain(EMAIL);
    expect(recorded).not.toContain(AWS_KEY);
    expect(recorded).not.toContain('123-45-6789');
    expect((result.payload as Json).rows[0]).toEqual(['1', 'Ada', a!.email, a!.note, a!.ssn, `{"contact": "${a!.email}"}`, '1234']);
  });

  test('extended protocol with binary results: text columns masked, listed columns whole, an int column passes', async () => {
    const client = new pg.Client(env.clientConfig(token));
    await client.connect();
    const q = { text: 'select email, note, ssn, pin from people where id = $1', values: [1], binary: true };
    const r = await client.query(q);
    await client.end();
    // The int4 column must arrive exactly as the server sent it (node-postgres decodes it the same way both times).
    const direct = new pg.Client({ connectionString: env.directUrl });
    await direct.connect();
    const expectedPin = ((await direct.query(q)).rows[0] as Json).pin;
    await direct.end();
    const row = r.rows[0] as Json;
    expect(row.email).toMatch(/^\[EMAIL:[0-9a-f]+\]$/);
    expect(row.note).toMatch(/^aws key \[AWS_ACCESS_KEY_ID:[0-9a-f]+\] here$/);
    expect(row.ssn).toMatch(/^\[COLUMN:[0-9a-f]+\]$/);
    expect(row.pin).toBe(expectedPin);
  });

  test('a masking failure answers XX000 instead of the row, delivers nothing after it, records masking.failed', async () => {
    const client = new pg.Client(env.clientConfig(token, { application_name: 'mask-boom' }));
    client.on('error', () => undefined);
    await client.connect();
    const err = (await client.query('select id, note from people where id >= 3 order by id').catch((e: unknown) => e)) as Json;
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('XX000');
    expect(err.message).toMatch(/masking the result failed/);
    expect(err.message).not.toContain('BOOM');
    // The connection is closed by the gateway: nothing more can be asked on it.
    await expect(client.query('select 1')).rejects.toThrow();
    await client.end().catch(() => undefined);

    const events = await env.events();
    const failed = events.find((e) => e.type === 'masking.failed')!;
    expect(failed).toBeDefined();
    expect(failed.payload).toMatchObject({ code: 'GH_ERR_MASKING_FAILED', phase: 'result' });
    expect(JSON.stringify(failed)).not.toContain('BOOM');
    const end = events.find((e) => e.type === 'session.end' && e.session === failed.session) as Json | undefined;
    expect(end?.payload).toMatchObject({ reason: 'masking_failed' });
    // No result of that statement was recorded with the failing row or the one after it.
    expect(JSON.stringify(events.filter((e) => e.session === failed.session))).not.toContain('after the boom');
  });

  test('COPY TO STDOUT: text lines masked with the top-level default; refused on a connection with column rules', async () => {
    const psqlEnv = (db: string) => ({ PGHOST: '127.0.0.1', PGPORT: String(env.port), PGUSER: 'ada', PGDATABASE: db, PGPASSWORD: token, PGSSLMODE: 'require', PGCONNECT_TIMEOUT: '10' });
    const ok = await runPgBinary('psql', ['-X', '-At', '-c', '\\copy (select id, email, note from people where id in (1, 3) order by id) to stdout with (format csv)'], psqlEnv('plaincopy'));
    expect(ok.stderr).toBe('');
    expect(ok.stdout.trim().split('\n')).toEqual(['1,[EMAIL],aws key [AWS_ACCESS_KEY_ID] here', '3,[EMAIL],fine']);

    const refused = await runPgBinary('psql', ['-X', '-At', '-c', '\\copy (select email from people where id = 1) to stdout'], psqlEnv('appdb'));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/masking the result failed/);
    expect(refused.stdout).not.toContain(EMAIL);
  });

  test('server error and notice texts are masked: a unique violation quotes the duplicate value, a notice an email', async () => {
    const client = new pg.Client(env.clientConfig(token, { application_name: 'mask-errors' }));
    const notices: Json[] = [];
    client.on('notice', (n: unknown) => notices.push(n as Json));
    await client.connect();
    const err = (await client.query(`insert into accounts values ('${EMAIL}')`).catch((e: unknown) => e)) as Json;
    expect(err).toBeInstanceOf(Error);
    // The server's own code and constraint name arrive unchanged; the value in the detail does not.
    expect(err.code).toBe('23505');
    expect(err.constraint).toBe('accounts_pkey');
    expect(err.detail).toMatch(/^Key \(email\)=\(\[EMAIL:[0-9a-f]+\]\) already exists\.$/);
    await client.query(`do $$ begin raise notice 'contact % about key %', '${EMAIL}', '${AWS_KEY}'; end $$`);
    // The connection still works after both.
    expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await client.end();
    expect(notices).toHaveLength(1);
    expect(notices[0]!.message).toMatch(/^contact \[EMAIL:[0-9a-f]+\] about key \[AWS_ACCESS_KEY_ID:[0-9a-f]+\]$/);

    const events = await env.events();
    const session = events.find((e) => e.type === 'session.start' && JSON.stringify(e.payload).includes('mask-errors'))?.session;
    expect(session).toBeDefined();
    // What the server said (the statement text is the client's own, recorded as sent).
    const results = events.filter((e) => e.session === session && e.type === 'pg.result');
    expect(results).toHaveLength(3);
    const recorded = JSON.stringify(results);
    expect(recorded).toContain('23505');
    expect(recorded).not.toContain(EMAIL);
    expect(recorded).not.toContain(AWS_KEY);
  });

  test('masked counts reach the session index entry', async () => {
    const client = new pg.Client(env.clientConfig(token, { application_name: 'mask-count' }));
    await client.connect();
    await client.query("select email, ssn from people where id in (1, 3) order by id");
    await client.end();
    const auditor = await env.token(['auditors'], 'audrey');
    let counters: Record<string, number> | undefined;
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${env.gw.adminUrl}/api/sessions?limit=100`, { headers: { authorization: `Bearer ${auditor}` } });
      const body = (await res.json()) as { sessions: { counters?: Record<string, number> }[] };
      counters = body.sessions.map((s) => s.counters).find((c) => c?.['masked.email'] === 2 && c['masked.column'] === 2);
      if (counters !== undefined) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(counters).toMatchObject({ 'masked.email': 2, 'masked.column': 2 });
  });
});
