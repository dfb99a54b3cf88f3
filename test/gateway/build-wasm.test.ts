import { readFileSync } from 'node:fs';
import { compileWat, outputOf, watSources } from '../../gateway/build-wasm.mjs';

// The compiled WebAssembly modules are committed as TypeScript (so the bundle and the tests need
// no asset at run time); this keeps them true to their .wat sources.
describe('npm run build:wasm', () => {
  it('finds the WebAssembly sources', () => {
    expect(watSources().map((f) => f.split('/').pop())).toContain('trigger-scan.wat');
  });

  it.each(watSources().map((f) => ({ name: f.split('/').pop(), file: f })))('$name: the committed module is what the source compiles to', async ({ file }) => {
    expect(readFileSync(outputOf(file), 'utf8')).toBe(await compileWat(file));
  });
});
