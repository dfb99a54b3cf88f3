import { decodeReceivePack, ReceivePackDecoder, type ReceivePackState } from '../../../../gateway/src/protocols/git/receive-pack';
import { encodePktLine, FLUSH_PKT } from '../../../../gateway/src/protocols/git/pkt-line';
import { GitWorld } from './real-git';

const Z = '0'.repeat(40);
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const pkt = encodePktLine;

function head(lines: (string | Buffer)[], ...after: Buffer[]): Buffer {
  return Buffer.concat([...lines.map((l) => pkt(l)), FLUSH_PKT, ...after]);
}

function byteByByte(bytes: Buffer): { states: ReceivePackState['status'][]; last: ReceivePackState; rest: Buffer } {
  const d = new ReceivePackDecoder();
  const states: ReceivePackState['status'][] = [];
  let last: ReceivePackState = { status: 'incomplete' };
  for (const b of bytes) {
    last = d.feed(Buffer.from([b]));
    if (states[states.length - 1] !== last.status) states.push(last.status);
  }
  return { states, last, rest: d.rest() };
}

let world: GitWorld;
beforeAll(() => {
  world = new GitWorld();
});
afterAll(() => world.close());

describe('receive-pack request decoder', () => {
  it('decodes the real client: commands, capabilities, atomic, push options, then the pack untouched', () => {
    const remote = world.bare('r1.git');
    const work = world.work('w1');
    world.git(work, 'branch', 'topic');
    const body = world.capturePush(work, remote, ['--atomic', '-o', 'ci.skip', '-o', 'reason=test'], ['main', 'topic']);
    const { states, last, rest } = byteByByte(body);
    expect(states).toEqual(['incomplete', 'complete']);
    if (last.status !== 'complete') throw new Error('not complete');
    const r = last.request;
    const tip = world.git(work, 'rev-parse', 'main');
    expect(r.commands).toEqual([
      { oldId: Z, newId: tip, ref: 'refs/heads/main', kind: 'create' },
      { oldId: Z, newId: tip, ref: 'refs/heads/topic', kind: 'create' },
    ]);
    expect(r.atomic).toBe(true);
    expect(r.report).toBe('report-status-v2');
    expect(r.sideBand).toBe('side-band-64k');
    expect(r.pushOptions).toEqual(['ci.skip', 'reason=test']);
    expect(r.deleteOnly).toBe(false);
    expect(rest.subarray(0, 4).toString('latin1')).toBe('PACK');
    expect(r.headLength + rest.length).toBe(body.length);
  });

  it('decodes a real delete-only push: no pack follows', () => {
    const remote = world.bare('r2.git');
    const work = world.work('w2');
    world.git(work, 'push', '-q', remote, 'main', 'main:refs/heads/old');
    const body = world.capturePush(work, remote, [], [':refs/heads/old']);
    const s = decodeReceivePack(body, true);
    expect(s.status).toBe('complete');
    if (s.status !== 'complete') return;
    expect(s.request.commands).toEqual([{ oldId: world.git(work, 'rev-parse', 'main'), newId: Z, ref: 'refs/heads/old', kind: 'delete' }]);
    expect(s.request.deleteOnly).toBe(true);
    expect(s.request.atomic).toBe(false);
    expect(s.request.headLength).toBe(body.length);
  });

  it('classifies updates and keeps shallow lines', () => {
    const s = decodeReceivePack(head([`shallow ${B}`, `${A} ${B} refs/heads/main\0report-status`, `${A} ${Z} refs/tags/v1`]), false);
    expect(s).toMatchObject({ status: 'complete', request: { shallow: [B], report: 'report-status', sideBand: 'none', commands: [{ kind: 'update' }, { kind: 'delete' }] } });
  });

  it('is incomplete until the flush, and invalid when the body ends before it', () => {
    const partial = pkt(`${A} ${B} refs/heads/main\0report-status`);
    expect(decodeReceivePack(partial, false).status).toBe('incomplete');
    expect(decodeReceivePack(partial, true)).toEqual({ status: 'invalid', reason: 'the request ends inside its command list' });
  });

  it('reads push options only when the client asked for them', () => {
    const opts = decodeReceivePack(head([`${A} ${B} refs/heads/main\0push-options`], pkt('x=1'), FLUSH_PKT), false);
    expect(opts).toMatchObject({ status: 'complete', request: { pushOptions: ['x=1'] } });
    const none = decodeReceivePack(head([`${A} ${B} refs/heads/main\0report-status`], Buffer.from('PACK')), false);
    expect(none).toMatchObject({ status: 'complete', request: { pushOptions: [] } });
  });

  it.each([
    ['a bad ref name', [`${A} ${B} refs/heads/a..b\0`], /must not contain \.\./],
    ['a ref outside refs/', [`${A} ${B} HEAD\0`], /must start with refs\//],
    ['a component starting with .', [`${A} ${B} refs/heads/.hidden\0`], /must not start with \./],
    ['a .lock component', [`${A} ${B} refs/heads/x.lock\0`], /\.lock/],
    ['@{', [`${A} ${B} refs/heads/a@{1}\0`], /@\{/],
    ['a short id', [`${A.slice(1)} ${B} refs/heads/main\0`], /object id/],
    ['an upper-case id', [`${A.toUpperCase()} ${B} refs/heads/main\0`], /object id/],
    ['a sha256 id without object-format', [`${'a'.repeat(64)} ${'b'.repeat(64)} refs/heads/main\0`], /sha1 object id/],
    ['the same ref twice', [`${A} ${B} refs/heads/main\0`, `${B} ${A} refs/heads/main`], /updated twice/],
    ['zero to zero', [`${Z} ${Z} refs/heads/main\0`], /neither creates nor deletes/],
    ['capabilities on a later line', [`${A} ${B} refs/heads/main\0`, `${A} ${B} refs/heads/x\0atomic`], /capabilities after the first/],
    ['no capability list', [`${A} ${B} refs/heads/main`], /no capability list/],
    ['a signed push', ['push-cert\0report-status'], /push-cert/],
    ['two object formats', [`${A} ${B} refs/heads/main\0object-format=sha1 object-format=sha256`], /object-format/],
    ['a command of two fields', [`${A} refs/heads/main\0`], /old new ref/],
  ])('refuses %s', (_name, lines, reason) => {
    const s = decodeReceivePack(head(lines), true);
    expect(s.status).toBe('invalid');
    if (s.status === 'invalid') expect(s.reason).toMatch(reason);
  });

  it('accepts sha256 ids when the client names that format', () => {
    const s = decodeReceivePack(head([`${'0'.repeat(64)} ${'b'.repeat(64)} refs/heads/main\0object-format=sha256`], Buffer.from('PACK')), false);
    expect(s).toMatchObject({ status: 'complete', request: { objectFormat: 'sha256', commands: [{ kind: 'create' }] } });
  });

  it('refuses bytes after a delete-only command list, bad framing, and too many commands', () => {
    expect(decodeReceivePack(head([`${A} ${Z} refs/heads/x\0`], Buffer.from('junk')), true)).toMatchObject({ status: 'invalid', reason: 'bytes after a delete-only command list' });
    expect(decodeReceivePack(Buffer.from('zzzz'), false)).toMatchObject({ status: 'invalid', reason: expect.stringMatching(/bad pkt-line length/) });
    const lines = [`${A} ${B} refs/heads/b0\0`, `${A} ${B} refs/heads/b1`, `${A} ${B} refs/heads/b2`];
    expect(decodeReceivePack(head(lines), true, { maxCommands: 2 })).toMatchObject({ status: 'invalid', reason: 'more than 2 commands' });
  });

  it('stays invalid once invalid, whatever follows', () => {
    const d = new ReceivePackDecoder();
    expect(d.feed(Buffer.from('0003')).status).toBe('invalid');
    expect(d.feed(head([`${A} ${B} refs/heads/main\0`])).status).toBe('invalid');
  });
});
