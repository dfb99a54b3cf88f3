import { Counter, Histogram, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from '../../../gateway/src/admin/fast-metrics';

/**
 * The fast primitives must expose what prom-client's own metrics expose: the same lines, up to
 * the order of labels inside braces (which Prometheus ignores).
 */
function normalized(text: string): string {
  return text.replace(/\{([^}]*)\}/g, (_m, inner: string) => `{${inner.split(/,(?=[a-z_]+=")/).sort().join(',')}}`);
}
describe('fast metrics match prom-client’s exposition', () => {
  const buckets = [0.005, 0.01, 0.5, 1, 2.5];
  const samples: Array<[string, number]> = [['a', 0.004], ['a', 0.01], ['b', 3], ['a', 0.7], ['b', 0], ['a', 2.5]];

  it('histogram: buckets (le first), +Inf, sum and count per label value, with default labels', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    for (const r of [ours, theirs]) r.setDefaultLabels({ instance: 'gw-1' });
    const fast = new FastHistogram('h_seconds', 'help', 'connection', buckets, ours);
    const reference = new Histogram({ name: 'h_seconds', help: 'help', labelNames: ['connection'], buckets, registers: [theirs] });
    for (const [label, value] of samples) {
      fast.observe(label, value);
      reference.observe({ connection: label }, value);
    }
    expect(normalized(await ours.metrics())).toBe(normalized(await theirs.metrics()));
    fast.reset();
    reference.reset();
    expect(normalized(await ours.metrics())).toBe(normalized(await theirs.metrics()));
  });

  it('counter: one series per label tuple, in label-name order', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new FastCounter('c_total', 'help', ['protocol', 'status'], ours);
    const reference = new Counter({ name: 'c_total', help: 'help', labelNames: ['protocol', 'status'], registers: [theirs] });
    for (const [p, s] of [['http', '200'], ['http', '200'], ['postgres', 'ok'], ['http', '403']]) {
      fast.inc([p!, s!]);
      reference.inc({ protocol: p!, status: s! });
    }
    fast.inc(['http', '200'], 3);
    reference.inc({ protocol: 'http', status: '200' }, 3);
    expect(normalized(await ours.metrics())).toBe(normalized(await theirs.metrics()));
  });
});
