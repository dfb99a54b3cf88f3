import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { gitConnectionSchema } from '../../../../gateway/src/config/schema';
import { gitDialect } from '../../../../gateway/src/protocols/git/dialect';
import { GitMirror } from '../../../../gateway/src/protocols/git/mirror';
import { MirrorStore } from '../../../../gateway/src/protocols/git/mirror-store';
import type { HttpRequestHead } from '../../../../gateway/src/protocols/kit/http-dialect';
import { startGitHttpBackend, type GitHttpBackend } from '../../../support/git-http-backend';
import { GitWorld } from './real-git';

/**
 * The per-repository mirror a git connection keeps to prove pushes: its fetches from an https
 * upstream trust the connection's `upstreamCa` as the proxied requests do (a real `git
 * http-backend` behind TLS with a certificate no system root knows).
 */
let world: GitWorld;
let backend: GitHttpBackend;
let work: string;
let capture: string;
let certPath: string;

beforeAll(async () => {
  world = new GitWorld();
  certPath = join(world.dir, 'cert.pem');
  const keyPath = join(world.dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
  const upstream = world.bare('root/team/app.git');
  work = world.work('work');
  world.git(work, 'push', '-q', upstream, 'main');
  // The push is captured against a copy, so the upstream still has the old value when it is judged.
  capture = join(world.dir, 'capture.git');
  world.git(world.dir, 'clone', '-q', '--bare', upstream, capture);
  backend = await startGitHttpBackend({ root: join(world.dir, 'root'), tls: { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') } });
});
afterAll(async () => {
  await backend?.close();
  delete process.env.GH_TEST_GIT_CA;
  world?.close();
});

/** The git dialect's judgment of a real captured push, as the exchange calls it. */
async function inspect(connection: Record<string, unknown>, body: Buffer) {
  const dialect = gitDialect(gitConnectionSchema.parse({ name: 'code', kind: 'git', upstream: backend.url, ...connection }), { secrets: { get: async (ref: string) => process.env[ref.slice(4)] ?? '' } });
  const recorded: { type: string; payload: Record<string, unknown> }[] = [];
  const head = { method: 'POST', routedPath: '/team/app.git/git-receive-pack', params: {}, headers: {}, record: (type: string, payload: Record<string, unknown>) => recorded.push({ type, payload }) } as unknown as HttpRequestHead;
  const sha256 = createHash('sha256').update(body).digest('hex');
  return dialect.inspect!(head, { prefix: body, file: undefined, size: body.length, sha256 }, new AbortController().signal);
}

describe('git mirror', () => {
  let push: Buffer;
  beforeAll(() => {
    writeFileSync(join(work, 'a.txt'), 'a\n');
    world.git(work, 'add', 'a.txt');
    world.git(work, 'commit', '-q', '-m', 'a');
    push = world.capturePush(work, capture, [], ['main']);
  });

  it('fetches from an https upstream trusting the connection’s upstreamCa (a secret reference), so the push is proven', async () => {
    process.env.GH_TEST_GIT_CA = readFileSync(certPath, 'utf8');
    const ops = await inspect({ upstreamCa: 'env:GH_TEST_GIT_CA', dataDir: join(world.dir, 'data-ca') }, push);
    expect(ops).toEqual([expect.objectContaining({ action: 'git:push', attributes: expect.objectContaining({ ref: 'refs/heads/main', update: 'fast-forward', commits: 1 }) })]);
  });

  it('without upstreamCa the same upstream is not trusted: the push cannot be judged and is refused (fail closed)', async () => {
    await expect(inspect({ dataDir: join(world.dir, 'data-none') }, push)).rejects.toMatchObject({ code: 'GH_ERR_GIT_INSPECTION_FAILED' });
  });
});

describe('git mirror store: bounded disk use', () => {
  let root: string;
  const upstreams: Record<string, string> = {};
  beforeAll(() => {
    root = join(world.dir, 'store-upstreams');
    for (const name of ['one', 'two', 'three']) {
      upstreams[name] = world.bare(`store-upstreams/${name}.git`);
      world.git(work, 'push', '-q', upstreams[name]!, 'main');
    }
  });

  function store(dataDir: string, bounds: { maxBytes?: number; maxRepositories?: number }, clock: { t: number }) {
    return new MirrorStore({ dataDir, ...bounds, now: () => clock.t, create: (repository, gitDir) => new GitMirror({ gitDir, upstreamUrl: join(root, `${repository}.git`) }) });
  }

  /** Leases, refreshes and releases the mirror of `repository`, as a push's judgment does. */
  async function use(s: MirrorStore, repository: string, clock: { t: number }): Promise<string> {
    clock.t++;
    const lease = await s.lease(repository);
    await lease.mirror.refresh();
    await s.refreshed(lease.mirror);
    await lease.release();
    return lease.mirror.gitDir;
  }

  it('keeps at most maxRepositories mirrors, removing the least recently used', async () => {
    const clock = { t: 0 };
    const s = store(join(world.dir, 'store-a'), { maxRepositories: 2 }, clock);
    const one = await use(s, 'one', clock);
    const two = await use(s, 'two', clock);
    await use(s, 'one', clock);
    const three = await use(s, 'three', clock);
    expect([existsSync(one), existsSync(two), existsSync(three)]).toEqual([true, false, true]);
    expect(s.usage().repositories).toBe(2);
  });

  it('keeps the mirrors within maxBytes, but never removes one a push is using', async () => {
    const clock = { t: 0 };
    const s = store(join(world.dir, 'store-b'), { maxBytes: 1 }, clock);
    const held = await s.lease('one');
    await held.mirror.refresh();
    await s.refreshed(held.mirror);
    // Over the bound, but in use: kept.
    expect(existsSync(held.mirror.gitDir)).toBe(true);
    const two = await use(s, 'two', clock);
    expect(existsSync(two)).toBe(false);
    expect(existsSync(held.mirror.gitDir)).toBe(true);
    await held.release();
    await use(s, 'three', clock);
    expect(existsSync(held.mirror.gitDir)).toBe(false);
    expect(s.usage().repositories).toBe(0);
  });

  it('on start removes the quarantines and spooled bodies an earlier run left (never this run\'s first spooled push), and adopts its mirrors within the bounds', async () => {
    const dataDir = join(world.dir, 'store-c');
    const clock = { t: 0 };
    const before = store(dataDir, {}, clock);
    const one = await use(before, 'one', clock);
    const two = await use(before, 'two', clock);
    utimesSync(one, new Date(1000), new Date(1000));
    mkdirSync(join(dataDir, 'quarantine', 'quarantine-x1', 'objects'), { recursive: true });
    mkdirSync(join(dataDir, 'gatehouse-spool-x2'), { recursive: true });
    writeFileSync(join(dataDir, 'gatehouse-spool-x2', 'body'), 'left over');
    mkdirSync(join(dataDir, 'spool', 'run-1-earlier', 'gatehouse-spool-x3'), { recursive: true });
    const after = store(dataDir, { maxRepositories: 1 }, clock);
    // The first push of this run spools its body before its lease starts the store: it must survive.
    await mkdir(after.runSpoolDir, { recursive: true });
    const firstPush = await mkdtemp(join(after.runSpoolDir, 'gatehouse-spool-'));
    writeFileSync(join(firstPush, 'body'), 'this run');
    await after.start();
    expect(existsSync(join(dataDir, 'quarantine', 'quarantine-x1'))).toBe(false);
    expect(existsSync(join(dataDir, 'gatehouse-spool-x2'))).toBe(false);
    expect(existsSync(join(dataDir, 'spool', 'run-1-earlier'))).toBe(false);
    expect(existsSync(join(firstPush, 'body'))).toBe(true);
    // The older mirror (by modification time) goes; the newer one is adopted and reused.
    expect([existsSync(one), existsSync(two)]).toEqual([false, true]);
    expect(after.usage().repositories).toBe(1);
    expect(after.usage().bytes).toBeGreaterThan(0);
  });
});
