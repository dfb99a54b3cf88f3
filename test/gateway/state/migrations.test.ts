import { runMigrations, type Migration } from '../../../gateway/src/state/migrations';
import { createStateStore, type StateStore } from '../../../gateway/src/state/store';

const v1: Migration = { version: 1, name: 'widgets', statements: ['create table widgets (id text primary key)'] };
const v2: Migration = { version: 2, name: 'widget colour', statements: ['alter table widgets add column colour text'] };

describe('schema migrations (embedded store)', () => {
  let store: StateStore;

  beforeAll(async () => {
    store = createStateStore({ embeddedPath: 'memory://' });
    await store.open();
  }, 60000);

  afterAll(async () => {
    await store?.close();
  });

  const tables = async (): Promise<string[]> =>
    (await store.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = 'public' order by table_name")).rows.map((r) => r.table_name);

  it('applies each version once, in order, and later only the new ones', async () => {
    expect(await runMigrations(store, 'widgets', [v1])).toEqual([1]);
    expect(await runMigrations(store, 'widgets', [v1])).toEqual([]);
    expect(await runMigrations(store, 'widgets', [v1, v2])).toEqual([2]);
    await store.query("insert into widgets (id, colour) values ('w1', 'red')");
    const applied = await store.query<{ version: number; name: string }>("select version, name from gatehouse_schema_migrations where component = 'widgets' order by version");
    expect(applied.rows).toEqual([{ version: 1, name: 'widgets' }, { version: 2, name: 'widget colour' }]);
  });

  it('refuses a migration whose text changed after it was applied', async () => {
    const edited: Migration = { ...v1, statements: ['create table widgets (id text primary key, extra int)'] };
    await expect(runMigrations(store, 'widgets', [edited, v2])).rejects.toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE', message: expect.stringMatching(/differs/) });
  });

  it('refuses to run against a schema newer than it knows', async () => {
    await expect(runMigrations(store, 'widgets', [v1])).rejects.toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE', message: expect.stringMatching(/newer/) });
  });

  it('refuses migrations that are not numbered 1, 2, 3, ...', async () => {
    await expect(runMigrations(store, 'other', [v2])).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID' });
    await expect(runMigrations(store, 'other', [v1, v1])).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID' });
  });

  it('rolls back every statement of a run when one fails', async () => {
    const good: Migration = { version: 1, name: 'gadgets', statements: ['create table gadgets (id int)'] };
    const bad: Migration = { version: 2, name: 'broken', statements: ['create table gadget_parts (id int)', 'alter table no_such_table add column x int'] };
    await expect(runMigrations(store, 'gadgets', [good, bad])).rejects.toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE' });
    expect(await tables()).not.toContain('gadgets');
    expect(await tables()).not.toContain('gadget_parts');
    expect((await store.query("select 1 from gatehouse_schema_migrations where component = 'gadgets'")).rows).toEqual([]);
  });

  it('keeps components apart', async () => {
    expect(await runMigrations(store, 'sprockets', [{ version: 1, name: 'sprockets', statements: ['create table sprockets (id int)'] }])).toEqual([1]);
    expect(await tables()).toEqual(expect.arrayContaining(['sprockets', 'widgets']));
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    await store.query('create table ledger (n int)');
    await store.transaction(async (tx) => {
      await tx.query('insert into ledger values ($1)', [1]);
    });
    await expect(
      store.transaction(async (tx) => {
        await tx.query('insert into ledger values ($1)', [2]);
        throw new Error('changed my mind');
      }),
    ).rejects.toEqual(new Error('changed my mind'));
    expect((await store.query<{ n: number }>('select n from ledger')).rows).toEqual([{ n: 1 }]);
  });

  it('reports a failing statement as GH_ERR_STATE_UNAVAILABLE with the driver code', async () => {
    await expect(store.query('select * from missing_table')).rejects.toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE', details: { driverCode: '42P01' } });
  });
});
