import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startEcho, type Upstream } from '../support/upstreams';
import { waitForLog } from '../support/gateway-process';

/**
 * The one bundle (`npm run build` → dist/) runs with plain `node` from a folder holding nothing
 * but a copy of dist/: no node_modules, no sources. It proxies a request, records it, shuts down
 * on SIGTERM with a final digest, and its own `verify` and `sessions` commands read the result.
 */
const run = promisify(execFile);
const root = join(new URL('.', import.meta.url).pathname, '../..');
const cleanEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir() };

describe('the esbuild bundle', () => {
  let dir: string;
  let echo: Upstream;

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist/gateway.mjs'))) await run(process.execPath, [join(root, 'gateway/build.mjs')], { cwd: root });
    dir = mkdtempSync(join(tmpdir(), 'gh-bundle-'));
    cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
    echo = await startEcho();
  }, 120_000);
  afterAll(async () => {
    await echo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const gatehouse = (args: string[]) => run(process.execPath, [join(dir, 'dist/gateway.mjs'), ...args], { cwd: dir, env: cleanEnv });

  test('--help prints the usage of the gatehouse command', async () => {
    const { stdout } = await gatehouse(['--help']);
    expect(stdout).toMatch(/^gatehouse \d+\.\d+\.\d+/);
    for (const command of ['dev', 'run --config FILE', 'check-config FILE', 'token [GATEWAY]', 'git-credential [GATEWAY] get', 'login GATEWAY', '--dev: a development token', 'verify PATH', 'sessions list']) expect(stdout).toContain(command);
  });

  test('an unknown command and bad flags fail with a message, not a stack trace', async () => {
    await expect(gatehouse(['frobnicate'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "frobnicate"') });
    await expect(gatehouse(['token', '--dev', '--bogus'])).rejects.toMatchObject({ code: 1, stderr: expect.not.stringContaining('    at ') });
  });

  test('proxies a request, records it, drains on SIGTERM and leaves a log its own verify accepts', async () => {
    const configPath = join(dir, 'gatehouse.yaml');
    writeFileSync(
      configPath,
      `mode: development
listeners:
  http: { address: 127.0.0.1, port: 0, allowPlaintext: true }
  admin: { address: 127.0.0.1, port: 0, allowPlaintext: true }
identity:
  devIssuer: { enabled: true, keyPath: ${dir}/dev-issuer.json }
policy:
  cedar: 'permit (principal in Gatehouse::Group::"developers", action, resource);'
connections:
  - { name: echo, kind: http, upstream: "${echo.url}", route: { pathPrefix: /echo }, credential: { type: bearer, secret: "env:BUNDLE_UPSTREAM_TOKEN" } }
recording:
  sink: { type: fs, path: ${dir}/log }
state:
  embeddedPath: ${dir}/state
`,
    );
    const child = spawn(process.execPath, [join(dir, 'dist/gateway.mjs'), 'run', '--config', configPath], {
      cwd: dir,
      env: { ...cleanEnv, BUNDLE_UPSTREAM_TOKEN: 'upstream-secret-xyz' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      const started = await waitForLog(child, 'gatehouse started', 60_000);
      const httpUrl = started.http as string;
      const { stdout: token } = await gatehouse(['token', '--dev', '--sub', 'ada', '--groups', 'developers', '--config', configPath]);
      const res = await fetch(`${httpUrl}/echo/hello`, { headers: { authorization: `Bearer ${token.trim()}` } });
      expect(res.status).toBe(200);
      await res.text();
      expect(echo.received.at(-1)?.headers.authorization).toBe('Bearer upstream-secret-xyz');

      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const verify = await gatehouse(['verify', join(dir, 'log'), '--trust-key', join(dir, 'dev-signing-key.pem.pub')]);
    expect(verify.stdout).toMatch(/^OK: log verified/);
    expect(verify.stdout).toMatch(/digests 1/);
    const { stdout: listed } = await gatehouse(['sessions', 'list', '--config', configPath, '--user', 'ada', '--json']);
    const sessions = JSON.parse(listed) as { id: string; status: string; requestCount: number }[];
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ status: 'closed', requestCount: 1 });
    const { stdout: exported } = await gatehouse(['sessions', 'export', sessions[0]!.id, '--config', configPath]);
    const transcript = JSON.parse(exported) as { events: { type: string }[]; session: { chain: { intact: boolean } } };
    expect(transcript.session.chain.intact).toBe(true);
    expect(transcript.events.map((e) => e.type)).toEqual(['session.start', 'http.request', 'http.response', 'session.end']);
  }, 120_000);

  test('the Dockerfile wraps exactly the bundle on a distroless Node base, as non-root', () => {
    const dockerfile = readFileSync(join(root, 'gateway/Dockerfile'), 'utf8');
    const instructions = dockerfile.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
    // The base is pinned by digest; test/packaging/image.test.ts builds and runs the image itself.
    expect(instructions.find((l) => l.startsWith('ARG BASE='))).toMatch(/distroless\/nodejs\d+-debian\d+:nonroot@sha256:[0-9a-f]{64}$/);
    expect(instructions.filter((l) => /^(COPY|ADD) /.test(l))).toEqual(['COPY --chown=65532:65532 dist/ /bundle/', 'COPY --from=bundle /bundle/ /app/']);
    expect(instructions.filter((l) => l.startsWith('USER '))).toEqual(['USER 65532:65532', 'USER 65532:65532']);
    expect(instructions).toContain('ENTRYPOINT ["/nodejs/bin/node", "/app/gateway.mjs"]');
  });
});
