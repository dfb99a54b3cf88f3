import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export default async function removePgliteTemplate() {
  const file = process.env.GATEHOUSE_TEST_PGLITE_TEMPLATE;
  if (file) await rm(dirname(file), { recursive: true, force: true });
}
