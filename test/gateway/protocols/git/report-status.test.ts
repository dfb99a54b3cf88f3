import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { inspectPush } from '../../../../gateway/src/protocols/git/inspect-push';
import { encodePktLine, FLUSH_PKT, PktLineFramer } from '../../../../gateway/src/protocols/git/pkt-line';
import { decodeReceivePack } from '../../../../gateway/src/protocols/git/receive-pack';
import { ATOMIC_FAILURE, decodeReport, encodeReport, refusalReport } from '../../../../gateway/src/protocols/git/report-status';
import { GitWorld } from './real-git';

const Z = '0'.repeat(40);
const A = 'a'.repeat(40);

/**
 * A tiny smart-HTTP server over a real bare repository: it judges each push with the decoder and
 * the inspection (force pushes to refs/heads/main are denied), answers refusals with the report
 * writer, and forwards everything else to the real `git receive-pack`. The real `git push` client
 * shows what a user sees.
 */
class JudgingServer {
  server!: Server;
  url = '';
  forwarded = 0;

  constructor(private readonly world: GitWorld, private readonly repo: string, private readonly options: { sideBand: boolean }) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res).catch((e: unknown) => res.destroy(e as Error)));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/repo.git`;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET' && req.url === '/repo.git/info/refs?service=git-receive-pack') {
      let adv = await this.run(['receive-pack', '--stateless-rpc', '--advertise-refs', this.repo], Buffer.alloc(0));
      if (!this.options.sideBand) adv = withoutCapability(adv, 'side-band-64k');
      res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-advertisement', 'cache-control': 'no-cache' });
      res.end(Buffer.concat([encodePktLine('# service=git-receive-pack\n'), FLUSH_PKT, adv]));
      return;
    }
    if (req.method !== 'POST' || req.url !== '/repo.git/git-receive-pack') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const state = decodeReceivePack(body, true);
    if (state.status !== 'complete') {
      res.writeHead(400).end(state.status === 'invalid' ? state.reason : 'incomplete');
      return;
    }
    const inspection = await inspectPush({ mirrorDir: this.repo, scratchDir: join(this.world.dir, 'scratch'), request: state.request, pack: body.subarray(state.request.headLength) });
    const denied = new Map<string, string>();
    for (const r of inspection.refs) if (r.kind === 'force' && r.ref === 'refs/heads/main') denied.set(r.ref, `force push to ${r.ref} is not allowed`);
    res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-result', 'cache-control': 'no-cache' });
    if (denied.size > 0) {
      res.end(encodeReport(refusalReport(state.request, denied), state.request.sideBand));
      return;
    }
    this.forwarded++;
    res.end(await this.run(['receive-pack', '--stateless-rpc', this.repo], body));
  }

  private async run(args: string[], stdin: Buffer): Promise<Buffer> {
    const child = spawn('git', args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stdin.on('error', () => undefined); // --advertise-refs exits without reading its stdin
    child.stdin.end(stdin);
    const [code] = (await once(child, 'close')) as [number];
    if (code !== 0) throw new Error(`git ${args[0]} exited ${code}`);
    return Buffer.concat(out);
  }
}

/** The advertisement with one capability removed from its first line (the client then does not ask for it). */
function withoutCapability(adv: Buffer, cap: string): Buffer {
  const f = new PktLineFramer();
  f.feed(adv);
  const first = f.read();
  if (first?.type !== 'data') throw new Error('no advertisement');
  const text = first.payload.toString('latin1').replace(` ${cap}`, '');
  return Buffer.concat([encodePktLine(Buffer.from(text, 'latin1')), f.rest()]);
}

let world: GitWorld;
beforeAll(() => {
  world = new GitWorld();
});
afterAll(() => world.close());

describe.each([true, false])('report-status to the real git push client (side-band %s)', (sideBand) => {
  let server: JudgingServer;
  let upstream: string;
  let work: string;
  beforeAll(async () => {
    upstream = world.bare(`up-${sideBand}.git`);
    work = world.work(`work-${sideBand}`);
    world.git(work, 'push', '-q', upstream, 'main');
    server = new JudgingServer(world, upstream, { sideBand });
    await server.start();
  });
  afterAll(() => server.close());

  it('lets a fast-forward through to the real receive-pack', async () => {
    world.git(work, 'commit', '-q', '--allow-empty', '-m', 'next');
    const r = await world.gitAsync(work, 'push', server.url, 'main');
    expect(r.code).toBe(0);
    expect(world.git(upstream, 'rev-parse', 'main')).toBe(world.git(work, 'rev-parse', 'main'));
    expect(server.forwarded).toBe(1);
  });

  it('refuses a force push: the client prints ! [remote rejected] with the reason, the upstream keeps its ref', async () => {
    const before = world.git(upstream, 'rev-parse', 'main');
    world.git(work, 'commit', '-q', '--amend', '--allow-empty', '-m', 'rewritten');
    const r = await world.gitAsync(work, 'push', '--force', server.url, 'main');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('! [remote rejected] main -> main (force push to refs/heads/main is not allowed)');
    expect(world.git(upstream, 'rev-parse', 'main')).toBe(before);
    expect(server.forwarded).toBe(1);
  });

  it('rejects every ref of an atomic push when one is refused', async () => {
    const r = await world.gitAsync(work, 'push', '--force', '--atomic', server.url, 'main', 'main:refs/heads/topic');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('! [remote rejected] main -> main (force push to refs/heads/main is not allowed)');
    expect(r.stderr).toContain(`! [remote rejected] main -> topic (${ATOMIC_FAILURE})`);
    expect(world.git(upstream, 'for-each-ref', '--format=%(refname)')).toBe('refs/heads/main');
    expect(server.forwarded).toBe(1);
  });
});

describe('report encoding', () => {
  const request = (atomic: boolean, sideBand: 'none' | 'side-band' | 'side-band-64k') => {
    const s = decodeReceivePack(Buffer.concat([encodePktLine(`${A} ${Z} refs/heads/a\0report-status`), encodePktLine(`${Z} ${A} refs/heads/b`), FLUSH_PKT]), false);
    if (s.status !== 'complete') throw new Error('not decoded');
    return { ...s.request, atomic, sideBand };
  };

  it('refuses only the denied refs of a non-atomic push', () => {
    expect(refusalReport(request(false, 'none'), new Map([['refs/heads/a', 'no']]))).toEqual({ unpack: 'ok', refs: [{ ref: 'refs/heads/a', ok: false, reason: 'no' }, { ref: 'refs/heads/b', ok: true }] });
  });

  it('keeps a reason on one line', () => {
    expect(refusalReport(request(true, 'none'), new Map([['refs/heads/b', 'line one\nng refs/heads/x forged']])).refs).toEqual([
      { ref: 'refs/heads/a', ok: false, reason: ATOMIC_FAILURE },
      { ref: 'refs/heads/b', ok: false, reason: 'line one ng refs/heads/x forged' },
    ]);
  });

  it.each(['none', 'side-band', 'side-band-64k'] as const)('reads back what it writes (%s), splitting band packets at their size', (sb) => {
    const report = { unpack: 'ok', refs: [{ ref: 'refs/heads/a', ok: false as const, reason: 'r'.repeat(800) }, { ref: 'refs/heads/b', ok: false as const, reason: 's'.repeat(800) }, { ref: 'refs/heads/c', ok: true as const }] };
    const bytes = encodeReport(report, sb);
    expect(decodeReport(bytes, sb)).toEqual(report);
    if (sb === 'side-band') {
      const f = new PktLineFramer();
      f.feed(bytes);
      const sizes: number[] = [];
      for (let p = f.read(); p !== undefined; p = f.read()) if (p.type === 'data') sizes.push(p.payload.length);
      expect(sizes.length).toBeGreaterThan(1);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(1000);
    }
  });

  it('reads a real receive-pack report-status-v2 with option lines, and refuses a malformed one', () => {
    const v2 = Buffer.concat([encodePktLine('unpack ok\n'), encodePktLine('ok refs/heads/a\n'), encodePktLine('option refname refs/heads/a\n'), FLUSH_PKT]);
    expect(decodeReport(v2, 'none')).toEqual({ unpack: 'ok', refs: [{ ref: 'refs/heads/a', ok: true }] });
    expect(decodeReport(Buffer.concat([encodePktLine('hello\n'), FLUSH_PKT]), 'none')).toBeUndefined();
    expect(decodeReport(encodePktLine('unpack ok\n'), 'none')).toBeUndefined();
  });
});
