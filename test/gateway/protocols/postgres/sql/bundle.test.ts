import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';

/**
 * The classifier bundled the way gateway/build.mjs bundles the gateway (ESM, code splitting, the
 * createRequire banner) runs from a folder holding only the bundle and the assets gateway/assets.mjs
 * lists: no node_modules. Without the copied libpg-query.wasm it fails closed with its own code.
 */
const run = promisify(execFile);
const root = join(new URL('.', import.meta.url).pathname, '../../../../..');

describe('the SQL classifier in an esbuild bundle', () => {
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-sql-bundle-'));
    const entry = join(dir, 'entry.ts');
    writeFileSync(
      entry,
      `import { classifySql, loadSqlParser } from ${JSON.stringify(join(root, 'gateway/src/protocols/postgres/sql/classify'))};
try {
  await loadSqlParser();
  console.log(JSON.stringify(classifySql(process.argv[2] ?? '')));
} catch (e) {
  console.log(JSON.stringify({ failed: e.code }));
}
`,
    );
    await build({
      entryPoints: { probe: entry },
      outdir: join(dir, 'dist'),
      outExtension: { '.js': '.mjs' },
      splitting: true,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'error',
      banner: { js: "import { createRequire as __gatehouseCreateRequire } from 'node:module';\nconst require = __gatehouseCreateRequire(import.meta.url);" },
    });
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const probe = async (sql: string) => JSON.parse((await run(process.execPath, [join(dir, 'dist/probe.mjs'), sql], { cwd: dir, env: { PATH: process.env.PATH ?? '' } })).stdout);

  test('without the wasm beside it, loading fails with GH_ERR_SQL_PARSER_UNAVAILABLE', async () => {
    expect(await probe('select 1')).toEqual({ failed: 'GH_ERR_SQL_PARSER_UNAVAILABLE' });
  });

  test('with the assets from gateway/assets.mjs copied beside it, it parses', async () => {
    const { assets } = (await import(join(root, 'gateway/assets.mjs'))) as { assets: [string, string][] };
    const parser = assets.find(([, to]) => to === 'libpg-query.wasm');
    expect(parser).toBeDefined();
    copyFileSync(join(root, 'node_modules', parser![0]), join(dir, 'dist', parser![1]));
    const result = await probe('DELETE FROM public.users; SELECT 1');
    expect(result).toMatchObject({ ok: true, statements: [{ command: 'delete', kind: 'write', tables: ['public.users'], unbounded: true }, { command: 'select' }] });
  });
});
