import type { ChildProcess } from 'node:child_process';

/** Resolves with the first JSON log line (stderr) of a gateway process whose msg is `msg`. */
export function waitForLog(child: ChildProcess, msg: string, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`no "${msg}" log line within ${timeoutMs} ms:\n${buffer}`)), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (const line of buffer.split('\n')) {
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry.msg === msg) {
            clearTimeout(timer);
            resolve(entry);
          }
        } catch {
          // partial or non-JSON line
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`gateway exited (${code}) before "${msg}":\n${buffer}`)));
  });
}

/**
 * Builds the gateway bundle into `dir/dist` the way build.mjs does (dist/ belongs to
 * `npm run build`), with its runtime assets, so tests can run real gateway processes with `node`.
 */
export async function buildGatewayBundle(dir: string): Promise<string> {
  const { build } = await import('esbuild');
  const { chmodSync, cpSync, existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const root = join(new URL('.', import.meta.url).pathname, '../..');
  const { gatewayBundleOptions } = (await import(join(root, 'gateway/bundle-options.mjs'))) as { gatewayBundleOptions: (root: string, outdir: string) => Parameters<typeof build>[0] };
  await build({ ...gatewayBundleOptions(root, join(dir, 'dist')), logLevel: 'error' });
  const { assets, programs } = (await import(join(root, 'gateway/assets.mjs'))) as { assets: [string, string][]; programs: [string, string][] };
  for (const [from, to] of assets) if (existsSync(join(root, 'node_modules', from))) cpSync(join(root, 'node_modules', from), join(dir, 'dist', to));
  for (const [from, to] of programs) {
    cpSync(join(root, from), join(dir, 'dist', to));
    chmodSync(join(dir, 'dist', to), 0o755);
  }
  return join(dir, 'dist/gateway.mjs');
}

/** Runs `node <bundle> <args>` in `cwd`, stderr piped (JSON logs), with a minimal environment. */
export async function spawnGateway(bundle: string, args: readonly string[], cwd: string): Promise<ChildProcess> {
  const { spawn } = await import('node:child_process');
  const { tmpdir } = await import('node:os');
  return spawn(process.execPath, [bundle, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the exit code (or signal) once the child is gone; SIGKILL after `graceMs`. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<number | string | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode ?? child.signalCode);
    child.once('exit', (code, sig) => resolve(code ?? sig));
    child.kill(signal);
    if (signal !== 'SIGKILL') setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
  });
}
