/**
 * RFC 3339 UTC text of a time in milliseconds, exactly as `Date.prototype.toISOString` writes it,
 * for a clock read on every recorded event. `toISOString` costs about 1 µs; within one second only
 * the milliseconds change, so the text up to them is kept and the milliseconds are appended
 * (about 40 ns).
 */
export class IsoTimeFormatter {
  private second = NaN;
  /** `YYYY-MM-DDTHH:MM:SS.` of `second`, or '' when that year needs toISOString's extended form. */
  private prefix = '';

  format(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      const full = new Date(second * 1000).toISOString();
      // Years before 0 or after 9999 are written with six digits and a sign: not cached.
      this.prefix = full.length === 24 ? full.slice(0, 20) : '';
    }
    if (this.prefix === '' || !Number.isInteger(ms)) return new Date(ms).toISOString();
    const milli = ms - second * 1000;
    return this.prefix + (milli < 10 ? '00' : milli < 100 ? '0' : '') + milli + 'Z';
  }
}
