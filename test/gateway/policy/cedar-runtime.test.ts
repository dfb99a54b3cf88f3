import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { CEDAR_WASM_FILE, cedarWasmCandidates } from '../../../gateway/src/policy/cedar-runtime';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const engineSource = join(here, '../../../gateway/src/policy/engine.ts');

/**
 * The gateway ships as one esbuild bundle without node_modules; the Cedar .wasm sits beside it.
 * These tests build a bundle the same way, run it with plain node in an empty folder, and prove
 * where the .wasm is looked for.
 */
describe('Cedar runtime in an esbuild bundle', () => {
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-cedar-'));
    const entry = join(dir, 'entry.ts');
    // Optimise decide() for one principal shape, then feed others: the pattern that crashed Node 20
    // (V8 fatal in the deoptimizer) while TurboFan inlined JS→Wasm calls. The crash depends on exact
    // optimisation decisions and did not reproduce reliably here; this run proves the bundle works.
    writeFileSync(
      entry,
      `
      import { createPolicyEngine } from ${JSON.stringify(engineSource)};
      const lines = [];
      for (let i = 0; i < 16; i++) lines.push('permit(principal in Gatehouse::Group::"t' + i + '", action in Gatehouse::Action::"http:read", resource == Gatehouse::Connection::"c' + i + '") when { context.path like "/v' + i + '/*" };');
      lines.push('permit(principal in Gatehouse::Group::"developers", action, resource);');
      lines.push('forbid(principal, action == Gatehouse::Action::"http:DELETE", resource) unless { principal in Gatehouse::Group::"admins" };');
      lines.push('@decision("review") permit(principal, action in Gatehouse::Action::"http:write", resource) when { context.path like "/v1/admin/*" };');
      lines.push('forbid(principal, action, resource) when { context has path && context.path like "*/secrets*" };');
      const engine = createPolicyEngine({ policies: lines.join('\\n') });
      const base = { issuer: 'https://i', issuerName: 'corp', subject: 'u1', name: 'a@b', groups: ['developers', 't3'], kind: 'human', tokenId: 't' };
      const shapes = [base, { ...base, expiresAt: 1 }, { tokenId: 't', ...base }, { ...base, extra: 1, more: 'x' }, { ...base, groups: ['t3'] }];
      const ops = ['GET', 'POST', 'DELETE', 'HEAD'].map((m) => ({ protocol: 'http', action: 'http:' + m, attributes: { method: m, path: '/v3/x', host: 'h' }, summary: '' }));
      const count = Number(process.argv[2] ?? 0);
      const effects = new Set();
      for (let i = 0; i < count; i++) {
        const p = i < (3 * count) / 7 ? base : { ...shapes[i % shapes.length] };
        const op = ops[i & 3];
        effects.add(engine.decide(p, 'c3', { ...op, attributes: { ...op.attributes, path: '/v3/x/' + i } }).effect);
      }
      console.log(JSON.stringify({ ok: true, effects: [...effects].sort() }));
      `,
    );
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: join(dir, 'dist', 'gateway.mjs'),
      logLevel: 'silent',
    });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fails with a clear error when the .wasm is not beside the bundle', async () => {
    const failure = await run(process.execPath, [join(dir, 'dist', 'gateway.mjs')], { cwd: dir }).catch((e: { stderr: string }) => e);
    expect('stderr' in failure && failure.stderr).toMatch(/GH_ERR_POLICY_FAILED/);
    expect('stderr' in failure && failure.stderr).toContain(`(${CEDAR_WASM_FILE}) was not found`);
    expect('stderr' in failure && failure.stderr).toContain(join(dir, 'dist', CEDAR_WASM_FILE));
  });

  it('loads the .wasm from beside the bundle and decides', async () => {
    const packaged = cedarWasmCandidates().at(-1)!;
    copyFileSync(packaged, join(dir, 'dist', CEDAR_WASM_FILE));
    const { stdout } = await run(process.execPath, [join(dir, 'dist', 'gateway.mjs'), '3000'], { cwd: dir });
    expect(JSON.parse(stdout)).toEqual({ ok: true, effects: ['allow', 'deny'] });
  }, 120000);
});
