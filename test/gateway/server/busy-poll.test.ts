import net from 'node:net';
import { createBusyPoller } from '../../../gateway/src/server/busy-poll';

/** A clock and a loop the test turns by hand. */
function manualLoop() {
  let now = 0;
  let queue: (() => void)[] = [];
  return {
    now: () => now,
    schedule: (fn: () => void) => void queue.push(fn),
    advance(ms: number) {
      now += ms;
    },
    /** Runs one loop turn: what was scheduled before it. */
    turn() {
      const q = queue;
      queue = [];
      for (const fn of q) fn();
    },
    get pending() {
      return queue.length;
    },
  };
}

describe('busy polling', () => {
  it('is off at 0: touching schedules nothing', () => {
    const loop = manualLoop();
    const p = createBusyPoller({ windowMicroseconds: 0, now: loop.now, schedule: loop.schedule });
    p.touch();
    expect(loop.pending).toBe(0);
    expect(p.spinning).toBe(false);
    expect(p.spunSeconds()).toBe(0);
  });

  it('keeps one turn pending until the window after the last touch has passed, then sleeps', () => {
    const loop = manualLoop();
    const p = createBusyPoller({ windowMicroseconds: 1000, now: loop.now, schedule: loop.schedule });
    p.touch();
    p.touch();
    expect(loop.pending).toBe(1);
    expect(p.spinning).toBe(true);
    loop.advance(0.6);
    loop.turn();
    expect(loop.pending).toBe(1);
    // A touch while spinning extends the window without a second chain.
    p.touch();
    loop.advance(0.6);
    loop.turn();
    expect(loop.pending).toBe(1);
    loop.advance(0.3);
    loop.turn();
    expect(loop.pending).toBe(1);
    loop.advance(0.2);
    loop.turn();
    expect(loop.pending).toBe(0);
    expect(p.spinning).toBe(false);
    expect(p.spunSeconds()).toBeCloseTo(1.7 / 1000, 9);
  });

  it('counts every spin, the one in progress included', () => {
    const loop = manualLoop();
    const p = createBusyPoller({ windowMicroseconds: 500, now: loop.now, schedule: loop.schedule });
    p.touch();
    loop.advance(0.5);
    loop.turn();
    expect(p.spinning).toBe(false);
    loop.advance(10);
    p.touch();
    loop.advance(0.25);
    expect(p.spunSeconds()).toBeCloseTo(0.75 / 1000, 9);
  });

  it('stops at the next turn once stopped, and ignores later touches', () => {
    const loop = manualLoop();
    const p = createBusyPoller({ windowMicroseconds: 5000, now: loop.now, schedule: loop.schedule });
    p.touch();
    p.stop();
    loop.advance(0.1);
    loop.turn();
    expect(loop.pending).toBe(0);
    expect(p.spinning).toBe(false);
    p.touch();
    expect(loop.pending).toBe(0);
  });

  it('touch works as a bare callback (protocols receive it unbound)', () => {
    const loop = manualLoop();
    const poller = createBusyPoller({ windowMicroseconds: 1000, now: loop.now, schedule: loop.schedule });
    const { touch } = poller;
    touch();
    expect(loop.pending).toBe(1);
    expect(poller.spinning).toBe(true);
  });

  it('on the real loop, handles socket I/O while spinning and goes back to sleep after the window', async () => {
    const poller = createBusyPoller({ windowMicroseconds: 20_000 });
    const server = net.createServer((s) => s.on('data', (d) => s.end(d)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      poller.touch();
      expect(poller.spinning).toBe(true);
      const echoed = await new Promise<string>((resolve, reject) => {
        const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1', () => c.write('ping'));
        let got = '';
        c.on('data', (d) => (got += d.toString()));
        c.on('end', () => resolve(got));
        c.on('error', reject);
      });
      expect(echoed).toBe('ping');
      const deadline = Date.now() + 5000;
      while (poller.spinning && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(poller.spinning).toBe(false);
      // It never stops before its window: at least 20 ms were spent polling.
      expect(poller.spunSeconds()).toBeGreaterThanOrEqual(0.02);
    } finally {
      poller.stop();
      await new Promise((r) => server.close(r));
    }
  });
});
