import { IsoTimeFormatter } from '../../../gateway/src/recording/iso-time';

describe('IsoTimeFormatter', () => {
  it('writes exactly what toISOString writes, across seconds, days, years and eras', () => {
    const f = new IsoTimeFormatter();
    const starts = [0, Date.UTC(2026, 10, 25, 23, 59, 59, 990), Date.UTC(1999, 11, 31, 23, 59, 59, 0), -1500, Date.UTC(9999, 11, 31, 23, 59, 59, 900), Date.UTC(-1, 0, 1), 8.64e15 - 200_000];
    for (const start of starts) {
      // Steps of 1 ms and of odd sizes, forwards and (clock stepped back) backwards.
      for (const step of [1, 7, 333, -1, -451]) {
        for (let i = 0, ms = start; i < 400; i++, ms += step) expect(f.format(ms)).toBe(new Date(ms).toISOString());
      }
    }
  });

  it('random times in any order', () => {
    const f = new IsoTimeFormatter();
    for (let i = 0; i < 20000; i++) {
      const ms = Math.floor((Math.random() - 0.3) * 4e12);
      expect(f.format(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it('a fractional millisecond is formatted like toISOString (truncated)', () => {
    const f = new IsoTimeFormatter();
    const ms = Date.UTC(2026, 0, 1) + 12.7;
    expect(f.format(ms)).toBe(new Date(ms).toISOString());
  });
});
