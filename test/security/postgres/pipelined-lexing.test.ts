import { DEFAULT_POLICY, errorFields, rawLogin, RawPgClient, startPgTestEnv, typed, UPSTREAM_USER, type PgTestEnv } from '../../support/pg-gateway';

/**
 * Issue 16, class 1 (lexing parameters), pipelined: a function the gateway cannot see into turns
 * standard_conforming_strings off. PostgreSQL reports that only just before the ReadyForQuery of
 * the message that ran it, so a statement sent in the same write was already forwarded and is
 * lexed by the server under the new value: `'x\''` is one string to the gateway and a string
 * followed by a DELETE to the server. The gateway refuses texts with a backslash or a non-ASCII
 * character while earlier messages are unanswered. The policy forbids DELETE; the table is checked.
 */
const SMUGGLE = "SELECT 'x\\'' ; DELETE FROM ledger; --'";

describe('a lexing setting changed by a function in a pipeline', () => {
  let env: PgTestEnv;
  beforeAll(async () => {
    env = await startPgTestEnv({ policy: DEFAULT_POLICY });
    await env.direct('create table ledger (id int primary key, note text)');
    await env.direct(`alter table ledger owner to ${UPSTREAM_USER}`);
    await env.direct("create function flip() returns int language plpgsql as $$ begin perform set_config('standard_conforming_strings', 'off', false); return 1; end $$");
    await env.direct(`grant execute on function flip() to ${UPSTREAM_USER}`);
  }, 120000);
  afterAll(async () => {
    await env?.stop();
  });
  beforeEach(async () => {
    await env.direct('truncate ledger');
    await env.direct("insert into ledger values (1, 'a'), (2, 'b')");
  });
  const count = async (): Promise<number> => Number((await env.direct('select count(*) as n from ledger')).rows[0].n);

  async function session(): Promise<RawPgClient> {
    const { c, login } = await rawLogin(env);
    expect(login.at(-1)?.type).toBe('Z');
    return c;
  }

  async function drain(c: RawPgClient): Promise<{ type: string; body: Buffer }[]> {
    const out: { type: string; body: Buffer }[] = [];
    for (;;) {
      const m = await c.next(10000).catch(() => undefined);
      if (m === undefined) return out;
      out.push(m);
    }
  }

  /**
   * The refusal is recorded; the client may not see it, because the server's report of the
   * changed setting closes the connection first (FATAL 0A000). No row is deleted either way.
   */
  async function expectRefusedAndClosed(messages: { type: string; body: Buffer }[]): Promise<void> {
    const errors = messages.filter((m) => m.type === 'E').map((m) => errorFields(m.body));
    expect(errors.some((e) => (e.C === '42501' && /backslash or a non-ASCII/.test(e.M ?? '')) || (e.C === '0A000' && /standard_conforming_strings/.test(e.M ?? '')))).toBe(true);
    expect(await count()).toBe(2);
    const denied = (await env.events()).filter((e) => e.type === 'policy.denied' && JSON.stringify(e.payload).includes('backslash or a non-ASCII'));
    expect(denied.length).toBeGreaterThan(0);
  }

  test('simple protocol: the smuggled text in the same write is refused; no row is deleted', async () => {
    const c = await session();
    c.write(Buffer.concat([typed('Q', 'SELECT flip()\0'), typed('Q', `${SMUGGLE}\0`)]));
    const messages = await drain(c);
    await expectRefusedAndClosed(messages);
  });

  test('extended protocol: a Parse after an unanswered Execute is refused; no row is deleted', async () => {
    const c = await session();
    const parse = (text: string): Buffer => typed('P', Buffer.concat([Buffer.from(`\0${text}\0`), Buffer.from([0, 0])]));
    const bind = typed('B', Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]));
    const execute = typed('E', Buffer.from([0, 0, 0, 0, 0]));
    const sync = typed('S', Buffer.alloc(0));
    c.write(Buffer.concat([parse('SELECT flip()'), bind, execute, sync, parse("SELECT 'x\\'' , 1 ; DELETE FROM ledger; --'"), bind, execute, sync]));
    const messages = await drain(c);
    await expectRefusedAndClosed(messages);
  });

  test('the same texts one at a time are judged as usual', async () => {
    const c = await session();
    c.write(typed('Q', "SELECT 'a\\b' AS s\0"));
    expect((await c.untilReady()).map((m) => m.type)).toEqual(['T', 'D', 'C', 'Z']);
    c.write(typed('Q', 'SELECT 1\0'));
    expect((await c.untilReady()).map((m) => m.type)).toEqual(['T', 'D', 'C', 'Z']);
  });
});
