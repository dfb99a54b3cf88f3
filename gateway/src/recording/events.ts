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
  /**
   * Dotted type: `session.start`, `auth.failure`, `http.request`, ... (EVENT_CATALOG). A plain
   * string here: an event read back from a log store is data, not yet known to be registered.
   */
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

// The catalog of event types, codes, severities and payloads: event-catalog.ts.
export { EVENT_CATALOG, EVENT_CODES, isEventType } from './event-catalog';
export type { EventCode, EventSpec, EventType, PayloadOf, Severity } from './event-catalog';
