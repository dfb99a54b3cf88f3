import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * gateway/Dockerfile built with podman (Debian's package; .ci/run installs it) against a base made
 * here from this machine's node binary and its libraries, laid out as distroless lays it out
 * (/nodejs/bin/node, user 65532), because no registry but npm's can be reached. The base is
 * referred to by digest, as the Dockerfile's default is.
 */
const execRaw = promisify(execFile);
const root = join(new URL('.', import.meta.url).pathname, '../..');
const exec = async (file: string, args: string[], timeout = 180_000): Promise<{ stdout: string; stderr: string; code: number }> => {
  try {
    const { stdout, stderr } = await execRaw(file, args, { cwd: root, timeout, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const { stdout = '', stderr = '', code } = e as { stdout?: string; stderr?: string; code?: number | string };
    if (typeof code !== 'number') throw new Error(`${file} ${args.join(' ')}: ${String(code)}\n${stderr}`);
    return { stdout, stderr, code };
  }
};
// runc, not crun: crun refuses this machine's hybrid cgroups; runc needs explicit limits here.
const RUNTIME = ['--runtime', 'runc', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
const tag = `${process.pid}-${Date.now()}`;
const BASE = `localhost/gatehouse-test-base:${tag}`;
const IMAGE = `localhost/gatehouse-test:${tag}`;
const IMAGE_MAPS = `localhost/gatehouse-test-maps:${tag}`;
const CONTEXT_PROBE = `localhost/gatehouse-test-context:${tag}`;
const CONTAINER = `gatehouse-test-${tag}`;

const podman = async (args: string[], timeout?: number) => {
  const r = await exec('podman', args, timeout);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return r.stdout;
};
const run = (image: string, args: string[], entrypoint?: string) =>
  exec('podman', ['run', '--rm', '--network', 'none', ...RUNTIME, ...(entrypoint ? ['--entrypoint', entrypoint] : []), image, ...args], 60_000);
const listApp = async (image: string) =>
  JSON.parse((await run(image, ['-e', "console.log(JSON.stringify(require('fs').readdirSync('/app')))"], '/nodejs/bin/node')).stdout) as string[];

/** A distroless-shaped root filesystem: node, the libraries it links, /etc/passwd with nonroot, /tmp. */
async function makeBase(work: string): Promise<string> {
  const fs = join(work, 'rootfs');
  const node = process.execPath;
  mkdirSync(join(fs, 'nodejs/bin'), { recursive: true });
  cpSync(node, join(fs, 'nodejs/bin/node'));
  const { stdout } = await exec('ldd', [node]);
  for (const lib of stdout.match(/\/\S+\.so[.\d]*/g) ?? []) {
    mkdirSync(join(fs, dirname(lib)), { recursive: true });
    cpSync(lib, join(fs, lib), { dereference: true });
  }
  mkdirSync(join(fs, 'etc'));
  writeFileSync(join(fs, 'etc/passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
  writeFileSync(join(fs, 'etc/group'), 'root:x:0:\nnonroot:x:65532:\n');
  mkdirSync(join(fs, 'tmp'));
  chmodSync(join(fs, 'tmp'), 0o1777);
  await exec('tar', ['-C', fs, '-cf', join(work, 'rootfs.tar'), '.']);
  await podman(['import', '--change', 'USER 65532:65532', join(work, 'rootfs.tar'), BASE]);
  const digest = (await podman(['image', 'inspect', '--format', '{{.Digest}}', BASE])).trim();
  expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  return `localhost/gatehouse-test-base@${digest}`;
}

const build = (base: string, image: string, extra: string[] = [], dockerfile = 'gateway/Dockerfile') =>
  // --layers=false: no intermediate images are left behind on the machine.
  podman(['build', '--quiet', '--layers=false', '--format', 'docker', ...RUNTIME, '--build-arg', `BASE=${base}`, ...extra, '-f', dockerfile, '-t', image, root], 300_000);

describe('the gateway image', () => {
  let work: string;

  beforeAll(async () => {
    const version = await exec('podman', ['--version']).catch(() => undefined);
    if (!version || version.code !== 0) throw new Error('podman is missing: apt-get install -y podman runc (.ci/run installs it)');
    if (!existsSync(join(root, 'dist/gateway.mjs'))) await exec(process.execPath, [join(root, 'gateway/build.mjs')]);
    work = mkdtempSync(join(tmpdir(), 'gh-image-'));
    const base = await makeBase(work);
    await build(base, IMAGE);
    await build(base, IMAGE_MAPS, ['--build-arg', 'SOURCE_MAPS=true']);
    // What the build context holds under the repository's .dockerignore.
    writeFileSync(join(work, 'Context.Dockerfile'), 'ARG BASE\nFROM ${BASE}\nCOPY . /app/context/\n');
    await build(base, CONTEXT_PROBE, [], join(work, 'Context.Dockerfile'));
  }, 600_000);

  afterAll(async () => {
    await exec('podman', ['rm', '--force', '--time', '0', CONTAINER]).catch(() => undefined);
    await exec('podman', ['rmi', '--force', IMAGE, IMAGE_MAPS, CONTEXT_PROBE, BASE]).catch(() => undefined);
    if (work) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  test('`run IMAGE --help` prints the gateway help: the entrypoint is the gateway, not node', async () => {
    const r = await run(IMAGE, ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^gatehouse \d+\.\d+\.\d+ /);
    expect(r.stdout).toContain('health');
  });

  test('runs as nonroot with a HEALTHCHECK that runs the gateway health command', async () => {
    const config = JSON.parse(await podman(['image', 'inspect', '--format', '{{json .Config}}', IMAGE]));
    expect(config.User).toBe('65532:65532');
    expect(config.Entrypoint).toEqual(['/nodejs/bin/node', '/app/gateway.mjs']);
    expect(config.Cmd).toEqual(['run']);
    const healthcheck = JSON.parse(await podman(['image', 'inspect', '--format', '{{json .HealthCheck}}', IMAGE]));
    expect(healthcheck.Test).toEqual(['CMD', '/nodejs/bin/node', '/app/gateway.mjs', 'health', '--timeout', '4']);
  });

  test('holds the bundle without source maps unless SOURCE_MAPS=true is asked for', async () => {
    const plain = await listApp(IMAGE);
    expect(plain).toContain('gateway.mjs');
    expect(plain).toContain('cedar_wasm_bg.wasm');
    // The AWS kit's state.caCert (constructs/core/image-files.ts: /app/aws-rds-ca.pem), with its licence.
    expect(plain).toEqual(expect.arrayContaining(['aws-rds-ca.pem', 'aws-rds-ca.pem.LICENSE.txt']));
    expect(plain.filter((f) => f.endsWith('.map'))).toEqual([]);
    const withMaps = await listApp(IMAGE_MAPS);
    expect(withMaps).toContain('gateway.mjs.map');
  });

  test('.dockerignore lets only dist/ and gateway/Dockerfile into the build context', async () => {
    const { stdout } = await run(
      CONTEXT_PROBE,
      ['-e', "const fs = require('fs'); console.log(JSON.stringify([fs.readdirSync('/app/context').sort(), fs.readdirSync('/app/context/gateway')]))"],
      '/nodejs/bin/node',
    );
    expect(JSON.parse(stdout)).toEqual([['dist', 'gateway'], ['Dockerfile']]);
  });

  test('a started gateway turns healthy; the health command fails where nothing answers', async () => {
    const yaml = [
      'mode: development',
      'listeners:',
      '  http: { address: 127.0.0.1, port: 8443, allowPlaintext: true }',
      '  admin: { address: 0.0.0.0, port: 9090, allowPlaintext: true }',
      'identity:',
      '  devIssuer: { enabled: true, keyPath: /tmp/dev-issuer.json }',
      'recording:',
      '  sink: { type: fs, path: /tmp/log }',
      'state:',
      '  embeddedPath: /tmp/state',
    ].join('\n');
    // No timer (this host has no systemd): the check is run on demand below.
    await podman(['run', '--detach', '--name', CONTAINER, '--network', 'none', ...RUNTIME, '--health-interval', 'disable', '-e', `GATEHOUSE_CONFIG_YAML=${yaml}`, IMAGE]);
    let last = { code: -1, stdout: '', stderr: '' };
    for (let attempt = 0; attempt < 60; attempt++) {
      last = await exec('podman', ['healthcheck', 'run', CONTAINER], 30_000);
      if (last.code === 0) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (last.code !== 0) throw new Error(`never healthy: ${last.stdout}${last.stderr}\n${(await exec('podman', ['logs', CONTAINER])).stderr}`);
    const probe = await exec('podman', ['exec', CONTAINER, '/nodejs/bin/node', '/app/gateway.mjs', 'health', '--url', 'http://127.0.0.1:9/healthz'], 30_000);
    expect(probe.code).toBe(1);
    expect(probe.stderr).toContain('ECONNREFUSED');
  }, 120_000);
});
