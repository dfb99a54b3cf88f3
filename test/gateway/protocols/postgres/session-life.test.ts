import { jest } from '@jest/globals';
import { sessionDeadline } from '../../../../gateway/src/protocols/postgres/session-life';

describe('sessionDeadline', () => {
  afterEach(() => jest.useRealTimers());

  test('the token expiry when it comes first, else the maximum life', () => {
    const now = 1_000_000_000_000;
    expect(sessionDeadline(now, 3600, now / 1000 + 60)).toMatchObject({ at: now + 60000, reason: 'token_expired' });
    expect(sessionDeadline(now, 60, now / 1000 + 3600)).toMatchObject({ at: now + 60000, reason: 'max_life' });
    expect(sessionDeadline(now, 60, undefined)).toMatchObject({ at: now + 60000, reason: 'max_life' });
  });

  test('fires once at the deadline, also beyond the 24.8-day timer range; cancel stops it', () => {
    jest.useFakeTimers({ now: 0 });
    const fired: number[] = [];
    const d = sessionDeadline(0, 30 * 86400, undefined);
    d.arm(() => fired.push(Date.now()));
    jest.advanceTimersByTime(30 * 86400 * 1000 - 1);
    expect(fired).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(fired).toEqual([30 * 86400 * 1000]);
    const cancelled = sessionDeadline(Date.now(), 10, undefined).arm(() => fired.push(-1));
    cancelled.cancel();
    jest.advanceTimersByTime(20000);
    expect(fired).toHaveLength(1);
  });

  test('a deadline already past fires at once', () => {
    let fired = false;
    sessionDeadline(Date.now(), 60, Date.now() / 1000 - 1).arm(() => (fired = true));
    expect(fired).toBe(true);
  });
});
