import { GatehouseError } from '../errors';
import { eventHash, genesisHash } from './chain';
import type { AuditEvent } from './events';
import { compareSegmentKeys, parseSegmentKey, SEGMENT_PREFIX } from './layout';
import { decodeSegment } from './segment-codec';
import type { LogSink } from './sinks/sink';

/**
 * Reads one session back from the log store. With the segment keys from the session index it
 * reads only those; without, it scans every segment (slow on a large store, but always works).
 */
export async function readSessionEvents(sink: LogSink, sessionId: string, segmentKeys?: readonly string[]): Promise<AuditEvent[]> {
  const keys = segmentKeys ? [...segmentKeys] : await sink.list(SEGMENT_PREFIX);
  const parsed = keys.map((key) => ({ ...(parseSegmentKey(key) ?? { instanceId: '', startCompact: '', segmentSeq: 0 }), key })).sort(compareSegmentKeys);
  const events: AuditEvent[] = [];
  const needle = `"session":${JSON.stringify(sessionId)}`;
  for (const { key } of parsed) {
    const bytes = await sink.get(key);
    if (!bytes) throw new GatehouseError('GH_ERR_NOT_FOUND', `segment ${key} of session ${sessionId} is missing from the log store`);
    const { lines } = await decodeSegment(bytes, true);
    for (const line of lines) {
      // Cheap pre-filter before parsing: segments interleave many sessions.
      if (!line.includes(needle)) continue;
      const e = JSON.parse(line) as AuditEvent;
      if (e.session === sessionId) events.push(e);
    }
  }
  return events.sort((a, b) => a.seq - b.seq);
}

export interface ChainCheck {
  /** True when seq runs 0..n without gaps and every prev/hash links. */
  readonly intact: boolean;
  /** Hash of the last event: the session's chain head. */
  readonly head?: string;
  /** First problem found, if any. */
  readonly problem?: string;
}

/** Checks one session's chain on its own (the full proof is `verifyLog`). */
export function checkSessionChain(sessionId: string, events: readonly AuditEvent[]): ChainCheck {
  let prev = genesisHash(sessionId);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.seq !== i) return { intact: false, problem: `seq ${i} is missing` };
    if (e.prev !== prev) return { intact: false, problem: `seq ${i}: prev does not link` };
    const { hash: _h, ...rest } = e;
    if (eventHash(rest as unknown as Record<string, unknown>) !== e.hash) return { intact: false, problem: `seq ${i}: content does not match its hash` };
    prev = e.hash;
  }
  return { intact: true, head: events.length > 0 ? prev : undefined };
}

export interface SessionTranscript {
  readonly session: {
    readonly id: string;
    readonly protocol?: string;
    readonly principal?: AuditEvent['principal'];
    readonly connection?: string;
    readonly client?: unknown;
    readonly startedAt?: string;
    readonly endedAt?: string;
    readonly endReason?: unknown;
    readonly eventCount: number;
    readonly chain: ChainCheck;
  };
  readonly events: AuditEvent[];
}

export async function exportSession(sink: LogSink, sessionId: string, segmentKeys?: readonly string[]): Promise<SessionTranscript> {
  const events = await readSessionEvents(sink, sessionId, segmentKeys);
  if (events.length === 0) throw new GatehouseError('GH_ERR_NOT_FOUND', `session ${sessionId} has no events in the log store`);
  const start = events[0]!.type === 'session.start' ? events[0] : undefined;
  const last = events[events.length - 1]!;
  const end = last.type === 'session.end' ? last : undefined;
  return {
    session: {
      id: sessionId,
      protocol: start?.payload.protocol as string | undefined,
      principal: events[0]!.principal,
      connection: events[0]!.connection,
      client: start?.payload.client,
      startedAt: events[0]!.time,
      endedAt: end?.time,
      endReason: end?.payload.reason,
      eventCount: events.length,
      chain: checkSessionChain(sessionId, events),
    },
    events,
  };
}

/** A plain-text rendering for terminals and replay: one block per event, in order. */
export function renderTranscript(t: SessionTranscript): string {
  const s = t.session;
  const out: string[] = [];
  out.push(`session ${s.id}${s.protocol ? ` (${s.protocol})` : ''}`);
  if (s.principal) out.push(`  principal: ${s.principal.name} <${s.principal.subject}> via ${s.principal.issuer} [${s.principal.kind}]${s.principal.groups.length ? ` groups: ${s.principal.groups.join(', ')}` : ''}`);
  if (s.connection) out.push(`  connection: ${s.connection}`);
  out.push(`  started: ${s.startedAt ?? '?'}   ended: ${s.endedAt ?? '(open)'}   events: ${s.eventCount}`);
  out.push(`  chain: ${s.chain.intact ? `intact, head ${s.chain.head}` : `BROKEN: ${s.chain.problem}`}`);
  out.push('');
  for (const e of t.events) {
    out.push(`#${e.seq} ${e.time} ${e.type} ${e.code}${e.requestId ? ` request=${e.requestId}` : ''}`);
    for (const line of renderPayload(e.payload)) out.push(`    ${line}`);
  }
  return out.join('\n') + '\n';
}

function renderPayload(payload: Record<string, unknown>): string[] {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(payload)) {
    if (typeof v === 'string' && v.includes('\n')) {
      lines.push(`${k}:`);
      for (const l of v.split('\n')) lines.push(`  | ${l}`);
    } else lines.push(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return lines;
}
