import { Retry } from '../../../../gateway/src/recording/sinks/retry';

describe('Retry (shared by the object-store sinks)', () => {
  const classify = (e: unknown) => ({ transient: (e as Error).message === 'transient' });
  const giveUp = (e: unknown, _f: unknown, attempts: number) => new Error(`gave up after ${attempts}: ${(e as Error).message}`);

  test('retries transient failures with backoff until success', async () => {
    const waits: number[] = [];
    const retry = new Retry({ maxAttempts: 4, retryBaseMs: 100, retryMaxMs: 150, sleep: async (ms) => void waits.push(ms) });
    let calls = 0;
    const result = await retry.run(async () => (++calls < 3 ? Promise.reject(new Error('transient')) : 'ok'), classify, giveUp);
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeLessThan(100); // full jitter within base
    expect(waits[1]).toBeLessThan(150); // capped at retryMaxMs
  });

  test('a permanent failure is not retried; attempts are bounded', async () => {
    const retry = new Retry({ maxAttempts: 3, sleep: async () => undefined });
    let calls = 0;
    await expect(retry.run(async () => { calls++; throw new Error('permanent'); }, classify, giveUp)).rejects.toThrow('gave up after 1: permanent');
    expect(calls).toBe(1);
    calls = 0;
    await expect(retry.run(async () => { calls++; throw new Error('transient'); }, classify, giveUp)).rejects.toThrow('gave up after 3: transient');
    expect(calls).toBe(3);
  });
});
