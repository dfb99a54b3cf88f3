import { spawnSync } from 'node:child_process';
import { partialPush } from '../../../../gateway/src/protocols/git/partial-push';
import { decodeReceivePack, type ReceivePackRequest } from '../../../../gateway/src/protocols/git/receive-pack';
import { decodeReport, ReportMerger } from '../../../../gateway/src/protocols/git/report-status';
import { GitWorld } from './real-git';

/**
 * A non-atomic push forwarded in part, against the real `git receive-pack --stateless-rpc` (what
 * `git http-backend` runs): the rewritten request is one receive-pack accepts and applies to
 * exactly the kept refs, and its answer, merged with the refused refs' lines, names every ref.
 */
let world: GitWorld;
beforeAll(() => {
  world = new GitWorld();
});
afterAll(() => world.close());

function decoded(body: Buffer): ReceivePackRequest {
  const state = decodeReceivePack(body, true);
  if (state.status !== 'complete') throw new Error(`not a push: ${JSON.stringify(state)}`);
  return state.request;
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of source) out.push(c);
  return Buffer.concat(out);
}

/** Chunks of `size` bytes, as a stream would bring them. */
async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

function receivePack(repo: string, body: Buffer): Buffer {
  const r = spawnSync('git', ['receive-pack', '--stateless-rpc', repo], { input: body, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: world.dir } });
  if (r.status !== 0) throw new Error(`receive-pack failed: ${r.stderr.toString()}`);
  return r.stdout;
}

const rev = (repo: string, ref: string): string => {
  try {
    return world.git(repo, 'rev-parse', '--verify', '-q', ref);
  } catch {
    return '';
  }
};

describe('a non-atomic push forwarded in part', () => {
  it('drops the refused first command (its capabilities move to the next), keeps the options and the pack as sent; receive-pack updates only the kept refs', async () => {
    const work = world.work('w1');
    world.git(work, 'branch', 'b');
    world.git(work, 'branch', 'c');
    const capture = world.bare('capture1.git');
    const body = world.capturePush(work, capture, ['-o', 'reason=test'], ['main', 'b', 'c']);
    const push = decoded(body);
    expect(push.commands.map((c) => c.ref)).toEqual(['refs/heads/main', 'refs/heads/b', 'refs/heads/c']);
    expect(push.sideBand).toBe('side-band-64k');
    const first = push.commands[0].ref;
    const p = partialPush(push, body.subarray(0, push.headLength), [first], body.length);
    const sent = await collect(p.body(chunked(body, 7)));
    expect(sent.length).toBe(p.size);
    const again = decoded(sent);
    expect(again.commands.map((c) => c.ref)).toEqual(['refs/heads/b', 'refs/heads/c']);
    expect(again.capabilities).toEqual(push.capabilities);
    expect(again.pushOptions).toEqual(['reason=test']);
    expect(sent.subarray(again.headLength)).toEqual(body.subarray(push.headLength));

    const upstream = world.bare('up1.git');
    world.git(upstream, 'config', 'receive.advertisePushOptions', 'true');
    const answer = receivePack(upstream, sent);
    expect(rev(upstream, 'refs/heads/b')).toBe(rev(work, 'main'));
    expect(rev(upstream, 'refs/heads/c')).toBe(rev(work, 'main'));
    expect(rev(upstream, first)).toBe('');

    // The answer, merged: the upstream's own lines, then the refused ref's, fed a byte at a time.
    const merger = new ReportMerger(push.sideBand, [{ ref: first, reason: 'protected [policy.forbid]' }]);
    const merged = Buffer.concat([...answer].map((b) => merger.push(Buffer.from([b]))).concat(merger.end()));
    expect(decodeReport(merged, push.sideBand)).toEqual({
      unpack: 'ok',
      refs: [
        { ref: 'refs/heads/b', ok: true },
        { ref: 'refs/heads/c', ok: true },
        { ref: first, ok: false, reason: 'protected [policy.forbid]' },
      ],
    });
  });

  it('a kept list of deletes only is forwarded without the pack, as receive-pack expects', async () => {
    const work = world.work('w2');
    const upstream = world.bare('up2.git');
    world.git(work, 'branch', 'old');
    world.git(work, 'push', '-q', upstream, 'main', 'old');
    world.git(work, 'commit', '-q', '--allow-empty', '-m', 'second');
    const capture = world.bare('capture2.git');
    world.git(work, 'push', '-q', capture, 'old');
    const body = world.capturePush(work, capture, [], ['main:refs/heads/new', ':refs/heads/old']);
    const push = decoded(body);
    expect(push.deleteOnly).toBe(false);
    const p = partialPush(push, body.subarray(0, push.headLength), ['refs/heads/new'], body.length);
    const sent = await collect(p.body(chunked(body, 4096)));
    expect(sent).toEqual(p.head);
    expect(decoded(sent)).toMatchObject({ deleteOnly: true, commands: [{ ref: 'refs/heads/old', kind: 'delete' }] });
    receivePack(upstream, sent);
    expect(rev(upstream, 'refs/heads/old')).toBe('');
    expect(rev(upstream, 'refs/heads/new')).toBe('');
  });

  it('the merger passes what is not a report unchanged (the refused refs then get no line, which git reports as a failure)', () => {
    const merger = new ReportMerger('none', [{ ref: 'refs/heads/x', reason: 'no' }]);
    const bytes = Buffer.from('0019ERR upstream is sad\n');
    expect(Buffer.concat([merger.push(bytes), merger.end()])).toEqual(bytes);
    const banded = new ReportMerger('side-band-64k', [{ ref: 'refs/heads/x', reason: 'no' }]);
    const progress = Buffer.from('000e\x02progress\n0000');
    expect(Buffer.concat([banded.push(progress), banded.end()])).toEqual(progress);
  });
});
