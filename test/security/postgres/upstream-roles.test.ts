import pg from 'pg';
import { startPgTestEnv, UPSTREAM_USER, type PgTestEnv } from '../../support/pg-gateway';

/**
 * Issue 16, class 3 (defense in depth): a reader logs in upstream as a read-only role chosen by
 * group (`upstream.roles`), in a read-only session, so PostgreSQL's own GRANTs and
 * default_transaction_read_only stop what the classifier misses. The policy here permits readers
 * everything on purpose: it stands for a classifier that missed a write. Real PostgreSQL 15.
 */
const POLICY = `
@id("everyone")
permit (principal, action, resource);
`;
const READER = 'gh_reader';
const READER_PASSWORD = 'reader-password-never-seen-by-agents';

describe('postgres upstream roles by group', () => {
  let env: PgTestEnv;
  beforeAll(async () => {
    process.env.GH_PG_READER_PASSWORD = READER_PASSWORD;
    env = await startPgTestEnv({
      policy: POLICY,
      extraConnections: (port) => [
        {
          name: 'appro',
          kind: 'postgres',
          upstream: {
            host: '127.0.0.1',
            port,
            database: 'appdb',
            user: UPSTREAM_USER,
            password: 'env:GH_PG_TEST_PASSWORD',
            tls: { mode: 'disable' },
            roles: [{ groups: ['readers'], user: READER, password: 'env:GH_PG_READER_PASSWORD', readOnly: true }],
          },
        },
      ],
    });
    await env.direct('create table ledger (id int primary key, note text)');
    await env.direct(`alter table ledger owner to ${UPSTREAM_USER}`);
    // The recommended reader (docs/postgres.md): no superuser, NOINHERIT, SELECT only.
    await env.direct(`create role ${READER} login noinherit nosuperuser nocreatedb nocreaterole password '${READER_PASSWORD}'`);
    await env.direct(`grant usage on schema public to ${READER}`);
    await env.direct(`grant select on ledger to ${READER}`);
    await env.direct("create function gh_turn_read_write() returns void language plpgsql as $$ begin perform set_config('default_transaction_read_only', 'off', false); end $$");
    await env.direct(`grant execute on function gh_turn_read_write() to ${READER}`);
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });
  beforeEach(async () => {
    await env.direct('truncate ledger');
    await env.direct("insert into ledger values (1, 'a'), (2, 'b')");
  });

  const count = async (): Promise<number> => Number((await env.direct('select count(*) as n from ledger')).rows[0].n);

  test('a reader logs in as the read-only role in a read-only session; writes fail in the server', async () => {
    const c = new pg.Client(env.clientConfig(await env.token(['readers'], 'rita'), { database: 'appro' }));
    c.on('error', () => undefined);
    await c.connect();
    expect((await c.query('select current_user as u, current_setting($1) as ro', ['default_transaction_read_only'])).rows).toEqual([{ u: READER, ro: 'on' }]);
    expect((await c.query('select count(*)::int as n from ledger')).rows).toEqual([{ n: 2 }]);
    await expect(c.query('delete from ledger')).rejects.toMatchObject({ code: '25006' });
    // A read-write transaction asked for explicitly is refused by the gateway (read-only-sessions.test.ts
    // has every spelling); the role's grants would stop the write too.
    await expect(c.query('begin read write')).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('read-only') });
    await c.query('begin');
    await expect(c.query('delete from ledger')).rejects.toMatchObject({ code: '25006' });
    await c.query('rollback');
    // Turning read-only off for the session where the gateway cannot see it (inside a function)
    // is reported by the server in ParameterStatus, and ends the connection.
    const off = await c.query('select gh_turn_read_write()').then(
      () => undefined,
      (e: Error) => e,
    );
    const after = await c.query('select 1').then(
      () => undefined,
      (e: Error) => e,
    );
    await c.end().catch(() => undefined);
    expect(String((off ?? after)?.message)).toContain('default_transaction_read_only');
    expect(after).toBeInstanceOf(Error);
    expect(await count()).toBe(2);
    const events = await env.events();
    const session = events.find((e) => e.type === 'pg.session' && (e.payload as Record<string, unknown>).upstreamUser === READER);
    expect(session?.payload).toMatchObject({ readOnly: true });
  });

  test('a principal in no listed group logs in as the connection\'s own role, read-write', async () => {
    const c = new pg.Client(env.clientConfig(await env.token(['developers']), { database: 'appro' }));
    await c.connect();
    expect((await c.query('select current_user as u, current_setting($1) as ro', ['default_transaction_read_only'])).rows).toEqual([{ u: UPSTREAM_USER, ro: 'off' }]);
    await c.query('delete from ledger where id = 2');
    await c.end();
    expect(await count()).toBe(1);
  });
});
