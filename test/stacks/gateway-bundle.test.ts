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

  // Issue 17: the Azure and Google Cloud images are built from this tree by `az acr build` and
  // `gcloud builds submit`, which upload dist/ as it is; nothing checked it before.
  const buildEntry = async (entry: string, name: string): Promise<string> => {
    const out = join(root, 'node_modules/.cache/gatehouse', `${name}-${process.pid}.mjs`);
    await build({ entryPoints: [join(root, entry)], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile: out, logLevel: 'silent' });
    return out;
  };

  test('the reference CDKTF app (Azure, Google Cloud) refuses to synthesize when dist/ is missing, saying to rebuild and push the image (test/stacks/cdktf-app.test.ts synthesizes with GATEHOUSE_IMAGE_PREBUILT=1)', async () => {
    // The app command cdktf.json runs, built the same way (esm, packages external).
    expect(JSON.parse(readFileSync(join(root, 'cdktf.json'), 'utf8')).app).toContain('esbuild stacks/cdktf-main.ts');
    const app = await buildEntry('stacks/cdktf-main.ts', 'cdktf-app-bundle-test');
    writeFileSync(join(dir, 'cdktf.json'), readFileSync(join(root, 'cdktf.json')));
    const run = () => promisify(execFile)(process.execPath, [app], { cwd: dir, env: { PATH: process.env.PATH, CDKTF_OUTDIR: join(dir, 'cdktf.out') }, maxBuffer: 16 * 1024 * 1024 });
    try {
      await expect(run()).rejects.toMatchObject({ stderr: expect.stringMatching(/dist\/gateway\.mjs is missing: run `npm run build`, then build and push the image again/) });
      at(dir, 'dist/gateway.mjs', 1_000_050); // older than gateway/src/recording/recorder.ts
      await expect(run()).rejects.toMatchObject({ stderr: expect.stringContaining('is older than gateway/src/recording/recorder.ts') });
    } finally {
      rmSync(app, { force: true });
    }
  }, 120_000);

  test('npm run image:check says whether the image about to be built would carry a missing or stale bundle', async () => {
    const script = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts['image:check'] as string;
    expect(script).toContain('stacks/image-check.ts');
    const check = await buildEntry('stacks/image-check.ts', 'image-check-test');
    const run = () => promisify(execFile)(process.execPath, [check], { cwd: dir, env: { PATH: process.env.PATH } });
    try {
      await expect(run()).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('dist/gateway.mjs is missing: run `npm run build` before building the image') });
      at(dir, 'dist/gateway.mjs', 1_000_200);
      await expect(run()).resolves.toMatchObject({ stdout: expect.stringContaining('dist/gateway.mjs is newer than every gateway source') });
    } finally {
      rmSync(check, { force: true });
    }
  }, 60_000);
});
