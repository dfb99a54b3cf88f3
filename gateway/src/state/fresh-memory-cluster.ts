import type { PGlite, PGliteOptions } from '@electric-sql/pglite';

/**
 * New in-memory PGlite clusters, fast after the first.
 *
 * Creating an empty PGlite data directory runs initdb inside WebAssembly: seconds on a small
 * machine, paid again by every in-memory store a process opens (each test gateway, every
 * `memory://` store). Loading a dump of a freshly initialized cluster is several times cheaper, so
 * the first cluster of a process is dumped before anything is written to it and later ones start
 * from that dump. The dump is taken in this process from a cluster it created; a host that opens
 * many stores across processes (the test suite) may seed it with one it made the same way.
 */
export type CreatePGlite = (dataDir: string, options?: PGliteOptions) => Promise<PGlite>;

let template: Promise<Blob | undefined> | undefined;
let seed: (() => Promise<Blob | undefined>) | undefined;

/** Starts later clusters from `load()` (called once, when first needed): a `dumpDataDir()` of a cluster nothing was written to. */
export function seedFreshMemoryClusters(load: () => Promise<Blob | undefined>): void {
  seed = load;
  template = undefined;
}

export async function freshMemoryCluster(create: CreatePGlite): Promise<PGlite> {
  if (template === undefined && seed !== undefined) template = seed().catch(() => undefined);
  const dump = await template;
  if (dump !== undefined) return create('memory://', { loadDataDir: dump });
  const db = await create('memory://');
  // Taken before the caller's first statement; a failed dump only costs later opens their speed.
  seed = undefined;
  template = db.dumpDataDir('none').catch(() => undefined);
  await template;
  return db;
}
