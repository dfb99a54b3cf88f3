import type { Principal } from '../identity/principal';

/**
 * The audit event model. Common metadata `{seq, type, code, time}` composed with `session`,
 * `principal` and `connection` blocks (Teleport's events.proto shape), plus the hash chain:
 * `prev` is the SHA-256 (hex) of the previous event's canonical line in the same session, and
 * `hash` the SHA-256 of this event's canonical line (the line without `hash`).
 */
export interface AuditEvent {
  /** Per-session sequence number, starting at 0 with `session.start`. */
  readonly seq: number;
  /** Dotted type: `session.start`, `auth.failure`, `http.request`, `http.response`, `policy.decision`, ... */
  readonly type: string;
  /** Stable code with a severity suffix: `GH1001I` (info), `GH2001W` (warning), `GH3001E` (error). */
  readonly code: string;
  /** RFC 3339 time with milliseconds. */
  readonly time: string;
  readonly session: string;
  /** Written in `session.start` only (the chain binds every later event to it); read it from there. */
  readonly principal?: PrincipalRef;
  readonly connection?: string;
  /** Request id for events that belong to one request/operation within the session. */
  readonly requestId?: string;
  readonly payload: Record<string, unknown>;
  readonly prev: string;
  readonly hash: string;
}

/** What an event stores about the principal: never the token. */
export interface PrincipalRef {
  readonly issuer: string;
  readonly subject: string;
  readonly name: string;
  readonly groups: readonly string[];
  readonly kind: Principal['kind'];
}

export function principalRef(p: Principal): PrincipalRef {
  return { issuer: p.issuer, subject: p.subject, name: p.name, groups: p.groups, kind: p.kind };
}

/** Event types and their stable codes. Add new ones here, never reuse a code. */
export const EVENT_CODES = {
  'session.start': 'GH1000I',
  'session.end': 'GH1001I',
  'auth.failure': 'GH1100W',
  'policy.decision': 'GH1200I',
  'policy.denied': 'GH1201W',
  'approval.requested': 'GH1300I',
  'approval.granted': 'GH1301I',
  'approval.denied': 'GH1302W',
  'approval.expired': 'GH1303W',
  /** The operation's client went away (or the gateway shut down) while it waited. */
  'approval.cancelled': 'GH1304W',
  'http.request': 'GH2000I',
  'http.response': 'GH2001I',
  'http.error': 'GH2002E',
  /** A request body longer than the cap: its total size and SHA-256, after the upload ended. */
  'http.request.body': 'GH2003I',
  'llm.exchange': 'GH2100I',
  'recording.gap': 'GH9000E',
} as const;

export type EventType = keyof typeof EVENT_CODES | (string & {});
