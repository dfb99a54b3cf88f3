import { jest } from '@jest/globals';
import { StreamExpiry, type ExpiringStream } from '../../../../gateway/src/protocols/http/stream-expiry';

/** One timer per token expiry ends every stream still open under it, and only those. */
describe('StreamExpiry', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  const stream = (): ExpiringStream & { ended: number } => {
    const s = { ended: 0, tokenExpired: () => void s.ended++ };
    return s;
  };

  it('ends the streams still open at their token expiry, not the finished ones nor later tokens', () => {
    const expiry = new StreamExpiry();
    const [a, b, c] = [stream(), stream(), stream()];
    expiry.track(1_010, a); // expires at 1_010 s = 10 s from now
    expiry.track(1_010, b);
    expiry.track(1_020, c);
    expect(jest.getTimerCount()).toBe(2); // one timer per expiry, not per stream
    expiry.untrack(1_010, b);
    jest.advanceTimersByTime(9_999);
    expect(a.ended).toBe(0);
    jest.advanceTimersByTime(1);
    expect([a.ended, b.ended, c.ended]).toEqual([1, 0, 0]);
    jest.advanceTimersByTime(10_000);
    expect([a.ended, b.ended, c.ended]).toEqual([1, 0, 1]);
  });

  it('drops idle timers when the session closes, and keeps those of streams still open', () => {
    const expiry = new StreamExpiry();
    const [a, b] = [stream(), stream()];
    expiry.track(1_010, a);
    expiry.untrack(1_010, a);
    expiry.track(1_020, b);
    expiry.release();
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(20_000);
    expect([a.ended, b.ended]).toEqual([0, 1]);
  });

  it('ends at once a stream whose token is already past its expiry', () => {
    const expiry = new StreamExpiry();
    const a = stream();
    expiry.track(999, a);
    jest.advanceTimersByTime(0);
    expect(a.ended).toBe(1);
  });
});
