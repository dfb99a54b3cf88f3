import { genesisHash, lineWithoutHash, sha256Hex, storedLine } from './chain';
import { parseDigest, signDigest, type DigestSegmentEntry, type DigestSessionEntry, type OpenSessionEntry } from './digest';
import type { EventType, PayloadOf } from './event-catalog';
import { EventLineBuilder } from './event-line';
import { compactTime, DIGEST_PREFIX, digestKey, parseDigestKey, parseSegmentKey, SEGMENT_PREFIX } from './layout';
import { decodeSegment, encodeChunk } from './segment-codec';
import type { DigestSigner } from './signer';
import type { LogSink } from './sinks/sink';
import type { RecordingWitness, WitnessHead } from './witness';

/**
 * Crash recovery: attests what a crashed run of an instance left after its last digest, and
 * closes the sessions the crash cut. Run by the same instance when it restarts (its identity is
 * persistent, see server/instance-identity.ts) and by any live replica that finds the instance's
 * lease expired (the sweeper, server/recording-sweeper.ts): in the cloud a replaced task never
 * comes back.
 *
 * What is adopted, and why only that:
 *  - segments of the instance started after its last digest's window, AND registered in the
 *    witness before their first byte was written (RecordingWitness.segmentStarted): a segment
 *    planted in the instance's directory was never registered, so it is never signed as ours;
 *  - whose events are intact: each line's hash recomputes, and each session's chain continues
 *    from genesis, or from the state the last digest attested (`openSessions`), or from the
 *    previous adopted segment.
 * Everything else is rejected, named in the `recording.recovered` event, left undigested, and
 * `verify` fails on it. Without a witness nothing can be told apart from a planted segment, so
 * nothing is adopted.
 *
 * What recovery writes, in one new segment of the crashed instance (then one digest listing the
 * adopted segments with `recovered: true` and the new segment):
 *  - `session.end` with reason `crashed` for every session the crash cut (open at the last digest
 *    or started in the tail, without `session.end`), continuing its chain;
 *  - a recovery session: `session.start`, `recording.recovered` (what was adopted and rejected,
 *    the sessions closed, the last event time known, and what cannot be known: events accepted
 *    but not yet stored when the process died), `session.end`.
 * A sweeper's digest is `final` (the instance is gone; nothing of it may follow but a later run's
 * digests) and names the sweeper in `recoveredBy`.
 */
export interface RecoverOptions {
  readonly sink: LogSink;
  readonly signer: DigestSigner;
  readonly witness?: RecordingWitness;
  /** The crashed instance whose tail is recovered. */
  readonly instanceId: string;
  readonly clock: () => Date;
  /** The run that writes the recovery (the restarted recorder's, or the sweeper's). */
  readonly runId: string;
  /** Set when another instance recovers a dead one: the digest is then final and names it. */
  readonly recoveredBy?: string;
  /** A new segment key of `instanceId` for the recovery segment. */
  readonly allocateKey: (now: Date) => string;
  /** Keys the caller wrote itself in this run (never treated as a crash tail). */
  readonly ownKeys?: ReadonlySet<string>;
  /** When there is no digest yet: the recovery's window start. */
  readonly startedAt: Date;
  readonly log?: { warn(obj: object, msg?: string): void };
  /** Write the recovery record and digest even when there is nothing to adopt or close (a sweeper sealing a dead instance). */
  readonly force?: boolean;
}

export interface DigestHead {
  readonly key: string;
  readonly sha256: string;
  readonly seq: number;
  readonly windowEnd: string;
  /** Sessions open when the digest was written, with their last stored event. */
  readonly openSessions: readonly OpenSessionEntry[];
  readonly final: boolean;
}

export interface RecoveryOutcome {
  /** The head after recovery: the recovery digest when one was written. */
  readonly head: DigestHead | null;
  readonly adopted: readonly DigestSegmentEntry[];
  /** The segment recovery wrote (session.end crashed, recording.recovered). */
  readonly recoverySegment?: DigestSegmentEntry;
  readonly rejected: ReadonlyArray<{ readonly key: string; readonly reason: string }>;
  readonly closedSessions: readonly string[];
  /** The log store's newest digest is older than the witnessed one (rollback seen at start). */
  readonly rolledBack: boolean;
  readonly wroteDigest: boolean;
}

interface ChainState {
  seq: number;
  hash: string;
  ended: boolean;
  lastTime?: string;
}

/** Finds the instance's head (the witness's if the log store lost newer digests) and recovers its tail. */
export async function recoverInstance(o: RecoverOptions): Promise<RecoveryOutcome> {
  const stored = await newestStoredDigest(o.sink, o.instanceId);
  const witnessed = await o.witness?.head(o.instanceId);
  let head = stored;
  let rolledBack = false;
  if (witnessed && (!stored || stored.seq < witnessed.digestSeq)) {
    // The log store lost digests the witness saw: continue after the witnessed one, so the gap
    // stays visible to verify instead of being papered over by a reused seq.
    rolledBack = true;
    o.log?.warn({ instanceId: o.instanceId, stored: stored?.seq ?? null, witnessed: witnessed.digestSeq }, 'recording: the log store holds fewer digests than the witness (rollback?)');
    head = { key: witnessed.digestKey, sha256: witnessed.sha256, seq: witnessed.digestSeq, windowEnd: witnessed.windowEnd, openSessions: [], final: witnessed.final };
  }
  const tail = await tailSegments(o, head);
  const cutAtDigest = head !== null && !head.final && head.openSessions.length > 0;
  if (tail.length === 0 && !cutAtDigest && o.force !== true) return { head, adopted: [], rejected: [], closedSessions: [], rolledBack, wroteDigest: false };

  const registered = o.witness ? await o.witness.startedSegments(o.instanceId) : new Set<string>();
  const chains = new Map<string, ChainState>();
  for (const s of head?.openSessions ?? []) chains.set(s.session, { seq: s.seq, hash: s.hash, ended: false });
  const adopted: DigestSegmentEntry[] = [];
  const rejected: Array<{ key: string; reason: string }> = [];
  const tornKeys: string[] = [];
  let lastTime: string | undefined;
  for (const key of tail) {
    if (!o.witness) {
      rejected.push({ key, reason: 'no witness configured: cannot tell this instance’s segments from planted ones' });
      continue;
    }
    if (!registered.has(key)) {
      rejected.push({ key, reason: 'not registered by this instance before it was written (foreign or planted)' });
      continue;
    }
    const bytes = await o.sink.get(key);
    if (!bytes) continue;
    let lines: string[];
    try {
      const decoded = await decodeSegment(bytes, true);
      lines = decoded.lines;
      if (decoded.tornTail) tornKeys.push(key);
    } catch (e) {
      rejected.push({ key, reason: `does not decompress: ${(e as Error).message}` });
      continue;
    }
    const trial = new Map([...chains].map(([k, v]) => [k, { ...v }]));
    const sessions = new Map<string, DigestSessionEntry & { firstSeq: number }>();
    const broken = checkLines(lines, trial, sessions);
    if (broken) {
      rejected.push({ key, reason: broken });
      continue;
    }
    for (const [k, v] of trial) chains.set(k, v);
    for (const v of trial.values()) if (v.lastTime && (!lastTime || v.lastTime > lastTime)) lastTime = v.lastTime;
    adopted.push({ key, sha256: sha256Hex(bytes), bytes: bytes.length, sessions: [...sessions.values()], recovered: true });
  }

  const now = o.clock();
  const recoveryKey = o.allocateKey(now);
  const closed: string[] = [];
  const lines: string[] = [];
  const time = now.toISOString();
  // The same line builder as the recorder's hot path: recovery writes what the recorder would have.
  const builder = new EventLineBuilder(() => now.getTime());
  const appendLine = <T extends EventType>(session: string, state: ChainState, type: T, payload: PayloadOf<T>) => {
    const seq = state.seq + 1;
    const canonical = builder.build({ sessionJson: JSON.stringify(session), seq, prev: state.hash }, type, payload, undefined);
    const hash = sha256Hex(canonical);
    lines.push(storedLine(canonical, hash));
    state.seq = seq;
    state.hash = hash;
  };
  const by = o.recoveredBy ?? o.instanceId;
  for (const [session, state] of [...chains].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (state.ended) continue;
    appendLine(session, state, 'session.end', { reason: 'crashed', recoveredBy: by, lastEventTime: state.lastTime ?? null });
    closed.push(session);
  }
  const recoverySession = `recovery-${o.instanceId}-${o.runId}`.slice(0, 128);
  const rs: ChainState = { seq: -1, hash: genesisHash(recoverySession), ended: false };
  appendLine(recoverySession, rs, 'session.start', { protocol: 'recording', client: { recoveredBy: by } });
  appendLine(recoverySession, rs, 'recording.recovered', {
    instance: o.instanceId,
    recoveredBy: by,
    lastDigest: head ? { seq: head.seq, key: head.key } : null,
    rolledBack,
    adopted: adopted.map((a) => ({ key: a.key, sha256: a.sha256, bytes: a.bytes, sessions: a.sessions.length, tornTail: tornKeys.includes(a.key) })),
    rejected,
    closedSessions: closed,
    lastEventTime: lastTime ?? null,
    // What recovery cannot know: events the crashed process had accepted (acknowledged to callers
    // in buffered mode) but not yet stored, and anything written after a torn write.
    unknown: 'events accepted but not yet stored when the process died are lost and cannot be counted here',
  });
  appendLine(recoverySession, rs, 'session.end', { reason: 'recovered' });

  const gz = await encodeChunk(Buffer.from(lines.join(''), 'utf8'));
  await o.witness?.segmentStarted(o.instanceId, recoveryKey);
  await o.sink.put(recoveryKey, gz);
  const ownSessions = summarize(lines);
  const recoveryEntry: DigestSegmentEntry = { key: recoveryKey, sha256: sha256Hex(gz), bytes: gz.length, sessions: ownSessions };

  const segments = [...adopted, recoveryEntry];
  const final = o.recoveredBy !== undefined;
  const seq = head ? head.seq + 1 : 0;
  const openSessions: OpenSessionEntry[] = [];
  const { bytes, sha256 } = await signDigest(
    {
      instanceId: o.instanceId,
      digestSeq: seq,
      runId: o.runId,
      windowStart: head?.windowEnd ?? o.startedAt.toISOString(),
      windowEnd: time,
      previous: head ? { key: head.key, sha256: head.sha256 } : null,
      segments,
      openSessions,
      ...(final ? { final: true, recoveredBy: by } : {}),
    },
    o.signer,
  );
  const key = digestKey(o.instanceId, now, seq);
  await o.sink.put(key, bytes);
  const newHead: DigestHead = { key, sha256, seq, windowEnd: time, openSessions, final };
  await o.witness?.digestWritten(o.instanceId, toWitnessHead(newHead), segments.map((s) => s.key));
  return { head: newHead, adopted, recoverySegment: recoveryEntry, rejected, closedSessions: closed, rolledBack, wroteDigest: true };
}

export function toWitnessHead(h: DigestHead): WitnessHead {
  return { digestSeq: h.seq, digestKey: h.key, sha256: h.sha256, final: h.final, windowEnd: h.windowEnd };
}

/** Checks every line's hash and each session's chain; returns why not, or undefined. */
function checkLines(lines: readonly string[], chains: Map<string, ChainState>, sessions: Map<string, DigestSessionEntry & { firstSeq: number }>): string | undefined {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    let e: { seq?: unknown; session?: unknown; type?: unknown; prev?: unknown; hash?: unknown; time?: unknown };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      return `line ${i + 1} is not JSON`;
    }
    const split = lineWithoutHash(line);
    if (typeof e.session !== 'string' || typeof e.seq !== 'number' || typeof e.prev !== 'string' || !split || split.hash !== e.hash || sha256Hex(split.canonical) !== e.hash) {
      return `line ${i + 1} does not match its hash`;
    }
    const state = chains.get(e.session);
    if (!state) {
      if (e.seq !== 0 || e.type !== 'session.start' || e.prev !== genesisHash(e.session)) {
        // A session that began before the last digest and is not in its openSessions (a digest
        // written by an older gateway): its chain cannot be checked from here; accept it from
        // this event on, and say so through the verifier's chain check, which covers it.
        if (e.seq === 0) return `session ${e.session} seq 0 is not a valid session.start`;
      }
      chains.set(e.session, { seq: e.seq, hash: e.hash as string, ended: e.type === 'session.end', lastTime: e.time as string });
    } else {
      if (state.ended) return `session ${e.session} continues after session.end`;
      if (e.seq !== state.seq + 1 || e.prev !== state.hash) return `session ${e.session} seq ${e.seq} does not continue its chain`;
      state.seq = e.seq;
      state.hash = e.hash as string;
      state.lastTime = e.time as string;
      if (e.type === 'session.end') state.ended = true;
    }
    const s = sessions.get(e.session);
    if (s) sessions.set(e.session, { ...s, lastSeq: e.seq, lastHash: e.hash as string });
    else sessions.set(e.session, { session: e.session, firstSeq: e.seq, lastSeq: e.seq, lastHash: e.hash as string });
  }
  return undefined;
}

function summarize(lines: readonly string[]): DigestSessionEntry[] {
  const m = new Map<string, DigestSessionEntry>();
  for (const line of lines) {
    const e = JSON.parse(line) as { session: string; seq: number; hash: string };
    const s = m.get(e.session);
    m.set(e.session, { session: e.session, firstSeq: s ? s.firstSeq : e.seq, lastSeq: e.seq, lastHash: e.hash });
  }
  return [...m.values()];
}

/** The instance's newest digest in the log store (by seq), parsed. */
export async function newestStoredDigest(sink: LogSink, instanceId: string): Promise<DigestHead | null> {
  let best = -1;
  let bestKey: string | undefined;
  for (const k of await sink.list(DIGEST_PREFIX)) {
    const p = parseDigestKey(k);
    if (p?.instanceId === instanceId && p.digestSeq > best) {
      best = p.digestSeq;
      bestKey = k;
    }
  }
  if (!bestKey) return null;
  const bytes = await sink.get(bestKey);
  if (!bytes) throw new Error(`digest ${bestKey} vanished while reading it`);
  const d = parseDigest(bytes);
  return { key: bestKey, sha256: sha256Hex(bytes), seq: d.digestSeq, windowEnd: d.windowEnd, openSessions: d.openSessions ?? [], final: d.final === true };
}

/** Segment keys of the instance after the head's window that no digest lists and the caller did not write. */
async function tailSegments(o: RecoverOptions, head: DigestHead | null): Promise<string[]> {
  const listed = new Set<string>();
  if (head) {
    const bytes = await o.sink.get(head.key);
    if (bytes) for (const s of parseDigest(bytes).segments) listed.add(s.key);
  }
  const since = head ? compactTime(new Date(head.windowEnd)) : '';
  const out: string[] = [];
  for (const key of await listRecentSegments(o.sink, o.clock(), head ? new Date(head.windowEnd) : undefined)) {
    const p = parseSegmentKey(key);
    if (!p || p.instanceId !== o.instanceId || o.ownKeys?.has(key) || listed.has(key)) continue;
    if (p.startCompact < since) continue;
    out.push(key);
  }
  return out.sort();
}

/**
 * Segment keys from the day of `since` (or the last two days when there is no digest yet) to
 * today, so a restart does not walk the whole store. Older crash tails stay undigested and the
 * verifier reports them as such.
 */
async function listRecentSegments(sink: LogSink, now: Date, since: Date | undefined): Promise<string[]> {
  const dayMs = 86_400_000;
  let from = since ? since.getTime() : now.getTime() - 2 * dayMs;
  if (now.getTime() - from > 31 * dayMs) from = now.getTime() - 31 * dayMs;
  const keys: string[] = [];
  const lastDay = Math.floor(now.getTime() / dayMs);
  for (let day = Math.floor(from / dayMs); day <= lastDay; day++) {
    const iso = new Date(day * dayMs).toISOString();
    keys.push(...(await sink.list(`${SEGMENT_PREFIX}${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/`)));
  }
  return keys;
}
