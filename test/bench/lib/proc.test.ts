import { spawn } from 'node:child_process';
// @ts-expect-error plain ESM benchmark helpers, no type declarations
import { cpuMicros, wrkSummary } from '../../../bench/lib/proc.mjs';

const onLinux = process.platform === 'linux';

/**
 * A process that burns `ms` of user CPU (with `child`: and a child that burns as much), then
 * prints "done" and idles. The clock is read every million iterations, so it adds no system time.
 */
function burner(ms: number, child: boolean) {
  const burn = `const t0 = process.cpuUsage(); for (let i = 0; ; i++) if (i % 1e6 === 0 && process.cpuUsage(t0).user >= ${ms * 1000}) break;`;
  const idle = 'setInterval(() => {}, 1000);';
  const script = child
    ? `const c = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(`${burn} process.stdout.write('done'); ${idle}`)}], { stdio: ['ignore', 'pipe', 'ignore'] }); ${burn} c.stdout.once('data', () => process.stdout.write('done')); ${idle}`
    : `${burn} process.stdout.write('done'); ${idle}`;
  // Its own process group, so the test can stop the child with it.
  const p = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  const done = new Promise<void>((resolve) => p.stdout.once('data', () => resolve()));
  return { pid: p.pid!, done };
}

(onLinux ? describe : describe.skip)('cpuMicros', () => {
  it('counts the CPU a process used, and its live children (nginx workers)', async () => {
    const solo = burner(300, false);
    const tree = burner(300, true);
    try {
      await Promise.all([solo.done, tree.done]);
      const one = cpuMicros(solo.pid) as number;
      const two = cpuMicros(tree.pid) as number;
      expect(one).toBeGreaterThanOrEqual(300_000);
      // The tree's parent used about what the solo process did; its child burned 300 ms more.
      expect(two - one).toBeGreaterThan(200_000);
    } finally {
      for (const p of [solo, tree]) process.kill(-p.pid, 'SIGKILL');
    }
  }, 60_000);

  it('is undefined for a process that does not exist', () => {
    expect(cpuMicros(2 ** 22 + 12345)).toBeUndefined();
  });
});

describe('wrkSummary', () => {
  it('reads requests/s, the request count, percentiles and errors from wrk --latency output', () => {
    const out = `Running 5s test @ http://127.0.0.1:1/v1/items
  1 threads and 16 connections
  Latency Distribution
     50%    4.30ms
     75%    5.10ms
     90%    9.67ms
     99%   35.52ms
  16512 requests in 5.02s, 5.49MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   3289.14
Transfer/sec:      1.09MB
`;
    expect(wrkSummary(out)).toEqual({ rps: 3289.14, requests: 16512, p50: 4.3, p99: 35.52, non2xx: 3, errors: null });
  });
});
