import type { AuditEvent } from '../recording/events';
import { compareSegmentKeys, parseSegmentKey, SEGMENT_PREFIX } from '../recording/layout';
import { decodeSegment } from '../recording/segment-codec';
import type { LogSink } from '../recording/sinks/sink';
import type { SqlSessionIndex } from './sql-session-index';

export interface RebuildReport {
  readonly segments: number;
  readonly sessions: number;
  readonly events: number;
}

/**
 * Rebuilds the session index from the log store, the source of truth: every segment in key order,
 * each session's row from its `session.start` (and `session.end`), each event's search row, and
 * the segment keys. Idempotent: rows already present are kept (events by session and seq), so it
 * also fills what an index outage dropped. Reads what the record holds, so the index stays masked.
 */
export async function rebuildSessionIndex(sink: LogSink, index: SqlSessionIndex, onSegment?: (key: string, done: number, total: number) => void): Promise<RebuildReport> {
  await index.init();
  const keys = (await sink.list(SEGMENT_PREFIX))
    .map((key) => ({ ...(parseSegmentKey(key) ?? { instanceId: '', startCompact: '', segmentSeq: 0 }), key }))
    .sort(compareSegmentKeys)
    .map((k) => k.key);
  let sessions = 0;
  let events = 0;
  for (const [i, key] of keys.entries()) {
    const bytes = await sink.get(key);
    if (bytes === undefined) continue; // listed, then gone: the verifier reports that, not the index
    // A torn tail (crash) still yields its complete lines.
    const { lines } = await decodeSegment(bytes, true);
    const inSegment = new Set<string>();
    for (const line of lines) {
      const e = JSON.parse(line) as AuditEvent;
      inSegment.add(e.session);
      if (e.type === 'session.start') {
        sessions++;
        const client = (e.payload.client ?? {}) as Record<string, unknown>;
        await index.sessionStarted({
          id: e.session,
          protocol: typeof e.payload.protocol === 'string' ? e.payload.protocol : 'unknown',
          connection: e.connection ?? null,
          subject: e.principal?.subject ?? null,
          userName: e.principal?.name ?? null,
          issuer: e.principal?.issuer ?? null,
          groups: e.principal?.groups ?? [],
          clientAddress: typeof client.address === 'string' ? client.address : null,
          startedAt: new Date(e.time),
          status: 'open',
          clientSessionId: typeof client.clientSessionId === 'string' ? client.clientSessionId : null,
        });
      } else if (e.type === 'session.end') {
        const p = e.payload as { reason?: string; requests?: number; denied?: number; counters?: Record<string, number> };
        await index.sessionEnded(e.session, {
          endedAt: new Date(e.time),
          status: p.reason === 'auth_failed' ? 'auth_failed' : 'closed',
          eventCount: e.seq + 1,
          requestCount: p.requests ?? 0,
          deniedCount: p.denied ?? 0,
          counters: p.counters,
        });
      } else {
        events++;
        index.eventRecorded({ sessionId: e.session, seq: e.seq, time: new Date(e.time), type: e.type, requestId: e.requestId, payload: e.payload });
      }
    }
    await index.flush();
    await index.segmentSealed(key, [...inSegment]);
    onSegment?.(key, i + 1, keys.length);
  }
  return { segments: keys.length, sessions, events };
}
