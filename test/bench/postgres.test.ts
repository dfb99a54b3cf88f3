// @ts-expect-error plain ESM benchmark, no type declarations
import { orderFor, parseArgs, ratiosOf, summarize } from '../../bench/postgres.mjs';

describe('parseArgs', () => {
  it('defaults to 10 s, 2 rounds, 8 clients on 2 threads', () => {
    expect(parseArgs([], {})).toMatchObject({ seconds: 10, rounds: 2, clients: 8, threads: 2, tls: false, write: true });
  });

  it('takes the environment, and argv over the environment', () => {
    expect(parseArgs(['-T', '3', '--tls'], { BENCH_PG_SECONDS: '5', BENCH_PG_ROUNDS: '4' })).toMatchObject({ seconds: 3, rounds: 4, tls: true });
  });

  it('takes a baseline bundle to measure beside this build, from argv or the environment', () => {
    expect(parseArgs([], {}).baseline).toBeNull();
    expect(parseArgs([], { BENCH_BASELINE_BUNDLE: '/old/gateway.mjs' }).baseline).toBe('/old/gateway.mjs');
    expect(parseArgs(['--baseline', '/older/gateway.mjs'], { BENCH_BASELINE_BUNDLE: '/old/gateway.mjs' }).baseline).toBe('/older/gateway.mjs');
  });

  it('refuses an unknown option and a non-positive count', () => {
    expect(() => parseArgs(['--fast'], {})).toThrow(/unknown option --fast/);
    expect(() => parseArgs(['--rounds', '0'], {})).toThrow(/--rounds must be a positive integer/);
  });
});

describe('orderFor', () => {
  it('alternates the order of targets from one round to the next', () => {
    expect(orderFor(0, ['a', 'b', 'c'])).toEqual(['a', 'b', 'c']);
    expect(orderFor(1, ['a', 'b', 'c'])).toEqual(['c', 'b', 'a']);
  });
});

describe('summarize and ratiosOf', () => {
  const samples = {
    select_simple: {
      gatehouse_buffered: [{ tps: 300, latency_ms: 3 }, { tps: 500, latency_ms: 2 }],
      pgbouncer: [{ tps: 1000, latency_ms: 1 }, { tps: 600, latency_ms: 1.5 }],
    },
    tpcb_simple: { pgbouncer: [{ tps: 100, latency_ms: 10 }], gatehouse_buffered: { unavailable: 'no proxy' } },
  };

  it('takes medians per target, in the given order, keeping unavailable rows with their reason', () => {
    const runs = summarize(samples, ['pgbouncer', 'gatehouse_buffered']);
    expect(Object.keys(runs.select_simple)).toEqual(['pgbouncer', 'gatehouse_buffered']);
    expect(runs.select_simple.pgbouncer).toEqual({ tps: 800, latency_ms: 1.25, rounds: 2, tps_samples: [1000, 600] });
    expect(runs.tpcb_simple.gatehouse_buffered).toEqual({ unavailable: 'no proxy' });
  });

  it('divides TPS per scenario, null where a side is missing', () => {
    const runs = summarize(samples, ['pgbouncer', 'gatehouse_buffered']);
    expect(ratiosOf(runs, 'gatehouse_buffered', 'pgbouncer')).toEqual({ select_simple: 0.5, select_extended: null, tpcb_simple: null, tpcb_extended: null });
  });
});
