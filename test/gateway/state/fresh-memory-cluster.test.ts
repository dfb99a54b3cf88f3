import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { freshMemoryCluster, seedFreshMemoryClusters } from '../../../gateway/src/state/fresh-memory-cluster';

/**
 * In-memory clusters after the first start from a dump of a fresh one: each must still be empty,
 * whatever an earlier cluster of the process holds (the dump is taken before its first statement).
 */
describe('fresh in-memory PGlite clusters', () => {
  const opened: PGlite[] = [];
  const loads: Array<boolean> = [];
  const create = async (dataDir: string, options?: PGliteOptions) => {
    loads.push(options?.loadDataDir !== undefined);
    const db = await PGlite.create(dataDir, options);
    opened.push(db);
    return db;
  };
  afterAll(async () => {
    await Promise.all(opened.map((db) => db.close()));
  });

  test('without a readable seed the first runs initdb; the next loads its dump and sees none of what was written to it', async () => {
    seedFreshMemoryClusters(async () => {
      throw new Error('no such file');
    });
    const first = await freshMemoryCluster(create);
    await first.exec("create table secrets (v text); insert into secrets values ('written after the dump')");
    const second = await freshMemoryCluster(create);
    expect(loads).toEqual([false, true]);
    const { rows } = await second.query<{ n: number }>("select count(*)::int as n from pg_tables where tablename = 'secrets'");
    expect(rows[0]!.n).toBe(0);
    await second.exec('create table t (x int); insert into t values (1)');
    expect((await second.query<{ x: number }>('select x from t')).rows).toEqual([{ x: 1 }]);
    expect((await first.query<{ v: string }>('select v from secrets')).rows).toEqual([{ v: 'written after the dump' }]);
  });
});
