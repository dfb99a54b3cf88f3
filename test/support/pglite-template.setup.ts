import { readFile } from 'node:fs/promises';
import { seedFreshMemoryClusters } from '../../gateway/src/state/fresh-memory-cluster';

// Runs in every test file's module registry (setupFilesAfterEnv): the file's in-memory stores start
// from the cluster jest's globalSetup initialized once. Read lazily, only by a file that opens one.
const file = process.env.GATEHOUSE_TEST_PGLITE_TEMPLATE;
if (file) {
  seedFreshMemoryClusters(async () => new Blob([await readFile(file)]));
}
