import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../../gateway/src/main';
import type { CommandIO } from '../../../gateway/src/cli/io';

/**
 * `sessions export` and `sessions show` print megabytes; into a pipe whose reader is slower than
 * the writer (`| less`, `| jq`, a script), the process must not exit before the last byte is
 * taken. The real bundle runs in a child process, piped into a reader that starts late.
 */
const run = promisify(execFile);
const root = join(new URL('.', import.meta.url).pathname, '../../..');

const ID = 'sess-0123456789abcdef';
const events = Array.from({ length: 4000 }, (_, i) => ({
  seq: i + 1,
  time: new Date(1_765_000_000_000 + i).toISOString(),
  type: 'http.request',
  code: 'GH1000I',
  requestId: `req-${i}`,
  payload: { method: 'POST', path: `/v1/messages/${i}`, body: `line one of ${i}\n${'x'.repeat(400)}` },
}));
const transcript = {
  session: { id: ID, protocol: 'http', connection: 'demo', startedAt: events[0]!.time, eventCount: events.length, chain: { intact: true, head: 'ab'.repeat(32) } },
  events,
};
const row = { id: ID, protocol: 'http', connection: 'demo', status: 'closed', startedAt: events[0]!.time, endedAt: null, eventCount: events.length, requestCount: 4000, deniedCount: 0 };

describe('sessions output into a slow pipe', () => {
  let dist: string;
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), 'gh-pipe-dist-'));
    await run(process.execPath, [join(root, 'gateway/build.mjs')], { cwd: root, env: { ...process.env, GATEHOUSE_DIST: dist } });
    // The admin API of a running gateway, answering with a large session.
    server = http.createServer((req, res) => {
      const body = req.url === `/api/sessions/${ID}/export` ? transcript : req.url === `/api/sessions/${ID}` ? { session: row } : undefined;
      if (body === undefined || req.headers.authorization !== 'Bearer t') res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 120_000);
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dist, { recursive: true, force: true });
  });

  /** What the command prints, run in this process. */
  async function expected(args: string[]): Promise<string> {
    let out = '';
    const io: CommandIO = { out: (l) => (out += l.endsWith('\n') ? l : `${l}\n`), err: () => {} };
    expect(await main(args, io)).toBe(0);
    return out;
  }

  /** The bundle, piped into a reader that starts reading half a second late; its byte count. */
  async function pipedByteCount(args: string[]): Promise<number> {
    const quoted = args.map((a) => `'${a}'`).join(' ');
    const { stdout } = await run('sh', ['-c', `'${process.execPath}' '${join(dist, 'gateway.mjs')}' ${quoted} | (sleep 0.5; wc -c)`], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir() },
    });
    return Number(stdout.trim());
  }

  test.each([
    ['export', ['sessions', 'export', ID]],
    ['show --json', ['sessions', 'show', ID, '--json']],
    ['show', ['sessions', 'show', ID]],
  ])('sessions %s arrives whole', async (_name, args) => {
    const full = [...args, '--admin-url', url, '--token', 't'];
    const want = Buffer.byteLength(await expected(full));
    expect(want).toBeGreaterThan(1_000_000);
    expect(await pipedByteCount(full)).toBe(want);
  }, 60_000);

  test('a reader that closes early (| head) ends the command without a stack trace', async () => {
    const { stdout, stderr } = await run('sh', ['-c', `'${process.execPath}' '${join(dist, 'gateway.mjs')}' sessions export ${ID} --admin-url ${url} --token t | head -c 10; echo " rc=$?"`], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir() },
    });
    expect(stdout).toBe('{\n  "sessi rc=0\n');
    expect(stderr).not.toContain('    at ');
  }, 60_000);
});
