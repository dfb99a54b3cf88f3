import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { GatehouseError } from '../errors';
import type { AuditEvent } from './events';

/**
 * The per-session hash chain.
 *
 * Canonical event line (what is hashed): one JSON object, no whitespace, with the top-level
 * members in this fixed order when present:
 *   seq, type, code, time, session, principal, connection, requestId, payload, prev
 * (any other top-level member follows, sorted by key), never `hash`; each value written exactly as
 * `JSON.stringify` writes it (nested members in the order the producer wrote them; `undefined`
 * members omitted). JSON.parse followed by JSON.stringify reproduces those bytes, so the line can
 * be recomputed from a parsed event (`eventHash`); a verifier in another language instead hashes
 * the stored bytes with the trailing hash member removed (`lineWithoutHash`).
 * `hash` = SHA-256 hex of the UTF-8 bytes of the canonical line. The stored NDJSON line is the
 * canonical line with `,"hash":"<hex>"` inserted before the closing brace.
 * `prev` = the previous event's hash in the same session; for seq 0 it is
 * SHA-256 hex of `gatehouse:session:<sessionId>` (see `genesisHash`).
 *
 * Why not sorted keys for payloads: sorting costs several microseconds per event on the proxy's
 * hot path, and the stored bytes already are the reference. Digests, which are small and rare,
 * use fully sorted `canonicalJson`.
 */
export const TOP_LEVEL_ORDER = [
  'seq',
  'type',
  'code',
  'time',
  'session',
  'principal',
  'connection',
  'requestId',
  'payload',
  'prev',
] as const;

const TOP_LEVEL_SET = new Set<string>([...TOP_LEVEL_ORDER, 'hash']);

const oneShotHash = (crypto as { hash?: (alg: string, data: string | Uint8Array, enc: 'hex') => string }).hash;

/** SHA-256 hex. Uses the one-shot `crypto.hash` where the runtime has it (about twice as fast). */
export const sha256Hex: (data: string | Uint8Array) => string = oneShotHash
  ? (data) => oneShotHash('sha256', data, 'hex')
  : (data) => createHash('sha256').update(data).digest('hex');

/** The `prev` of a session's first event. */
export function genesisHash(sessionId: string): string {
  return sha256Hex(`gatehouse:session:${sessionId}`);
}

/** Canonical JSON of any value: sorted object keys at every level, no whitespace. */
export function canonicalJson(value: unknown): string {
  const out = encode(value, false);
  if (out === undefined) throw notSerializable('value is not JSON-serializable');
  return out;
}

function encode(value: unknown, inArray: boolean): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return inArray ? 'null' : undefined;
    case 'bigint':
      throw notSerializable('bigint values cannot be recorded');
    default:
      break;
  }
  if (ArrayBuffer.isView(value)) throw notSerializable('binary values must be encoded (e.g. base64) before recording');
  const obj = value as { toJSON?: () => unknown };
  if (typeof obj.toJSON === 'function') return encode(obj.toJSON(), inArray);
  if (Array.isArray(value)) {
    let s = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) s += ',';
      s += encode(value[i], true);
    }
    return s + ']';
  }
  const rec = value as Record<string, unknown>;
  const keys = Object.keys(rec).sort();
  let s = '{';
  let first = true;
  for (const k of keys) {
    const v = encode(rec[k], false);
    if (v === undefined) continue;
    if (!first) s += ',';
    first = false;
    s += JSON.stringify(k) + ':' + v;
  }
  return s + '}';
}

function notSerializable(message: string): GatehouseError {
  return new GatehouseError('GH_ERR_RECORDING_FAILED', `event not recordable: ${message}`);
}

/**
 * Canonical line of an event object (without `hash`). Used by the verifier and by anyone who
 * recomputes a hash from a parsed event; the recorder builds the same string piecewise.
 */
export function canonicalEventLine(event: Readonly<Record<string, unknown>>): string {
  let s = '{';
  let first = true;
  const add = (k: string, v: unknown) => {
    const enc = plainJson(v);
    if (enc === undefined) return;
    if (!first) s += ',';
    first = false;
    s += JSON.stringify(k) + ':' + enc;
  };
  for (const k of TOP_LEVEL_ORDER) if (k in event) add(k, event[k]);
  const extra = Object.keys(event)
    .filter((k) => !TOP_LEVEL_SET.has(k))
    .sort();
  for (const k of extra) add(k, event[k]);
  return s + '}';
}

/**
 * `JSON.stringify`, with its failures (bigint, cycles) as GatehouseErrors. No replacer: one would
 * make every event several times slower to serialize. (A Buffer is written as its toJSON form;
 * producers should encode binary themselves, e.g. base64.)
 */
export function plainJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value) as string | undefined;
  } catch (e) {
    throw notSerializable((e as Error).message);
  }
}

/** The stored line's canonical part: the line without its trailing hash member; undefined if absent. */
export function lineWithoutHash(stored: string): { canonical: string; hash: string } | undefined {
  const m = /,"hash":"([0-9a-f]{64})"}$/.exec(stored);
  if (!m) return undefined;
  return { canonical: stored.slice(0, m.index) + '}', hash: m[1]! };
}

/** SHA-256 of an event's canonical line. */
export function eventHash(event: Readonly<Record<string, unknown>>): string {
  return sha256Hex(canonicalEventLine(event));
}

/** The stored NDJSON line (with trailing newline) for a canonical line and its hash. */
export function storedLine(canonical: string, hash: string): string {
  return canonical.slice(0, -1) + ',"hash":"' + hash + '"}\n';
}

/** Builds a complete event from its parts (used by tests and tools; the recorder has a faster path). */
export function sealEvent(event: Omit<AuditEvent, 'hash'>): AuditEvent {
  const hash = eventHash(event as unknown as Record<string, unknown>);
  return { ...event, hash };
}
