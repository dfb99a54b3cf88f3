import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitConnectionSchema } from '../../../../gateway/src/config/schema';
import { gitDialect } from '../../../../gateway/src/protocols/git/dialect';
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
