import { decodeSegment } from '../../../recording/segment-codec';
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

/**
 * `verifySession` reports every undigested segment of the log (`UNDIGESTED_TAIL`) and an instance
 * still running (`LOG_NOT_SEALED`), whoever's events they hold: on a live gateway that is always
 * the case (the console's own `admin.*` reads land in the newest segment). The session is
 * unattested only when one of those segments holds its events; otherwise every event it has is in
 * a segment a signed digest lists, and the other findings stay visible as warnings.
 * `undigestedWithSession`: the undigested segment keys that hold the session's events; without
 * it, any undigested segment counts (the cautious reading).
 */
export function summarizeVerification(r: VerifyResult, witnessed: boolean, undigestedWithSession?: ReadonlySet<string>): SessionVerification {
  const warnings = r.warnings.map((w) => `${w.code}: ${w.message}`);
  if (!r.ok) {
    const f = r.firstFailure!;
    return { status: 'broken', ok: false, firstBroken: { code: f.code, seq: f.seq, segment: f.key, reason: f.message }, witnessed, warnings };
  }
  const tail = r.warnings.filter((w) => w.code === 'UNDIGESTED_TAIL');
  const unattested =
    undigestedWithSession === undefined
      ? tail.length > 0 || r.warnings.some((w) => w.code === 'LOG_NOT_SEALED')
      : tail.some((w) => w.key !== undefined && undigestedWithSession.has(w.key));
  return { status: unattested ? 'unattested' : 'verified', ok: true, witnessed, warnings };
}

/**
 * Verifies one session with `verify`'s own code (recording/verify.ts `verifySession`): digests,
 * signatures, the witness, then the session's segments and chain. A live gateway's log has an
 * unsealed tail: the console allows it, and shows the session as not yet attested when its own
 * events are in that tail.
 */
export async function verifySessionForConsole(sink: LogSink, sessionId: string, options: Omit<VerifyOptions, 'session'>): Promise<SessionVerification> {
  const r = await verifySession(sink, sessionId, { allowUnsealedTail: true, ...options });
  if (!r.ok) return summarizeVerification(r, options.witness !== undefined);
  const withSession = new Set<string>();
  for (const w of r.warnings) {
    if (w.code !== 'UNDIGESTED_TAIL' || w.key === undefined) continue;
    // The verifier has just read and checked this segment; read it again for whose events it holds.
    const bytes = await sink.get(w.key);
    if (bytes === undefined) {
      withSession.add(w.key); // gone since: cautious
      continue;
    }
    const { lines } = await decodeSegment(bytes, true);
    if (lines.some((line) => line.includes(sessionId) && (JSON.parse(line) as { session?: string }).session === sessionId)) withSession.add(w.key);
  }
  return summarizeVerification(r, options.witness !== undefined, withSession);
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
