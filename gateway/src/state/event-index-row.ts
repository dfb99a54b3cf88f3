/**
 * What the session index keeps of one recorded event: its decision bits and a bounded text
 * document for full-text search. Built from the payload exactly as the recorder stored it, so
 * the index never holds text the record does not (masked content stays masked; a sealed
 * original is never read).
 */

// Type-only: session-search.ts imports the session index, which imports this file.
import type { SessionDecision } from './session-search';
import { isApprovalOutcome, type DecisionCode } from '../policy/decision';

/** Decision bits, one per filterable outcome; a session's bits are the OR of its events'. */
export const DECISION_BITS: Readonly<Record<SessionDecision, number>> = {
  allowed: 1,
  denied: 2,
  reviewed: 4,
  masked: 8,
  failed: 16,
};

const NAMES = Object.keys(DECISION_BITS) as SessionDecision[];

/** The names of the decisions set in a bit set, in SESSION_DECISIONS order. */
export function decisionNames(bits: number): SessionDecision[] {
  return NAMES.filter((d) => (bits & DECISION_BITS[d]) !== 0);
}

/** Indexed text per event, in UTF-16 code units: enough for a statement, a path or a prompt's head. */
export const MAX_EVENT_TEXT = 8192;

export interface EventIndexFacts {
  readonly decisions: number;
  /** Text to index, or '' when the event has none. */
  readonly text: string;
}

const FAILED_TYPES = new Set(['http.error', 'pg.error', 'pg.upstream_error', 'masking.failed', 'recording.gap', 'auth.failure']);
const DENIED_TYPES = new Set(['policy.denied', 'approval.denied', 'approval.expired', 'approval.cancelled']);
/** Keys never walked for text: sealed originals, hashes and raw bytes are not searchable content. */
const SKIPPED_KEYS = new Set(['original', 'sha256', 'base64', 'signature', 'headers', 'usage', 'decision', 'principal', 'id', 'type', 'stop_reason', 'role']);

type Payload = Readonly<Record<string, unknown>>;

/** Decision bits and search text of one event; cheap and bounded (stops at MAX_EVENT_TEXT). */
export function eventIndexFacts(type: string, payload: Payload): EventIndexFacts {
  return { decisions: decisionBits(type, payload), text: eventText(type, payload) };
}

export function decisionBits(type: string, payload: Payload): number {
  let bits = 0;
  const decision = payload.decision as { effect?: unknown; code?: unknown } | undefined;
  if (decision !== undefined && decision !== null) {
    if (decision.effect === 'allow') bits |= DECISION_BITS.allowed;
    // An operation let through by approvers carries the approval's code in its decision.
    if (typeof decision.code === 'string' && isApprovalOutcome(decision.code as DecisionCode)) bits |= DECISION_BITS.reviewed;
  }
  if (DENIED_TYPES.has(type)) bits |= DECISION_BITS.denied;
  if (type.startsWith('approval.')) bits |= DECISION_BITS.reviewed;
  if (FAILED_TYPES.has(type)) bits |= DECISION_BITS.failed;
  if (type === 'pg.result' && payload.error !== undefined) bits |= DECISION_BITS.failed;
  if (maskedSomething((payload.body as Payload | undefined)?.masked)) bits |= DECISION_BITS.masked;
  return bits;
}

/** A body's `masked` block holds counts by detector type (masked-exchange.ts); any count > 0 is a mask. */
function maskedSomething(counts: unknown): boolean {
  if (counts === null || typeof counts !== 'object') return false;
  for (const n of Object.values(counts as Record<string, unknown>)) if (typeof n === 'number' && n > 0) return true;
  return false;
}

function eventText(type: string, p: Payload): string {
  switch (type) {
    case 'http.request': {
      const query = typeof p.query === 'string' && p.query !== '' ? `?${p.query}` : '';
      // The parser keeps a path as one token ('/v1/messages'); its segments are added as words too,
      // so a search for one segment ('messages') finds it.
      const path = str(p.path);
      return cap(`${str(p.method)} ${path}${query} ${str(p.host)} ${path.replace(/[/.]+/g, ' ')}`);
    }
    case 'pg.query':
      return cap(str(p.text));
    case 'llm.exchange':
      return transcriptText(p);
    case 'policy.denied':
      return cap(`${str(p.operation)} ${str(p.message)}`);
    case 'approval.requested':
      return cap(str(p.operation));
    case 'ssh.channel.open':
      return cap(str(p.command));
    case 'ssh.transcript':
      return cap(str(p.text));
    case 'http.error':
    case 'pg.error':
    case 'pg.upstream_error':
    case 'masking.failed':
    case 'auth.failure':
      return cap(str(p.message));
    case 'pg.result':
      return p.error === undefined ? '' : cap(str((p.error as Payload).message));
    default:
      return '';
  }
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function cap(text: string): string {
  return (text.length > MAX_EVENT_TEXT ? text.slice(0, MAX_EVENT_TEXT) : text).trim();
}

/**
 * A transcript's text within the cap, newest first: the answer, then the conversation from its
 * last turn backwards (earlier turns were indexed with earlier exchanges), then the system
 * prompt (Claude Code's alone is larger than the cap, so it comes last).
 */
function transcriptText(p: Payload): string {
  const request = (p.request ?? {}) as Payload;
  const turns = Array.isArray(request.messages) ? request.messages : Array.isArray(request.input) ? request.input : typeof request.input === 'string' ? [request.input] : [];
  return collect([p.response, p.error, [...turns].reverse(), request.instructions, request.system]);
}

/** The string leaves of a value (prompts, answers, tool inputs), depth-first, up to the cap. */
function collect(root: unknown): string {
  const parts: string[] = [];
  let size = 0;
  const walk = (v: unknown, depth: number): void => {
    if (size >= MAX_EVENT_TEXT || depth > 12) return;
    if (typeof v === 'string') {
      if (v === '') return;
      const piece = v.length > MAX_EVENT_TEXT - size ? v.slice(0, MAX_EVENT_TEXT - size) : v;
      parts.push(piece);
      size += piece.length + 1;
    } else if (Array.isArray(v)) {
      for (const item of v) {
        if (size >= MAX_EVENT_TEXT) return;
        walk(item, depth + 1);
      }
    } else if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) {
        if (size >= MAX_EVENT_TEXT) return;
        if (!SKIPPED_KEYS.has(k)) walk(item, depth + 1);
      }
    }
  };
  walk(root, 0);
  return parts.join(' ');
}
