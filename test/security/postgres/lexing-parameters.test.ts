import pg from 'pg';
import { DEFAULT_POLICY, errorFields, rawLogin, startPgTestEnv, typed, UPSTREAM_USER, type PgTestEnv } from '../../support/pg-gateway';

/**
 * Issue 16, class 1 at the wire: the gateway lexes SQL as UTF-8 with standard_conforming_strings on,
 * so the upstream session must read it the same way whatever the client or the database asks for.
 * Each attack smuggles a DELETE (forbidden by DEFAULT_POLICY) inside what the gateway reads as a
 * string literal; the check is that the rows are still there. Real PostgreSQL 15.
 */
describe('postgres lexing parameters are pinned', () => {
  let env: PgTestEnv;
  beforeAll(async () => {
    env = await startPgTestEnv({ policy: DEFAULT_POLICY });
    await env.direct('create table ledger (id int primary key, note text)');
    await env.direct(`alter table ledger owner to ${UPSTREAM_USER}`);
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });
  beforeEach(async () => {
    await env.direct('truncate ledger');
    await env.direct("insert into ledger values (1, 'a'), (2, 'b')");
  });

  const count = async (): Promise<number> => Number((await env.direct('select count(*) as n from ledger')).rows[0].n);

  const raw = (params: Record<string, string>) => rawLogin(env, params);

  // Gateway (UTF-8): E'<U+FFFD>\'; DELETE ...; --' is one literal. SJIS: 0x95 0x5C is one character, so the quote ends the literal.
  const sjisSmuggle = Buffer.concat([Buffer.from("SELECT E'"), Buffer.from([0x95]), Buffer.from("\\'; DELETE FROM ledger; --'\0")]);
  // Gateway (standard strings): 'x\' is a literal, '; DELETE ...; --' another. With them off, \' escapes the quote.
  const backslashSmuggle = "SELECT 'x\\' AS a, '; DELETE FROM ledger; --' AS b";

  test('a client-only encoding at startup is refused with an error naming client_encoding', async () => {
    const { c, login } = await raw({ client_encoding: 'SJIS' });
    if (login.at(-1)?.type === 'Z') {
      c.write(typed('Q', sjisSmuggle));
      await c.untilReady();
    }
    c.socket.destroy();
    expect(await count()).toBe(2);
    expect(login[0]?.type).toBe('E');
    expect(errorFields(login[0]!.body)).toMatchObject({ S: 'FATAL', C: '22023', M: expect.stringContaining('client_encoding') });
  });

  test('lexing settings in the options startup parameter are refused, naming the parameter', async () => {
    for (const [options, name] of [
      ['-c standard_conforming_strings=off', 'standard_conforming_strings'],
      ['-c client_encoding=BIG5', 'client_encoding'],
      ['--backslash-quote=on', 'backslash_quote'],
    ] as const) {
      const { c, login } = await raw({ options });
      if (login.at(-1)?.type === 'Z') {
        c.write(typed('Q', `${backslashSmuggle}\0`));
        await c.untilReady();
      }
      c.socket.destroy();
      expect(await count()).toBe(2);
      expect(login[0]?.type).toBe('E');
      expect(errorFields(login[0]!.body)).toMatchObject({ S: 'FATAL', M: expect.stringContaining(name) });
    }
    // UTF8 (in any of PostgreSQL's spellings) is what the gateway pins anyway: accepted.
    const ok = await raw({ client_encoding: 'utf-8', options: '-c standard_conforming_strings=on' });
    expect(ok.login.at(-1)?.type).toBe('Z');
    ok.c.socket.destroy();
  });

  test('a role default of standard_conforming_strings = off does not reach the gateway-opened session', async () => {
    await env.direct(`alter role ${UPSTREAM_USER} set standard_conforming_strings = off`);
    try {
      const c = new pg.Client(env.clientConfig(await env.token()));
      await c.connect();
      const r = await c.query(backslashSmuggle).catch((e: Error) => e);
      await c.end().catch(() => undefined);
      expect(await count()).toBe(2);
      expect(r).not.toBeInstanceOf(Error);
      expect((r as pg.QueryResult).rows).toEqual([{ a: 'x\\', b: '; DELETE FROM ledger; --' }]);
    } finally {
      await env.direct(`alter role ${UPSTREAM_USER} reset standard_conforming_strings`);
    }
  });

  test('a function that turns standard_conforming_strings off ends the connection before anything else is forwarded', async () => {
    await env.direct(`create or replace function public.flip_strings() returns text language sql as $$ select set_config('standard_conforming_strings', 'off', false) $$`);
    await env.direct(`create or replace function public.flip_encoding() returns text language sql as $$ select set_config('client_encoding', 'SJIS', false) $$`);
    for (const [fn, name] of [['flip_strings', 'standard_conforming_strings'], ['flip_encoding', 'client_encoding']] as const) {
      const c = new pg.Client(env.clientConfig(await env.token()));
      c.on('error', () => undefined);
      await c.connect();
      const flipped = await c.query(`select public.${fn}()`).catch((e: Error & { code?: string }) => e);
      const smuggled = await c.query(backslashSmuggle).catch((e: Error) => e);
      await c.end().catch(() => undefined);
      expect(await count()).toBe(2);
      // The connection ended with the gateway's FATAL naming the parameter; nothing after it ran.
      expect(String((flipped instanceof Error ? flipped : smuggled as Error).message)).toContain(name);
      expect(smuggled).toBeInstanceOf(Error);
    }
    const events = await env.events();
    expect(events.filter((e) => e.type === 'session.end' && JSON.stringify(e.payload).includes('parameter_changed')).length).toBeGreaterThanOrEqual(2);
  });
});
