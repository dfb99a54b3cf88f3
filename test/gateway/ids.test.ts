import { newId, requestIdFor, sessionIdOfRequest } from '../../gateway/src/ids';

describe('ids', () => {
  test('ids sort by creation time and do not collide', () => {
    const a = newId('s', 1_700_000_000_000);
    const b = newId('s', 1_700_000_000_001);
    expect(a < b).toBe(true);
    expect(a).toMatch(/^s_[0-9A-HJKMNP-TV-Z]{26}$/);
    const many = new Set(Array.from({ length: 10_000 }, () => newId('s', 1_700_000_000_000)));
    expect(many.size).toBe(10_000);
  });

  test('a Gatehouse request id names its session; other strings name none', () => {
    const session = newId('s');
    const request = requestIdFor(session, 42);
    expect(request).toBe(`r_${session.slice(2)}.42`);
    expect(sessionIdOfRequest(request)).toBe(session);
    for (const other of ['client-req-1', `r_${session.slice(2)}`, `r_${session.slice(2)}.x`, `x${request}`, `${request}.1`, 'r_short.1']) {
      expect(sessionIdOfRequest(other)).toBeUndefined();
    }
  });
});
