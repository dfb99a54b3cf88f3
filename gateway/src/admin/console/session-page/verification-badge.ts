import type { LogSink } from '../../../recording/sinks/sink';
import { verifySession, type VerifyOptions, type VerifyResult } from '../../../recording/verify';
import { html, type Html } from '../html';

/** What the badge says about one session (the verifier's findings, reduced to what a reader needs). */
export interface SessionVerification {
  /** `verified`: every event attested by a signed digest, chain intact; `unattested`: intact so far, but the newest events await a digest (live gateway); `broken`. */
  readonly status: 'verified' | 'unattested' | 'broken';
  readonly ok: boolean;
  /** The first thing that did not match, as `gatehouse verify` names it. */
  readonly firstBroken?: { readonly code: string; readonly seq?: number; readonly segment?: string; readonly reason: string };
  /** Whether a witness outside the log store was checked. */
  readonly witnessed: boolean;
  readonly warnings: readonly string[];
}

const UNATTESTED = new Set(['UNDIGESTED_TAIL', 'LOG_NOT_SEALED']);

export function summarizeVerification(r: VerifyResult, witnessed: boolean): SessionVerification {
  const warnings = r.warnings.map((w) => `${w.code}: ${w.message}`);
  if (!r.ok) {
    const f = r.firstFailure!;
    return { status: 'broken', ok: false, firstBroken: { code: f.code, seq: f.seq, segment: f.key, reason: f.message }, witnessed, warnings };
  }
  const status = r.warnings.some((w) => UNATTESTED.has(w.code)) ? 'unattested' : 'verified';
  return { status, ok: true, witnessed, warnings };
}

/**
 * Verifies one session with `verify`'s own code (recording/verify.ts `verifySession`): digests,
 * signatures, the witness, then the session's segments and chain. A live gateway's log has an
 * unsealed tail: the console allows it and shows the session as not yet attested.
 */
export async function verifySessionForConsole(sink: LogSink, sessionId: string, options: Omit<VerifyOptions, 'session'>): Promise<SessionVerification> {
  const r = await verifySession(sink, sessionId, { allowUnsealedTail: true, ...options });
  return summarizeVerification(r, options.witness !== undefined);
}

export function renderVerificationBadge(v: SessionVerification | undefined, eventHref: (seq: number) => string): Html {
  if (v === undefined) return html`<p class="gh-badge gh-badge-unknown" role="status">not verified</p>`;
  if (v.status === 'broken') {
    const b = v.firstBroken!;
    return html`<div class="gh-badge gh-badge-broken" role="status"><strong>verification failed</strong>: <code>${b.code}</code>${
      b.seq !== undefined ? html` at <a href="${eventHref(b.seq)}">event ${b.seq}</a>` : ''
    }${b.segment ? html` in segment <code>${b.segment}</code>` : ''}<p class="gh-badge-reason">${b.reason}</p></div>`;
  }
  const witness = v.witnessed ? 'signed digests and the witness' : 'signed digests (no witness configured)';
  if (v.status === 'unattested') {
    return html`<div class="gh-badge gh-badge-unattested" role="status"><strong>chain intact, not yet sealed</strong>: the newest events await a signed digest<details><summary>details</summary><ul>${v.warnings.map((w) => html`<li>${w}</li>`)}</ul></details></div>`;
  }
  return html`<div class="gh-badge gh-badge-verified" role="status"><strong>verified</strong> against the ${witness}${
    v.warnings.length ? html`<details><summary>${v.warnings.length} warnings</summary><ul>${v.warnings.map((w) => html`<li>${w}</li>`)}</ul></details>` : ''
  }</div>`;
}
