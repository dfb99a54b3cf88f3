import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { assertGatewayBundleFresh, gatewayBundleProblem } from '../../stacks/gateway-bundle';

/**
 * Synth refuses to stage a missing or stale gateway bundle (issue 17: "synth without `npm run
 * build` stages an empty image"). The reference app checks dist/ against gateway/src in the
 * directory cdk runs in, unless a prebuilt image is configured.
 */
const root = join(new URL('.', import.meta.url).pathname, '../..');
const at = (dir: string, file: string, seconds: number) => {
  const path = join(dir, file);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '// x\n');
  utimesSync(path, seconds, seconds);
};

describe('the gateway bundle check', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-bundle-check-'));
    at(dir, 'gateway/src/main.ts', 1_000_000);
    at(dir, 'gateway/src/recording/recorder.ts', 1_000_100);
    at(dir, 'gateway/build.mjs', 1_000_000);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a missing bundle is refused with what to run', () => {
    expect(gatewayBundleProblem(dir)).toBe('dist/gateway.mjs is missing');
    expect(() => assertGatewayBundleFresh(dir)).toThrow(/dist\/gateway\.mjs is missing: run `npm run build` before `cdk synth`/);
  });

  test('a bundle older than any source (nested too) or than the build script is refused', () => {
    at(dir, 'dist/gateway.mjs', 1_000_050);
    expect(gatewayBundleProblem(dir)).toMatch(/is older than gateway\/src\/recording\/recorder\.ts/);
    at(dir, 'dist/gateway.mjs', 1_000_200);
    at(dir, 'gateway/build.mjs', 1_000_300);
    expect(() => assertGatewayBundleFresh(dir)).toThrow(/older than gateway\/build\.mjs/);
  });

  test('a bundle newer than every source passes', () => {
    at(dir, 'dist/gateway.mjs', 1_000_200);
    expect(gatewayBundleProblem(dir)).toBeUndefined();
    expect(() => assertGatewayBundleFresh(dir)).not.toThrow();
  });

  test('the reference CDK app (as cdk.json runs it) fails before staging when dist/ is missing', async () => {
    // Built as cdk.json builds it (the module format decides whether the gateway's code loads at all).
    const format = /--format=(\w+)/.exec(JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')).app)![1] as 'esm' | 'cjs';
    const app = join(root, 'node_modules/.cache/gatehouse', `cdk-app-bundle-test-${process.pid}.${format === 'esm' ? 'mjs' : 'cjs'}`);
    await build({ entryPoints: [join(root, 'stacks/aws/main.ts')], bundle: true, platform: 'node', format, target: 'node20', packages: 'external', outfile: app, logLevel: 'silent' });
    const context = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')).context;
    const run = (ctx: Record<string, unknown>) =>
      promisify(execFile)(process.execPath, [app], {
        cwd: dir,
        env: { PATH: process.env.PATH, NODE_PATH: join(root, 'node_modules'), CDK_CONTEXT_JSON: JSON.stringify(ctx), CDK_OUTDIR: join(dir, 'cdk.out') },
      });
    try {
      await expect(run(context)).rejects.toMatchObject({ stderr: expect.stringContaining('dist/gateway.mjs is missing: run `npm run build`') });
    } finally {
      rmSync(app, { force: true });
    }
  }, 60_000);
});
