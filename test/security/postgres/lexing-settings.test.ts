import pg from 'pg';
import { startPgTestEnv, type PgTestEnv } from '../../support/pg-gateway';

/**
 * Issue 16, class 1 (lexing parameters), statement level: settings that change how the server
 * reads SQL text (PostgreSQL 15's scan.l: standard_conforming_strings, backslash_quote; and
 * client_encoding, which decides the bytes the lexer sees) cannot be changed by any statement.
 * The attack: with standard_conforming_strings off, `'a\''; DELETE ...; --'` is one string literal
 * to the gateway and a DELETE to the server. The policy forbids DELETE; the table is checked directly.
 */
const POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("no-deletes")
@message("DELETE is not allowed through the gateway")
forbid (principal, action == Gatehouse::Action::"sql:delete", resource);
`;

const SMUGGLED = "SELECT 'a\\''; DELETE FROM ledger; --'";

describe('settings that change how SQL is lexed cannot be changed', () => {
  let env: PgTestEnv;
  beforeAll(async () => {
    env = await startPgTestEnv({ policy: POLICY });
    await env.direct('create table ledger (id int primary key)');
    await env.direct('grant all on ledger to gh_app');
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });
  beforeEach(async () => {
    await env.direct('truncate ledger');
    await env.direct('insert into ledger select generate_series(1, 3)');
  });
  const rows = async () => Number((await env.direct('select count(*) as n from ledger')).rows[0].n);

  async function client(): Promise<pg.Client> {
    const c = new pg.Client(env.clientConfig(await env.token()));
    await c.connect();
    return c;
  }

  test.each([
    ['SET standard_conforming_strings = off', 'standard_conforming_strings'],
    ['SET SESSION standard_conforming_strings TO off', 'standard_conforming_strings'],
    ['SET LOCAL standard_conforming_strings = off', 'standard_conforming_strings'],
    ["SELECT set_config('standard_conforming_strings', 'off', false)", 'standard_conforming_strings'],
    ["SELECT pg_catalog.set_config('STANDARD_CONFORMING_STRINGS', 'off', false)", 'standard_conforming_strings'],
    ['RESET standard_conforming_strings', 'standard_conforming_strings'],
    ['SET backslash_quote = on', 'backslash_quote'],
    ["SET client_encoding = 'SJIS'", 'client_encoding'],
    ["SET NAMES 'BIG5'", 'client_encoding'],
  ])('%s is refused naming %s, and the smuggled DELETE stays a string', async (sql, name) => {
    const c = await client();
    await c.query('begin').then(() => c.query('commit'));
    await expect(c.query(sql)).rejects.toMatchObject({ code: '42501', message: expect.stringContaining(name) });
    const r = await c.query(SMUGGLED);
    expect(r.rows).toEqual([{ '?column?': "a\\'; DELETE FROM ledger; --" }]);
    expect((await c.query('show standard_conforming_strings')).rows).toEqual([{ standard_conforming_strings: 'on' }]);
    expect((await c.query('show client_encoding')).rows).toEqual([{ client_encoding: 'UTF8' }]);
    await c.end();
    expect(await rows()).toBe(3);
  });

  test('the extended protocol is judged the same: a Parse that changes a lexing setting is refused', async () => {
    const c = await client();
    await expect(c.query("SELECT set_config('standard_conforming_strings', $1, false)", ['off'])).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('standard_conforming_strings') });
    await expect(c.query({ text: 'SET standard_conforming_strings = off', queryMode: 'extended' } as pg.QueryConfig)).rejects.toMatchObject({ code: '42501' });
    await c.query(SMUGGLED);
    await c.end();
    expect(await rows()).toBe(3);
  });

  test('set_config with a computed parameter name is refused', async () => {
    const c = await client();
    await expect(c.query("SELECT set_config(lower('STANDARD_conforming_strings'), 'off', false)")).rejects.toMatchObject({ message: expect.stringMatching(/not a string literal/) });
    await c.query(SMUGGLED);
    await c.end();
    expect(await rows()).toBe(3);
  });

  test('role, database, system and function-level settings are refused too (checked in the catalog)', async () => {
    const c = await client();
    for (const sql of [
      'ALTER ROLE current_user SET standard_conforming_strings = off',
      'ALTER DATABASE appdb SET standard_conforming_strings = off',
      "ALTER DATABASE appdb SET client_encoding = 'SJIS'",
      'ALTER SYSTEM SET standard_conforming_strings = off',
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET standard_conforming_strings = off AS 'select 1'",
    ]) {
      await expect(c.query(sql)).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/standard_conforming_strings|client_encoding/) });
    }
    await c.end();
    expect((await env.direct('select count(*)::int as n from pg_db_role_setting')).rows[0].n).toBe(0);
    expect((await env.direct("select count(*)::int as n from pg_proc where proname = 'f'")).rows[0].n).toBe(0);
  });

  test('escape_string_warning changes nothing the lexer reads and stays allowed', async () => {
    const c = await client();
    await c.query('SET escape_string_warning = off');
    await c.end();
  });
});
