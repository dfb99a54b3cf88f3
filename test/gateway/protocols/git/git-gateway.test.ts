import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEvents } from '../../../support/pg-gateway';
import { startGitHttpBackend, type GitHttpBackend } from '../../../support/git-http-backend';
import { startTestGateway, type TestGateway } from '../../../support/gateway';
import { startTestIssuer, type TestIssuer } from '../../../support/oidc-issuer';
import { GitWorld } from './real-git';

/**
 * The `git` connection kind end to end: the real git client, through the whole real gateway
 * (OIDC issuer, Cedar, recorder, state store), to a real upstream (`git http-backend`). The token
 * travels as git's credential-helper password; the upstream sees only the brokered credential.
 */
const POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("no-force")
@message("force pushes are not allowed here")
forbid (principal, action == Gatehouse::Action::"git:push:force", resource);

@id("release-needs-approval")
@decision("review")
@message("pushes to release need an approval")
permit (principal in Gatehouse::Group::"developers", action, resource) when { context has ref && context.ref == "refs/heads/release" };

@id("protected")
@message("refs/heads/protected is protected")
forbid (principal, action, resource) when { context has ref && context.ref == "refs/heads/protected" };
`;

const UPSTREAM_SECRET = 'upstream-pat-0123456789abcdef';
const BROKERED = `Basic ${Buffer.from(`x-access-token:${UPSTREAM_SECRET}`).toString('base64')}`;

let world: GitWorld;
let issuer: TestIssuer;
let backend: GitHttpBackend;
let gw: TestGateway;
let token: string;
let approver: string;
let upstreamRepo: string;
let remote: string;
let work: string;

type Event = { type: string; code: string; session: string; requestId?: string; payload: Record<string, unknown> };

beforeAll(async () => {
  world = new GitWorld();
  mkdirSync(join(world.dir, 'root', 'team'), { recursive: true });
  upstreamRepo = world.bare('root/team/app.git');
  const seed = world.work('seed');
  writeFileSync(join(seed, 'README.md'), 'hello\n');
  world.git(seed, 'add', 'README.md');
  world.git(seed, 'commit', '-q', '-m', 'readme');
  world.git(seed, 'push', '-q', upstreamRepo, 'main');
  issuer = await startTestIssuer();
  backend = await startGitHttpBackend({ root: join(world.dir, 'root'), authorization: BROKERED });
  process.env.GH_TEST_GIT_UPSTREAM = UPSTREAM_SECRET;
  gw = await startTestGateway((dir) => ({
    identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], algorithms: ['RS256'] }] },
    policy: { cedar: POLICY },
    approvals: { approverGroups: ['approvers'], pollIntervalMs: 100, timeoutSeconds: 60 },
    connections: [
      { name: 'code', kind: 'git', upstream: backend.url, credential: { type: 'basic', username: 'x-access-token', secret: 'env:GH_TEST_GIT_UPSTREAM' }, dataDir: join(dir, 'git') },
      // The same upstream with a small push bound: a push over it is refused before its head is decoded.
      // The same upstream, a push under review refused at once and let through when retried after the grant.
      { name: 'retry', kind: 'git', upstream: backend.url, credential: { type: 'basic', username: 'x-access-token', secret: 'env:GH_TEST_GIT_UPSTREAM' }, dataDir: join(dir, 'git-retry'), approvals: { mode: 'refuse-and-retry' } },
      { name: 'small', kind: 'git', upstream: backend.url, credential: { type: 'basic', username: 'x-access-token', secret: 'env:GH_TEST_GIT_UPSTREAM' }, dataDir: join(dir, 'git-small'), push: { maxPackBytes: 64 * 1024 } },
    ],
  }));
  token = await issuer.mintToken({ sub: 'ada', groups: ['developers'] }, { ttlSeconds: 600 });
  approver = await issuer.mintToken({ sub: 'grace', groups: ['approvers'] }, { ttlSeconds: 600 });
  remote = `${gw.url}/git/code/team/app.git`;
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await backend?.close();
  await issuer?.close();
  delete process.env.GH_TEST_GIT_UPSTREAM;
  world?.close();
});

/** git with the token supplied by a credential helper, as `gatehouse git-credential` does. */
function git(cwd: string, ...args: string[]) {
  return gitWith(token, cwd, ...args);
}

function gitWith(t: string | undefined, cwd: string, ...args: string[]) {
  const helper = t === undefined ? [] : ['-c', 'credential.helper=', '-c', `credential.helper=!f() { echo username=agent; echo password=${t}; }; f`];
  return world.gitAsync(cwd, ...helper, '-c', 'core.askPass=', ...args);
}

async function events(): Promise<Event[]> {
  await gw.gateway.recorder.flush();
  return (await readEvents(gw.gateway.sink)) as Event[];
}

const upstreamRef = (ref: string): string => {
  try {
    return execFileSync('git', ['--git-dir', upstreamRepo, 'rev-parse', '--verify', '-q', ref], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

function commit(name: string, content: string | Buffer, message: string): string {
  writeFileSync(join(work, name), content);
  world.git(work, 'add', name);
  world.git(work, 'commit', '-q', '-m', message);
  return world.git(work, 'rev-parse', 'HEAD');
}

describe('git over the gateway, with the real git client and git http-backend upstream', () => {
  it('clones (protocol v2) with the token from a credential helper; the upstream sees only the brokered credential', async () => {
    work = join(world.dir, 'work');
    const r = await git(world.dir, 'clone', '-q', remote, work);
    expect(r).toMatchObject({ code: 0 });
    expect(world.git(work, 'log', '-1', '--format=%s')).toBe('readme');
    expect(backend.received.length).toBeGreaterThan(0);
    for (const got of backend.received) expect(got.authorization).toBe(BROKERED);
    expect(backend.received.some((got) => got.protocol === 'version=2')).toBe(true);
    const all = await events();
    const fetches = all.filter((e) => e.type === 'git.fetch');
    expect(fetches.some((e) => e.payload.phase === 'rpc' && e.payload.command === 'fetch' && (e.payload.wants as string[]).length > 0)).toBe(true);
    // The clone's session is a git session (found by protocol in the console and CLI), not plain HTTP.
    const start = all.find((e) => e.type === 'session.start' && e.session === fetches[0]!.session)!;
    expect(start.payload).toMatchObject({ protocol: 'git' });
    expect(JSON.stringify(all)).not.toContain(UPSTREAM_SECRET);
    expect(JSON.stringify(all)).not.toContain(token);
  });

  it('asks git for credentials with a Basic challenge; without any it fails, with a bad token authentication fails', async () => {
    const none = await gitWith(undefined, world.dir, 'ls-remote', remote);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/could not read Username|Authentication failed/);
    const bad = await gitWith(`${token.slice(0, -4)}AAAA`, world.dir, 'ls-remote', remote);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Authentication failed/);
    // git's credential-less first request of each operation is a challenge, not a failure: only
    // the refused token is in the record (the clone before made its own challenge round too).
    const failures = (await events()).filter((e) => e.type === 'auth.failure');
    expect(failures.map((e) => e.payload.code)).toEqual(['GH_ERR_TOKEN_SIGNATURE']);
  });

  it('pushes a fast-forward, recorded as git.push with the ref update, commits and the pack hash and size', async () => {
    const tip = commit('a.txt', 'a\n', 'add a');
    const r = await git(work, 'push', '-q', 'origin', 'main');
    expect(r).toMatchObject({ code: 0 });
    expect(upstreamRef('refs/heads/main')).toBe(tip);
    const push = (await events()).filter((e) => e.type === 'git.push').at(-1)!;
    expect(push.payload).toMatchObject({ repository: 'team/app', refs: [{ ref: 'refs/heads/main', update: 'fast-forward', commits: 1, changedPaths: ['a.txt'], newId: tip }] });
    expect(push.payload.packSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(push.payload.packBytes).toBeGreaterThan(0);
  });

  it('refuses a force push by policy: git prints the reason, the upstream does not move', async () => {
    const before = upstreamRef('refs/heads/main');
    world.git(work, 'reset', '-q', '--hard', 'HEAD~1');
    commit('b.txt', 'b\n', 'rewrite');
    const r = await git(work, 'push', '--force', 'origin', 'main');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('[remote rejected] main -> main (force pushes are not allowed here');
    expect(upstreamRef('refs/heads/main')).toBe(before);
    const denied = (await events()).filter((e) => e.type === 'policy.denied').at(-1)!;
    expect(denied.payload).toMatchObject({ action: 'git:push:force', code: 'policy.forbid' });
    world.git(work, 'reset', '-q', '--hard', before);
  });

  it('refuses a protected branch, and an atomic push that includes it updates nothing', async () => {
    const r = await git(work, 'push', 'origin', 'main:refs/heads/protected');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('[remote rejected] main -> protected (refs/heads/protected is protected');
    const atomic = await git(work, 'push', '--atomic', 'origin', 'main:refs/heads/feature', 'main:refs/heads/protected');
    expect(atomic.code).not.toBe(0);
    expect(atomic.stderr).toContain('main -> feature (atomic push failure)');
    expect(upstreamRef('refs/heads/feature')).toBe('');
    expect(upstreamRef('refs/heads/protected')).toBe('');
  });

  it('answers a push refused before its command list is read in the band git negotiated: git prints the reason, not "bad band"', async () => {
    const before = upstreamRef('refs/heads/main');
    commit('noise.bin', randomBytes(200 * 1024), 'noise');
    const r = await git(work, 'push', `${gw.url}/git/small/team/app.git`, 'main');
    expect(r.code).not.toBe(0);
    expect(r.stderr).not.toContain('bad band');
    expect(r.stderr).toContain('! [remote rejected] main -> main (the request body is longer than the 65536 bytes');
    expect(upstreamRef('refs/heads/main')).toBe(before);
    world.git(work, 'reset', '-q', '--hard', before);
  });

  it('applies a non-atomic push ref by ref, as git does: the allowed ref is updated, the protected one refused, git prints both', async () => {
    // Past the 64 KiB body cap, so the pack is spooled to a file and the rewrite streams it from there.
    commit('partial.bin', randomBytes(160 * 1024), 'partial push');
    const tip = world.git(work, 'rev-parse', 'HEAD');
    const r = await git(work, 'push', 'origin', 'main:refs/heads/protected', 'main:refs/heads/feature2');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\* \[new branch\] +main -> feature2/);
    expect(r.stderr).toContain('! [remote rejected] main -> protected (refs/heads/protected is protected');
    expect(upstreamRef('refs/heads/feature2')).toBe(tip);
    expect(upstreamRef('refs/heads/protected')).toBe('');
    const all = await events();
    const partial = all.filter((e) => e.type === 'git.push.partial').at(-1)!;
    expect(partial.payload).toMatchObject({ repository: 'team/app', forwarded: ['refs/heads/feature2'], refused: [{ ref: 'refs/heads/protected' }] });
    expect(String((partial.payload.refused as { reason: string }[])[0].reason)).toContain('[policy.forbid]');
    const denied = all.filter((e) => e.type === 'policy.denied').at(-1)!;
    expect(denied.payload).toMatchObject({ action: 'git:push', code: 'policy.forbid' });
    expect(String(denied.payload.operation)).toContain('refs/heads/protected');
    const request = all.filter((e) => e.type === 'http.request').at(-1)!;
    expect(request.payload.decisions ?? [request.payload.decision]).toEqual([expect.objectContaining({ effect: 'allow' })]);
    // The judged (spooled) body is recorded by size and hash even though the dialect rewrote what was forwarded.
    const body = all.find((e) => e.type === 'http.request.body' && e.requestId === partial.requestId)!;
    expect(body.payload).toMatchObject({ size: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('pushes several refs atomically, tags, and deletes a ref', async () => {
    world.git(work, 'tag', '-a', '-m', 'release 1', 'v1');
    const tip = world.git(work, 'rev-parse', 'HEAD');
    const r = await git(work, 'push', '-q', '--atomic', 'origin', 'main:refs/heads/topic', 'refs/tags/v1');
    expect(r).toMatchObject({ code: 0 });
    expect(upstreamRef('refs/heads/topic')).toBe(tip);
    expect(upstreamRef('refs/tags/v1^{commit}')).toBe(tip);
    const del = await git(work, 'push', '-q', 'origin', ':refs/heads/topic');
    expect(del).toMatchObject({ code: 0 });
    expect(upstreamRef('refs/heads/topic')).toBe('');
    const pushes = (await events()).filter((e) => e.type === 'git.push');
    expect(pushes.at(-1)!.payload).toMatchObject({ refs: [{ ref: 'refs/heads/topic', update: 'delete' }] });
    expect(pushes.at(-1)!.payload.packSha256).toBeUndefined();
  });

  it('refuses a push that adds a secret, naming file, line and detector, never the value', async () => {
    const before = upstreamRef('refs/heads/main');
    const secret = `ghp_${'A1b2C3d4E5f6G7h8I9j0'.repeat(2).slice(0, 36)}`;
    commit('config.env', `NAME=app\nGITHUB_TOKEN=${secret}\n`, 'add config');
    const r = await git(work, 'push', 'origin', 'main');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\[remote rejected\] main -> main \(secret found: config\.env:2 \(/);
    expect(r.stderr).not.toContain(secret);
    expect(upstreamRef('refs/heads/main')).toBe(before);
    const all = await events();
    expect(JSON.stringify(all)).not.toContain(secret);
    expect(all.filter((e) => e.type === 'policy.denied').at(-1)!.payload).toMatchObject({ code: 'git.secret_found' });
    world.git(work, 'reset', '-q', '--hard', before);
  });

  it('holds a push that policy sends for review until an approver grants it, then it goes through', async () => {
    const tip = world.git(work, 'rev-parse', 'HEAD');
    const pushing = git(work, 'push', '-q', 'origin', 'main:refs/heads/release');
    const admin = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${gw.adminUrl}${path}`, { ...init, headers: { authorization: `Bearer ${approver}`, 'content-type': 'application/json' } });
      return (await res.json()) as { approvals?: { id: number; action: string; summary: string }[] };
    };
    let pending: { id: number; action: string; summary: string } | undefined;
    for (let i = 0; i < 400 && pending === undefined; i++) {
      pending = (await admin('/api/approvals?status=pending')).approvals?.find((a) => a.action === 'git:push' && a.summary.includes('refs/heads/release'));
      if (pending === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(pending).toBeDefined();
    // Nothing reached the upstream while the push waited.
    expect(upstreamRef('refs/heads/release')).toBe('');
    await admin(`/api/approvals/${pending!.id}/approve`, { method: 'POST', body: JSON.stringify({ reason: 'release OPS-7' }) });
    expect(await pushing).toMatchObject({ code: 0 });
    expect(upstreamRef('refs/heads/release')).toBe(tip);
    const types = (await events()).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['approval.requested', 'approval.granted']));
  });

  it('refuse-and-retry: refuses a push under review naming the approval; once granted, the identical push passes once', async () => {
    const retryRemote = `${gw.url}/git/retry/team/app.git`;
    const admin = (path: string) => fetch(`${gw.adminUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${approver}`, 'content-type': 'application/json' }, body: '{}' });
    const dir = world.work('retry');
    // On release where an earlier test made it (a fast-forward), else created from main: either is reviewed.
    const existing = upstreamRef('refs/heads/release');
    world.git(dir, 'fetch', '-q', upstreamRepo, existing === '' ? 'main' : 'release');
    world.git(dir, 'checkout', '-q', '-B', 'rr', 'FETCH_HEAD');
    const old = existing === '' ? '0'.repeat(40) : existing;
    const upstreamRelease = () => upstreamRef('refs/heads/release') || '0'.repeat(40);
    writeFileSync(join(dir, 'r.txt'), 'a\n');
    world.git(dir, 'add', 'r.txt');
    world.git(dir, 'commit', '-q', '-m', 'retry a');
    const a = world.git(dir, 'rev-parse', 'HEAD');
    const push = async (rev: string) => {
      const r = await gitWith(token, dir, 'push', '-q', retryRemote, `${rev}:refs/heads/release`);
      return { ...r, approval: /approval required: (\S+) \[approval\.required\]/.exec(r.stderr)?.[1] };
    };

    const first = await push(a);
    expect(first.code).not.toBe(0);
    expect(first.stderr).toContain('[remote rejected]');
    expect(first.approval).toMatch(/^ap/);
    expect(upstreamRelease()).toBe(old);
    // Retried before the grant: the same approval is named, not a second one asked for.
    expect((await push(a)).approval).toBe(first.approval);
    expect((await admin(`/api/approvals/${first.approval}/approve`)).status).toBe(200);
    expect(await push(a)).toMatchObject({ code: 0 });
    expect(upstreamRelease()).toBe(a);

    // The grant was used: the same update once more (the ref put back upstream) needs a new approval.
    execFileSync('git', ['--git-dir', upstreamRepo, 'update-ref', ...(existing === '' ? ['-d', 'refs/heads/release'] : ['refs/heads/release', old])]);
    const again = await push(a);
    expect(again.code).not.toBe(0);
    expect(again.approval).toMatch(/^ap/);
    expect(again.approval).not.toBe(first.approval);
    expect((await admin(`/api/approvals/${again.approval}/approve`)).status).toBe(200);
    // A push to another new id is not covered by that grant (and does not use it up).
    world.git(dir, 'commit', '-q', '--amend', '-m', 'retry b');
    const b = world.git(dir, 'rev-parse', 'HEAD');
    const other = await push(b);
    expect(other.code).not.toBe(0);
    expect([first.approval, again.approval]).not.toContain(other.approval);
    expect(upstreamRelease()).toBe(old);
    expect(await push(a)).toMatchObject({ code: 0 });
    expect(upstreamRelease()).toBe(a);

    const all = await events();
    const requested = all.filter((e) => e.type === 'approval.requested' && e.payload.approvalId === first.approval);
    expect(requested).toHaveLength(1);
    expect(requested[0]!.payload.operation).toContain(`${old.slice(0, 12)}..${a.slice(0, 12)} (1 commit)`);
    expect(all.filter((e) => e.type === 'approval.granted').map((e) => e.payload.approvalId)).toEqual(expect.arrayContaining([first.approval, again.approval]));
    expect(all.filter((e) => e.type === 'policy.denied' && e.payload.code === 'approval.required').length).toBeGreaterThanOrEqual(4);
    // Seven real pushes, each judged (mirror refresh, index-pack): more than the default 30 s on a loaded CI runner.
  }, 120_000);

  it('fetches what others pushed (upload-pack v2 fetch with haves)', async () => {
    const other = world.work('other');
    world.git(other, 'fetch', '-q', upstreamRepo, 'main');
    world.git(other, 'reset', '-q', '--hard', 'FETCH_HEAD');
    writeFileSync(join(other, 'c.txt'), 'c\n');
    world.git(other, 'add', 'c.txt');
    world.git(other, 'commit', '-q', '-m', 'from elsewhere');
    world.git(other, 'push', '-q', upstreamRepo, 'main');
    const r = await git(work, 'pull', '-q', '--ff-only', 'origin', 'main');
    expect(r).toMatchObject({ code: 0 });
    expect(world.git(work, 'log', '-1', '--format=%s')).toBe('from elsewhere');
  });

  it('streams a large pack (>= 50 MB) through, spooled to disk: the gateway process grows far less than the pack', async () => {
    commit('big.bin', randomBytes(52 * 1024 * 1024), 'big blob');
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const r = await git(work, 'push', '-q', 'origin', 'main');
    clearInterval(sampler);
    expect(r).toMatchObject({ code: 0 });
    expect(upstreamRef('refs/heads/main')).toBe(world.git(work, 'rev-parse', 'HEAD'));
    const push = (await events()).filter((e) => e.type === 'git.push').at(-1)!;
    expect(push.payload.packBytes as number).toBeGreaterThan(50 * 1024 * 1024);
    // Loose bound: the pack is never held in memory whole (the upstream server here is in-process too).
    expect(peak - before).toBeLessThan(48 * 1024 * 1024);
  }, 120_000);
});
