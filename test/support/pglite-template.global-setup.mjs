// Jest globalSetup: one freshly initialized PGlite cluster dumped to a file, so every test file's
// in-memory state stores start from it instead of each running initdb (seconds apiece on 2 cores).
// test/support/pglite-template.setup.ts seeds gateway/src/state/fresh-memory-cluster.ts with it.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';

export default async function createPgliteTemplate() {
  const db = await PGlite.create('memory://');
  const dump = await db.dumpDataDir('none');
  await db.close();
  const dir = await mkdtemp(join(tmpdir(), 'gh-jest-pglite-'));
  const file = join(dir, 'fresh-cluster.tar');
  await writeFile(file, Buffer.from(await dump.arrayBuffer()), { mode: 0o600 });
  process.env.GATEHOUSE_TEST_PGLITE_TEMPLATE = file;
}
