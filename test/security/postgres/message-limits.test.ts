import { DEFAULT_POLICY, errorFields, rawLogin, RawPgClient, startPgTestEnv, typed, UPSTREAM_USER, type PgTestEnv } from '../../support/pg-gateway';

/**
 * Issue 16, class 5 at the wire: one client cannot make the gateway buffer without bound. A message
 * over the connection's maxMessageBytes ends that connection with FATAL 54000 before it is read (and
 * never reaches the server: the table stays empty); a large message within the limit, sent in small
 * chunks, is assembled and handled, and the gateway keeps serving. Metrics count what happened.
 */
describe('postgres message limits', () => {
  let env: PgTestEnv;
  beforeAll(async () => {
    env = await startPgTestEnv({ policy: DEFAULT_POLICY, connection: { maxMessageBytes: 1024 * 1024, maxStatementLength: 1024 * 1024 } });
    await env.direct('create table blobs (id int primary key, body text)');
    await env.direct(`alter table blobs owner to ${UPSTREAM_USER}`);
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });

  async function session(): Promise<RawPgClient> {
    const { c, login } = await rawLogin(env);
    expect(login.at(-1)?.type).toBe('Z');
    return c;
  }

  /** Writes `bytes` in 4 KiB pieces, each its own write (so the gateway sees many chunks). */
  async function dribble(c: RawPgClient, bytes: Buffer): Promise<void> {
    for (let i = 0; i < bytes.length; i += 4096) {
      if (!c.socket.write(bytes.subarray(i, i + 4096))) await new Promise((r) => c.socket.once('drain', r));
      if (c.closed) return;
    }
  }

  test('a Query over maxMessageBytes: FATAL 54000 naming the limit, and nothing reaches the server', async () => {
    const c = await session();
    const huge = `insert into blobs values (1, '${'x'.repeat(2 * 1024 * 1024)}')`;
    // Only the start is sent: the gateway refuses at the header, before reading (or buffering) the rest.
    c.write(typed('Q', `${huge}\0`).subarray(0, 64 * 1024));
    const e = await c.next();
    expect(e?.type).toBe('E');
    expect(errorFields(e!.body)).toMatchObject({ S: 'FATAL', C: '54000', M: expect.stringContaining('maxMessageBytes') });
    expect(await c.next()).toBeUndefined();
    expect(Number((await env.direct('select count(*) as n from blobs')).rows[0].n)).toBe(0);
  });

  test('a message just under the limit, in many small chunks, is assembled and runs; metrics count it all', async () => {
    const c = await session();
    const big = `insert into blobs values (2, '${'y'.repeat(900 * 1024)}')`;
    await dribble(c, typed('Q', `${big}\0`));
    const answer = await c.untilReady();
    expect(answer.map((m) => m.type)).toEqual(['C', 'Z']);
    c.write(typed('Q', 'delete from blobs\0'));
    const refused = await c.untilReady();
    expect(errorFields(refused[0]!.body).C).toBe('42501');
    c.socket.end();
    expect((await env.direct('select length(body) as n from blobs where id = 2')).rows).toEqual([{ n: 900 * 1024 }]);

    const text = await env.gw.gateway.metrics.registry.metrics();
    const value = (line: string): number => Number(text.split('\n').find((l) => l.startsWith(line))?.split(' ').at(-1) ?? NaN);
    expect(value('gatehouse_postgres_connections_total{connection="appdb",outcome="opened"')).toBeGreaterThanOrEqual(2);
    expect(value('gatehouse_postgres_statements_total{connection="appdb",decision="allowed"')).toBeGreaterThanOrEqual(1);
    expect(value('gatehouse_postgres_statements_total{connection="appdb",decision="refused"')).toBeGreaterThanOrEqual(1);
    expect(value('gatehouse_postgres_protocol_errors_total{connection="appdb",side="client"')).toBeGreaterThanOrEqual(1);
    expect(value('gatehouse_postgres_bytes_total{connection="appdb",from="client"')).toBeGreaterThan(900 * 1024);
    expect(value('gatehouse_postgres_bytes_total{connection="appdb",from="server"')).toBeGreaterThan(0);
  });
});
