import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';

/**
 * `cdktf synth` runs cdktf.json's `app` command in the project directory; this runs exactly that
 * command. The reference stacks load the gateway's own configuration parser (and through it the
 * Cedar runtime, whose package is ES-module only): run as CommonJS, the app died on import, so
 * every `cdktf synth`/`deploy` failed while the stacks' own tests passed.
 */
const root = join(new URL('.', import.meta.url).pathname, '../..');

test('the app command in cdktf.json synthesizes the reference stacks', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gh-cdktf-app-'));
  try {
    const { app } = JSON.parse(readFileSync(join(root, 'cdktf.json'), 'utf8')) as { app: string };
    // GATEHOUSE_IMAGE_PREBUILT: this test is about the app loading and synthesizing, whatever
    // state dist/ is in; the bundle check has its own test (test/stacks/gateway-bundle.test.ts).
    await promisify(execFile)('/bin/sh', ['-c', app], { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, CDKTF_OUTDIR: out, GATEHOUSE_IMAGE_PREBUILT: '1' }, maxBuffer: 16 * 1024 * 1024 });
    const stacks = readdirSync(join(out, 'stacks'));
    expect(stacks.length).toBeGreaterThanOrEqual(1);
    for (const stack of stacks) expect(existsSync(join(out, 'stacks', stack, 'cdk.tf.json'))).toBe(true);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);
