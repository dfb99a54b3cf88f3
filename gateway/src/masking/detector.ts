/**
 * The masking contract (issue 5). A detector finds secrets or personal data in text; redactors
 * (whole strings, JSON values, streams split into chunks) apply detectors and replace what they
 * find. Detectors are pure and synchronous.
 */
export interface Detection {
  /** Offsets in the scanned text (UTF-16 code units), end exclusive. */
  readonly start: number;
  readonly end: number;
  /** What was found: `aws_access_key`, `email`, `payment_card`, ... (used in type tags and counters). */
  readonly type: string;
  /** Id of the rule that found it. */
  readonly rule: string;
}

export interface Detector {
  readonly id: string;
  readonly type: string;
  /** `secret` or `pii`: lets a connection select whole families. */
  readonly family: 'secret' | 'pii';
  /**
   * The longest match this detector can produce, in characters. A streaming redactor keeps this
   * many trailing characters unreleased between chunks, so a value split across chunks is still
   * found. Must be finite.
   */
  readonly maxLength: number;
  find(text: string): Detection[];
  /**
   * Optional, for detectors whose long matches always begin with a marker (`-----BEGIN`, `eyJ`):
   * the earliest offset in `text` at which a match could begin that more text might still
   * complete or change. A streaming redactor then holds back from there instead of
   * `maxLength - 1` characters, which keeps a 16 000-character PEM rule from delaying (and
   * rescanning) every chunk. Must be conservative; without it, `maxLength - 1` is held back.
   */
  pendingFrom?(text: string): number;
}
