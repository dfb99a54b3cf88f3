import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** Every segment of an fs-sink log directory, decompressed and concatenated (NDJSON). */
export async function readAllSegments(logDir: string): Promise<string> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.name.endsWith('.ndjson.gz')) out.push(gunzipSync(await readFile(p)).toString('utf8'));
    }
  };
  await walk(join(logDir, 'segments'));
  return out.join('');
}
