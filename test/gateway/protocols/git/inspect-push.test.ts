import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { isGatehouseError } from '../../../../gateway/src/errors';
import { inspectPush, type PushInspection } from '../../../../gateway/src/protocols/git/inspect-push';
import { GitMirror } from '../../../../gateway/src/protocols/git/mirror';
import { decodeReceivePack, type ReceivePackRequest } from '../../../../gateway/src/protocols/git/receive-pack';
import { GitWorld } from './real-git';

/**
 * Ref updates classified and described by the system git, against real repositories: an
 * upstream, the gateway's mirror of it (refreshed before each push, as the gateway does), and a
 * client's work tree whose real `git push` bytes are captured on their way to the upstream.
 */
let world: GitWorld;
let upstream: string;
let work: string;
let mirror: GitMirror;

beforeAll(async () => {
  world = new GitWorld();
  upstream = world.bare('upstream.git');
  work = world.work('work');
  world.git(work, 'push', '-q', upstream, 'main');
  mirror = new GitMirror({ gitDir: join(world.dir, 'mirror.git'), upstreamUrl: upstream });
});
afterAll(() => world.close());

/** Refreshes the mirror, captures the real push, and inspects it. */
async function push(options: string[], refspecs: string[], pack?: (p: Buffer) => Buffer | Readable): Promise<{ inspection: PushInspection; request: ReceivePackRequest }> {
  await mirror.refresh();
  const body = world.capturePush(work, upstream, options, refspecs);
  const s = decodeReceivePack(body, true);
  if (s.status !== 'complete') throw new Error(`not decoded: ${JSON.stringify(s)}`);
  const rest = body.subarray(s.request.headLength);
  const inspection = await inspectPush({ mirrorDir: mirror.gitDir, scratchDir: join(world.dir, 'scratch'), request: s.request, pack: pack === undefined ? rest : pack(rest) });
  return { inspection, request: s.request };
}

function commitFile(name: string, content: string | Buffer, message: string): string {
  mkdirSync(dirname(join(work, name)), { recursive: true });
  writeFileSync(join(work, name), content);
  world.git(work, 'add', name);
  world.git(work, 'commit', '-q', '-m', message);
  return world.git(work, 'rev-parse', 'HEAD');
}

describe('push inspection with the system git', () => {
  it('proves a fast-forward and describes the commits it adds (paths, largest blob, people, unsigned)', async () => {
    commitFile('a.txt', 'hello\n', 'a');
    const tip = commitFile('dir/big.bin', Buffer.alloc(5000, 7), 'big');
    const { inspection } = await push([], ['main'], (p) => Readable.from([p.subarray(0, 10), p.subarray(10)]));
    expect(inspection.refs).toEqual([
      { ref: 'refs/heads/main', oldId: expect.any(String), newId: tip, kind: 'fast-forward', commits: 2, authors: ['Ada <ada@example.com>'], committers: ['Ada <ada@example.com>'], signed: false, changedPaths: ['a.txt', 'dir/big.bin'], pathsTruncated: false, largestBlob: 5000 },
    ]);
    expect(inspection.packBytes).toBeGreaterThan(0);
    expect(inspection.packSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('proves a rewrite of history a force push, and creations of a branch and an annotated tag in one atomic push', async () => {
    world.git(work, 'reset', '-q', '--hard', 'HEAD~1');
    const rewritten = commitFile('c.txt', 'rewritten\n', 'rewrite');
    world.git(work, 'tag', '-a', '-m', 'v1', 'v1');
    const { inspection, request } = await push(['--atomic', '--force'], ['main', 'main:refs/heads/topic', 'refs/tags/v1']);
    expect(request.atomic).toBe(true);
    const byRef = Object.fromEntries(inspection.refs.map((r) => [r.ref, r]));
    expect(byRef['refs/heads/main']).toMatchObject({ kind: 'force', newId: rewritten, commits: 1, changedPaths: ['c.txt'] });
    // the branch and the tag add nothing upstream lacks once main's commit is counted for main alone
    expect(byRef['refs/heads/topic']).toMatchObject({ kind: 'create', commits: 1 });
    expect(byRef['refs/tags/v1']).toMatchObject({ kind: 'create', commits: 1 });
  });

  it('classifies a delete-only push without a pack', async () => {
    const { inspection } = await push([], [':refs/heads/topic']);
    expect(inspection.refs).toEqual([expect.objectContaining({ ref: 'refs/heads/topic', kind: 'delete', commits: 0 })]);
    expect(inspection.packSha256).toBeUndefined();
  });

  it('tells signed commits from unsigned ones by their gpgsig header', async () => {
    const tree = world.git(work, 'rev-parse', 'HEAD^{tree}');
    const parent = world.git(work, 'rev-parse', 'HEAD');
    const raw = `tree ${tree}\nparent ${parent}\nauthor Bob <bob@example.com> 1700000000 +0000\ncommitter Ada <ada@example.com> 1700000000 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n -----END PGP SIGNATURE-----\n\nsigned\n`;
    writeFileSync(join(world.dir, 'signed-commit'), raw);
    const id = world.git(work, 'hash-object', '-t', 'commit', '-w', join(world.dir, 'signed-commit'));
    world.git(work, 'update-ref', 'refs/heads/main', id);
    const { inspection } = await push([], ['main']);
    expect(inspection.refs[0]).toMatchObject({ kind: 'fast-forward', commits: 1, signed: true, authors: ['Bob <bob@example.com>'], committers: ['Ada <ada@example.com>'], changedPaths: [] });
  });

  it('fails closed: a pack over its cap, a corrupt pack, an old value upstream never had, another object format', async () => {
    await mirror.refresh();
    commitFile('d.txt', 'd\n', 'd');
    const body = world.capturePush(work, upstream, [], ['main']);
    const s = decodeReceivePack(body, true);
    if (s.status !== 'complete') throw new Error('not decoded');
    const pack = body.subarray(s.request.headLength);
    const scratchDir = join(world.dir, 'scratch');
    const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (isGatehouseError(e) ? e.code : String(e)));
    expect(await codeOf(inspectPush({ mirrorDir: mirror.gitDir, scratchDir, request: s.request, pack, limits: { maxPackBytes: 10 } }))).toBe('GH_ERR_MESSAGE_TOO_LARGE');
    expect(await codeOf(inspectPush({ mirrorDir: mirror.gitDir, scratchDir, request: s.request, pack: Buffer.from('PACK garbage') }))).toBe('GH_ERR_GIT_INSPECTION_FAILED');
    const stale = { ...s.request, commands: [{ ...s.request.commands[0], oldId: 'f'.repeat(40) }] };
    expect(await codeOf(inspectPush({ mirrorDir: mirror.gitDir, scratchDir, request: stale, pack }))).toBe('GH_ERR_GIT_INSPECTION_FAILED');
    const sha256 = { ...s.request, objectFormat: 'sha256' as const };
    expect(await codeOf(inspectPush({ mirrorDir: mirror.gitDir, scratchDir, request: sha256, pack }))).toBe('GH_ERR_GIT_INSPECTION_FAILED');
    expect(await codeOf(inspectPush({ mirrorDir: mirror.gitDir, scratchDir, request: s.request, pack }))).toBe('resolved');
  });
});
