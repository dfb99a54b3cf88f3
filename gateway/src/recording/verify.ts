import { genesisHash, lineWithoutHash, sha256Hex } from './chain';
import { parseDigest, verifyDigestSignature, type DigestSegmentEntry, type SignedDigest } from './digest';
import { compactTime, compareSegmentKeys, DIGEST_PREFIX, parseDigestKey, parseSegmentKey, SEGMENT_PREFIX, type ParsedSegmentKey } from './layout';
import { decodeSegment } from './segment-codec';
import { keyIdOf } from './signer';
import type { LogSink } from './sinks/sink';

/**
 * Verifies a log store, in this order, stopping at the FIRST broken link:
 *  1. digests, per instance in `digestSeq` order: parse, key id matches the embedded public key,
 *     key trusted, signature (Ed25519 or ECDSA P-256), seq contiguous from 0, `previous` = key
 *     and SHA-256 of the stored bytes of the digest before, windows contiguous, no segment listed
 *     twice, nothing after a `final` digest but a later run's digests;
 *  2. the witness, when given: every instance it knows is in the log, its newest digest is at
 *     least the witnessed one and the digest at the witnessed seq has the witnessed SHA-256
 *     (rollback, truncation, replacement); an instance the witness does not know is foreign;
 *  3. segments, per instance in chronological key order: every listed segment present, SHA-256 of
 *     its bytes as listed, decompresses cleanly, its sessions as the digest says; a segment no
 *     digest lists is a failure if it started before the last digest's window end;
 *  4. within each segment, each session's chain: seq contiguous from 0, seq 0 is `session.start`
 *     with `prev` = SHA-256(`gatehouse:session:<id>`), each `prev` the previous event's `hash`,
 *     each `hash` recomputed over the stored line without its hash member (chain.ts), nothing
 *     after `session.end`;
 *  5. completeness: every event is covered by a signed digest and every instance's log ends with
 *     a sealing (`final`) digest. Otherwise the verification fails (`UNDIGESTED_TAIL`,
 *     `LOG_NOT_SEALED`) unless `allowUnsealedTail` says what may be left unattested (a live
 *     gateway's newest events; then they are warnings). An empty log fails (`EMPTY_LOG`).
 *
 * What a pass means: every event found is covered by a valid signed digest, every session chain
 * is intact, and (unless the tail was allowed) every instance ended sealed, so nothing was cut
 * from the end after that seal without the witness or the missing seal saying so. Warnings that
 * remain: `RECOVERED_SEGMENT` (a crash tail attested late, as found then), `TORN_TAIL`,
 * `KEYS_NOT_TRUSTED` (no trusted keys given: signatures prove consistency, not origin; a
 * fabricated instance with its own key is then indistinguishable unless a witness is given).
 * Without a witness, removing the newest digests and segments of an instance that had sealed
 * earlier, with its last seal intact, is undetectable: that is the witness's job.
 */
export interface VerifyOptions {
  /**
   * Trusted signing keys: SPKI PEM public keys and/or key ids (`ed25519:…`, `ecdsa-p256:…`), or
   * managed keys as fetched from their service (`signers/trusted-key.ts`): a digest they sign must
   * also name that exact key, version included (`keyRef`). Omit only in development.
   */
  readonly trustedKeys?: readonly (string | TrustedKey)[];
  /**
   * Accept events after each instance's last sealing digest (undigested segments, a last digest
   * that is not `final`) as unattested warnings instead of failures: a live gateway's log.
   * @default false
   */
  readonly allowUnsealedTail?: boolean;
  /** The newest digest of each instance as recorded outside the log store (recording/witness.ts). */
  readonly witness?: ReadonlyMap<string, WitnessedHead>;
  /**
   * Verify one session only (the console's badge; `verifySession`): every digest and the witness
   * are checked as for the whole log (they attest the session's segments), but only the segments
   * a digest lists for this session, and the undigested ones, are read, and only this session's
   * chain is followed. The session must be found (`SESSION_NOT_FOUND`).
   * @default every segment and every session
   */
  readonly session?: string;
}

/** What a witness knows about one instance: its newest digest (seq -1: registered, none yet). */
/** A public key together with the managed key it belongs to (`DigestSigner.keyRef`, version included). */
export interface TrustedKey {
  readonly publicKeyPem: string;
  readonly keyRef?: string;
}

/** Key ids trusted whatever the digest names, and key ids trusted only with one exact `keyRef`. */
interface Trust {
  readonly ids: Set<string>;
  readonly pinned: Map<string, Set<string>>;
}

export interface WitnessedHead {
  readonly digestSeq: number;
  readonly digestKey?: string;
  readonly sha256?: string;
  readonly final: boolean;
}

export type VerifyKind = 'digest' | 'segment' | 'event' | 'session';

export interface VerifyFinding {
  /** Stable code, e.g. `SEGMENT_HASH_MISMATCH`. */
  readonly code: string;
  readonly kind: VerifyKind;
  readonly key?: string;
  readonly session?: string;
  readonly seq?: number;
  readonly message: string;
}

/** What was proven about one instance's log. */
export interface InstanceSummary {
  readonly instance: string;
  digests: number;
  /** First digest's window start and last digest's window end: the attested span. */
  from?: string;
  to?: string;
  /** True when the newest digest is `final` and nothing undigested follows it. */
  sealed: boolean;
  /** The newest digest was written by another instance's recovery of a crash. */
  sealedByRecovery: boolean;
  segmentsUndigested: number;
  lostEvents: number;
}

export interface VerifyStats {
  instances: number;
  digests: number;
  segments: number;
  segmentsUndigested: number;
  sessions: number;
  /** Sessions whose last event found is not `session.end` (open, or cut by a crash). */
  sessionsOpen: number;
  events: number;
}

export interface VerifyResult {
  readonly ok: boolean;
  /** Per instance: the attested span and whether it ends sealed. */
  readonly instances: InstanceSummary[];
  readonly firstFailure?: VerifyFinding;
  readonly warnings: VerifyFinding[];
  readonly stats: VerifyStats;
}

class Failed extends Error {
  constructor(readonly finding: VerifyFinding) {
    super(finding.message);
  }
}

function fail(f: VerifyFinding): never {
  throw new Failed(f);
}

interface ListedSegment {
  readonly entry: DigestSegmentEntry;
  readonly digestKey: string;
}

interface InstanceDigests {
  readonly listed: Map<string, ListedSegment>;
  readonly lastWindowEnd?: string;
  readonly summary: InstanceSummary;
  /** SHA-256 of each digest's stored bytes, by seq (for the witness). */
  readonly shaBySeq: Map<number, string>;
}

export async function verifyLog(sink: LogSink, options: VerifyOptions = {}): Promise<VerifyResult> {
  const warnings: VerifyFinding[] = [];
  const stats: VerifyStats = { instances: 0, digests: 0, segments: 0, segmentsUndigested: 0, sessions: 0, sessionsOpen: 0, events: 0 };
  const trusted = trustedKeyIds(options.trustedKeys, warnings);
  const summaries: InstanceSummary[] = [];
  const allowTail = options.allowUnsealedTail === true;
  try {
    const byInstanceDigests = new Map<string, Array<{ key: string; seq: number }>>();
    for (const key of await sink.list(DIGEST_PREFIX)) {
      const p = parseDigestKey(key);
      if (!p) {
        warnings.push({ code: 'UNKNOWN_OBJECT', kind: 'digest', key, message: `${key} is not a digest key; ignored` });
        continue;
      }
      pushTo(byInstanceDigests, p.instanceId, { key, seq: p.digestSeq });
    }
    const byInstanceSegments = new Map<string, Array<ParsedSegmentKey & { key: string }>>();
    for (const key of await sink.list(SEGMENT_PREFIX)) {
      const p = parseSegmentKey(key);
      if (!p) {
        warnings.push({ code: 'UNKNOWN_OBJECT', kind: 'segment', key, message: `${key} is not a segment key; ignored` });
        continue;
      }
      pushTo(byInstanceSegments, p.instanceId, { ...p, key });
    }
    const instances = [...new Set([...byInstanceDigests.keys(), ...byInstanceSegments.keys()])].sort();
    stats.instances = instances.length;
    if (instances.length === 0) fail({ code: 'EMPTY_LOG', kind: 'segment', message: 'no digests and no segments found: nothing was verified (wrong path, or everything deleted)' });

    const digestsOf = new Map<string, InstanceDigests>();
    for (const instance of instances) {
      const d = await verifyDigests(sink, instance, byInstanceDigests.get(instance) ?? [], trusted, warnings, stats);
      digestsOf.set(instance, d);
      summaries.push(d.summary);
    }
    if (options.witness) checkWitness(options.witness, digestsOf, warnings);
    for (const instance of instances) {
      await verifySegments(sink, instance, digestsOf.get(instance)!, byInstanceSegments.get(instance) ?? [], warnings, stats, allowTail, options.session);
    }
    if (options.session !== undefined && stats.sessions === 0) {
      fail({ code: 'SESSION_NOT_FOUND', kind: 'session', session: options.session, message: `session ${options.session} is in no segment of the log (never recorded here, or its segments were removed from the log and from every digest)` });
    }
    for (const summary of summaries) {
      if (summary.sealed) continue;
      const finding: VerifyFinding = {
        code: 'LOG_NOT_SEALED',
        kind: 'digest',
        message:
          summary.digests === 0
            ? `instance ${summary.instance} has no digest: none of its events is attested`
            : `instance ${summary.instance} does not end with a sealing digest (a live gateway, a crash not yet recovered, or its newest digests were removed)`,
      };
      if (!allowTail) fail(finding);
      warnings.push(finding);
    }
    return { ok: true, instances: summaries, warnings, stats };
  } catch (e) {
    if (e instanceof Failed) return { ok: false, instances: summaries, firstFailure: e.finding, warnings, stats };
    throw e;
  }
}

/** Rollback, truncation and replacement, against the heads a witness kept outside the log store. */
function checkWitness(witness: ReadonlyMap<string, WitnessedHead>, digestsOf: Map<string, InstanceDigests>, warnings: VerifyFinding[]): void {
  for (const [instance, head] of [...witness].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const d = digestsOf.get(instance);
    if (!d) {
      if (head.digestSeq < 0) {
        warnings.push({ code: 'WITNESS_NO_RECORD', kind: 'digest', message: `instance ${instance} is known to the witness but wrote nothing yet` });
        continue;
      }
      fail({ code: 'WITNESS_ROLLBACK', kind: 'digest', message: `instance ${instance}: the witness holds digest seq ${head.digestSeq}, the log holds nothing of it (deleted)` });
    }
    if (head.digestSeq < 0) continue;
    const newest = d.summary.digests - 1;
    if (newest < head.digestSeq) {
      fail({
        code: 'WITNESS_ROLLBACK',
        kind: 'digest',
        key: head.digestKey,
        message: `instance ${instance}: the witness holds digest seq ${head.digestSeq}, the log ends at ${newest < 0 ? 'no digest' : `seq ${newest}`} (newest digests removed: rollback or truncation)`,
      });
    }
    const sha = d.shaBySeq.get(head.digestSeq);
    if (head.sha256 !== undefined && sha !== head.sha256) {
      fail({ code: 'WITNESS_MISMATCH', kind: 'digest', key: head.digestKey, message: `instance ${instance}: digest seq ${head.digestSeq} is not the one the witness recorded (replaced)` });
    }
    if (newest > head.digestSeq) {
      warnings.push({ code: 'WITNESS_BEHIND', kind: 'digest', message: `instance ${instance}: the log has digests after the witnessed seq ${head.digestSeq} (the witness write lagged or failed); those are attested by signature only` });
    }
  }
  for (const instance of [...digestsOf.keys()].sort()) {
    if (!witness.has(instance)) {
      fail({ code: 'WITNESS_UNKNOWN_INSTANCE', kind: 'digest', message: `instance ${instance} is in the log but unknown to the witness (fabricated, or written with another state store)` });
    }
  }
}

function trustedKeyIds(keys: readonly (string | TrustedKey)[] | undefined, warnings: VerifyFinding[]): Trust | undefined {
  if (keys === undefined) {
    warnings.push({
      code: 'KEYS_NOT_TRUSTED',
      kind: 'digest',
      message: 'no trusted keys given: digest signatures were checked against the keys embedded in the log (consistency, not origin); pass trusted keys (--trust-key) to prove origin',
    });
    return undefined;
  }
  const trust: Trust = { ids: new Set(), pinned: new Map() };
  for (const k of keys) {
    if (typeof k !== 'string') {
      const id = keyIdOf(k.publicKeyPem);
      if (k.keyRef === undefined) trust.ids.add(id);
      else trust.pinned.set(id, (trust.pinned.get(id) ?? new Set()).add(k.keyRef));
    } else if (k.includes('BEGIN PUBLIC KEY')) trust.ids.add(keyIdOf(k));
    else trust.ids.add(k.trim());
  }
  return trust;
}

/** Why a digest's key is not trusted, or undefined when it is. */
function untrustedBecause(d: SignedDigest, trust: Trust): string | undefined {
  if (trust.ids.has(d.keyId)) return undefined;
  const refs = trust.pinned.get(d.keyId);
  const named = d.keyRef !== undefined ? ` (${d.keyRef})` : '';
  if (refs === undefined) {
    const pinned = [...trust.pinned.values()].flatMap((r) => [...r]);
    return `is signed by key ${d.keyId}${named}, which is not trusted${pinned.length > 0 ? ` (trusted: ${pinned.join(', ')})` : ''}`;
  }
  if (d.keyRef !== undefined && refs.has(d.keyRef)) return undefined;
  return `is signed by key ${d.keyId} but names ${d.keyRef ?? 'no managed key'}, not the trusted ${[...refs].join(', ')} (the key version must match)`;
}

async function verifyDigests(
  sink: LogSink,
  instance: string,
  keys: Array<{ key: string; seq: number }>,
  trusted: Trust | undefined,
  warnings: VerifyFinding[],
  stats: VerifyStats,
): Promise<InstanceDigests> {
  keys.sort((a, b) => a.seq - b.seq);
  const listed = new Map<string, ListedSegment>();
  const summary: InstanceSummary = { instance, digests: 0, sealed: false, sealedByRecovery: false, segmentsUndigested: 0, lostEvents: 0 };
  const shaBySeq = new Map<number, string>();
  let finalAt: { key: string; runId: string } | undefined;
  let prev: { key: string; sha256: string; windowEnd: string; keyId: string } | undefined;
  for (let i = 0; i < keys.length; i++) {
    const { key, seq } = keys[i]!;
    if (seq !== i) {
      if (seq < i) fail({ code: 'DIGEST_DUPLICATE', kind: 'digest', key, message: `instance ${instance} has two digests with seq ${seq}` });
      fail({ code: 'DIGEST_SEQ_GAP', kind: 'digest', key, message: `instance ${instance}: digest seq ${i} is missing (next present: ${seq})` });
    }
    const bytes = await sink.get(key);
    if (!bytes) fail({ code: 'DIGEST_MISSING', kind: 'digest', key, message: `digest ${key} was listed but cannot be read` });
    let d: SignedDigest;
    try {
      d = parseDigest(bytes);
    } catch (e) {
      fail({ code: 'DIGEST_MALFORMED', kind: 'digest', key, message: `digest ${key} is malformed: ${(e as Error).message}` });
    }
    if (d.instanceId !== instance || d.digestSeq !== seq) {
      fail({ code: 'DIGEST_MALFORMED', kind: 'digest', key, message: `digest ${key} names instance ${d.instanceId} seq ${d.digestSeq}, not what its key says` });
    }
    let embeddedId: string;
    try {
      embeddedId = keyIdOf(d.publicKey);
    } catch {
      fail({ code: 'DIGEST_MALFORMED', kind: 'digest', key, message: `digest ${key} carries an unreadable public key` });
    }
    if (embeddedId !== d.keyId) fail({ code: 'DIGEST_KEY_MISMATCH', kind: 'digest', key, message: `digest ${key}: keyId ${d.keyId} does not match its public key (${embeddedId})` });
    const untrusted = trusted && untrustedBecause(d, trusted);
    if (untrusted) fail({ code: 'DIGEST_KEY_UNTRUSTED', kind: 'digest', key, message: `digest ${key} ${untrusted}` });
    if (!verifyDigestSignature(d)) fail({ code: 'DIGEST_SIGNATURE_INVALID', kind: 'digest', key, message: `digest ${key}: signature does not verify with key ${d.keyId}` });
    if (!trusted && prev && prev.keyId !== d.keyId) {
      warnings.push({ code: 'KEY_CHANGED', kind: 'digest', key, message: `digest ${key} is signed by ${d.keyId}, the previous one by ${prev.keyId} (untrusted mode)` });
    }
    if (prev === undefined) {
      if (d.previous !== null) fail({ code: 'DIGEST_CHAIN_BROKEN', kind: 'digest', key, message: `digest ${key} is the first of instance ${instance} but points to ${d.previous.key}` });
    } else if (d.previous === null || d.previous.key !== prev.key || d.previous.sha256 !== prev.sha256) {
      fail({ code: 'DIGEST_CHAIN_BROKEN', kind: 'digest', key, message: `digest ${key} does not chain to ${prev.key} (the previous digest was altered or replaced)` });
    } else if (d.windowStart !== prev.windowEnd) {
      fail({ code: 'DIGEST_CHAIN_BROKEN', kind: 'digest', key, message: `digest ${key} window starts at ${d.windowStart}, the previous ended at ${prev.windowEnd}` });
    }
    if (finalAt && d.runId === finalAt.runId) {
      fail({ code: 'EVENT_AFTER_SEAL', kind: 'digest', key, message: `digest ${key} follows the sealing digest ${finalAt.key} of the same run` });
    }
    finalAt = d.final === true ? { key, runId: d.runId } : undefined;
    for (const entry of d.segments) {
      const p = parseSegmentKey(entry.key);
      if (!p || p.instanceId !== instance) fail({ code: 'DIGEST_MALFORMED', kind: 'digest', key, message: `digest ${key} lists ${entry.key}, not a segment of instance ${instance}` });
      const seen = listed.get(entry.key);
      if (seen) fail({ code: 'SEGMENT_DUPLICATE', kind: 'segment', key: entry.key, message: `segment ${entry.key} is listed by both ${seen.digestKey} and ${key}` });
      listed.set(entry.key, { entry, digestKey: key });
    }
    stats.digests++;
    prev = { key, sha256: sha256Hex(bytes), windowEnd: d.windowEnd, keyId: d.keyId };
    shaBySeq.set(seq, prev.sha256);
    summary.digests++;
    summary.from ??= d.windowStart;
    summary.to = d.windowEnd;
    summary.sealed = d.final === true;
    summary.sealedByRecovery = d.final === true && d.recoveredBy !== undefined;
    summary.lostEvents += d.lostEvents ?? 0;
  }
  return { listed, lastWindowEnd: prev?.windowEnd, summary, shaBySeq };
}

interface ChainState {
  seq: number;
  hash: string;
  ended: boolean;
}

async function verifySegments(
  sink: LogSink,
  instance: string,
  digests: InstanceDigests,
  present: Array<ParsedSegmentKey & { key: string }>,
  warnings: VerifyFinding[],
  stats: VerifyStats,
  allowTail: boolean,
  session?: string,
): Promise<void> {
  const all = new Map<string, ParsedSegmentKey & { key: string }>();
  for (const p of present) all.set(p.key, p);
  for (const key of digests.listed.keys()) if (!all.has(key)) all.set(key, { ...parseSegmentKey(key)!, key });
  const ordered = [...all.values()].sort(compareSegmentKeys);
  const presentKeys = new Set(present.map((p) => p.key));
  const lastEnd = digests.lastWindowEnd === undefined ? undefined : compactTime(new Date(digests.lastWindowEnd));
  const chains = new Map<string, ChainState>();

  for (const seg of ordered) {
    const key = seg.key;
    const listed = digests.listed.get(key);
    // One session: a digested segment that does not hold it is attested by its digest alone.
    if (session !== undefined && listed && !listed.entry.sessions.some((s) => s.session === session)) continue;
    if (listed && !presentKeys.has(key)) fail({ code: 'SEGMENT_MISSING', kind: 'segment', key, message: `segment ${key} (listed by ${listed.digestKey}) is missing` });
    if (!listed) {
      if (lastEnd !== undefined && seg.startCompact < lastEnd) {
        fail({ code: 'SEGMENT_UNDIGESTED', kind: 'segment', key, message: `segment ${key} started before the last digest of instance ${instance} but no digest lists it (inserted?)` });
      }
      const finding: VerifyFinding = { code: 'UNDIGESTED_TAIL', kind: 'segment', key, message: `segment ${key} was written after the last digest (crash, live gateway, or appended by someone else): no digest attests it` };
      if (!allowTail) fail(finding);
      warnings.push(finding);
      stats.segmentsUndigested++;
      digests.summary.segmentsUndigested++;
      digests.summary.sealed = false;
    } else if (listed.entry.recovered) {
      warnings.push({ code: 'RECOVERED_SEGMENT', kind: 'segment', key, message: `segment ${key} was attested by a later run after a crash, as found then` });
    }
    const bytes = await sink.get(key);
    if (!bytes) fail({ code: 'SEGMENT_MISSING', kind: 'segment', key, message: `segment ${key} is missing` });
    if (listed) {
      const sha = sha256Hex(bytes);
      if (sha !== listed.entry.sha256 || bytes.length !== listed.entry.bytes) {
        fail({ code: 'SEGMENT_HASH_MISMATCH', kind: 'segment', key, message: `segment ${key}: SHA-256 ${sha} (${bytes.length} bytes) differs from ${listed.entry.sha256} (${listed.entry.bytes} bytes) in ${listed.digestKey}` });
      }
    }
    const tolerant = !listed || listed.entry.recovered === true;
    let lines: string[];
    try {
      const decoded = await decodeSegment(bytes, tolerant);
      lines = decoded.lines;
      if (decoded.tornTail) warnings.push({ code: 'TORN_TAIL', kind: 'segment', key, message: `segment ${key} ends in an incomplete write (crash while appending); its complete part was checked` });
    } catch (e) {
      fail({ code: 'SEGMENT_CORRUPT', kind: 'segment', key, message: `segment ${key} does not decompress: ${(e as Error).message}` });
    }
    stats.segments++;
    const summaries = new Map<string, { firstSeq: number; lastSeq: number; lastHash: string }>();
    for (let i = 0; i < lines.length; i++) {
      const event = parseEvent(lines[i]!, key, i);
      if (session === undefined || event.session === session) checkChain(event, key, chains, stats);
      const s = summaries.get(event.session);
      if (s) {
        s.lastSeq = event.seq;
        s.lastHash = event.hash;
      } else summaries.set(event.session, { firstSeq: event.seq, lastSeq: event.seq, lastHash: event.hash });
    }
    if (listed && !listed.entry.recovered) {
      const claimed = listed.entry.sessions;
      const same =
        claimed.length === summaries.size &&
        claimed.every((c) => {
          const s = summaries.get(c.session);
          return s !== undefined && s.firstSeq === c.firstSeq && s.lastSeq === c.lastSeq && s.lastHash === c.lastHash;
        });
      if (!same) fail({ code: 'DIGEST_SESSION_MISMATCH', kind: 'segment', key, message: `segment ${key}: its sessions differ from what ${listed.digestKey} lists` });
    }
  }
  stats.sessions += chains.size;
  for (const c of chains.values()) if (!c.ended) stats.sessionsOpen++;
}

interface ParsedEvent {
  readonly seq: number;
  readonly session: string;
  readonly type: string;
  readonly prev: string;
  readonly hash: string;
  /** SHA-256 of the stored line without its hash member. */
  readonly computed: string;
}

function parseEvent(line: string, key: string, index: number): ParsedEvent {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch {
    fail({ code: 'EVENT_MALFORMED', kind: 'event', key, message: `segment ${key} line ${index + 1} is not JSON` });
  }
  const { seq, session, type, prev, hash } = raw;
  if (!Number.isSafeInteger(seq) || typeof session !== 'string' || typeof type !== 'string' || typeof prev !== 'string' || typeof hash !== 'string') {
    fail({ code: 'EVENT_MALFORMED', kind: 'event', key, message: `segment ${key} line ${index + 1} lacks seq, session, type, prev or hash` });
  }
  const split = lineWithoutHash(line);
  if (!split || split.hash !== hash) fail({ code: 'EVENT_MALFORMED', kind: 'event', key, message: `segment ${key} line ${index + 1} does not end with its hash member` });
  return { seq: seq as number, session, type, prev, hash, computed: sha256Hex(split.canonical) };
}

function checkChain(e: ParsedEvent, key: string, chains: Map<string, ChainState>, stats: VerifyStats): void {
  const where = { key, session: e.session, seq: e.seq };
  if (e.computed !== e.hash) fail({ code: 'EVENT_HASH_MISMATCH', kind: 'event', ...where, message: `session ${e.session} seq ${e.seq} in ${key}: content does not match its hash (altered)` });
  const state = chains.get(e.session);
  if (!state) {
    if (e.seq !== 0) fail({ code: 'EVENT_SEQ_GAP', kind: 'session', ...where, message: `session ${e.session}: first event found is seq ${e.seq} in ${key}; earlier events are missing` });
    if (e.type !== 'session.start') fail({ code: 'SESSION_START_MISSING', kind: 'session', ...where, message: `session ${e.session}: seq 0 is ${e.type}, not session.start` });
    if (e.prev !== genesisHash(e.session)) fail({ code: 'EVENT_PREV_MISMATCH', kind: 'event', ...where, message: `session ${e.session} seq 0: prev is not the session's genesis hash` });
    chains.set(e.session, { seq: 0, hash: e.hash, ended: false });
  } else {
    if (state.ended) fail({ code: 'EVENT_AFTER_END', kind: 'session', ...where, message: `session ${e.session}: seq ${e.seq} follows session.end` });
    if (e.seq !== state.seq + 1) {
      fail({ code: 'EVENT_SEQ_GAP', kind: 'session', ...where, message: `session ${e.session}: seq ${e.seq} in ${key} follows seq ${state.seq} (events removed or reordered)` });
    }
    if (e.prev !== state.hash) fail({ code: 'EVENT_PREV_MISMATCH', kind: 'event', ...where, message: `session ${e.session} seq ${e.seq}: prev does not match the hash of seq ${state.seq}` });
    state.seq = e.seq;
    state.hash = e.hash;
  }
  if (e.type === 'session.end') chains.get(e.session)!.ended = true;
  stats.events++;
}

function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

/** `verifyLog` for one session (see `VerifyOptions.session`): the console's verification badge. */
export function verifySession(sink: LogSink, sessionId: string, options: Omit<VerifyOptions, 'session'> = {}): Promise<VerifyResult> {
  return verifyLog(sink, { ...options, session: sessionId });
}

/** Human-readable report for `gatehouse verify`. */
export function formatVerifyResult(r: VerifyResult): string {
  const lines: string[] = [];
  const s = r.stats;
  lines.push(r.ok ? 'OK: log verified' : `FAILED: ${r.firstFailure!.code} (${r.firstFailure!.kind})`);
  if (r.firstFailure) lines.push(`  ${r.firstFailure.message}`);
  lines.push(`  instances ${s.instances}, digests ${s.digests}, segments ${s.segments} (${s.segmentsUndigested} undigested), sessions ${s.sessions} (${s.sessionsOpen} without session.end), events ${s.events}`);
  if (r.ok) {
    const tail = s.segmentsUndigested > 0 || r.instances.some((i) => !i.sealed);
    lines.push(
      tail
        ? '  proven: every digested event is as attested and every session chain is intact; the unsealed tail below is NOT attested'
        : '  proven: every event found is covered by a valid signed digest, every session chain is intact, and every instance ends sealed',
    );
  }
  for (const i of r.instances) {
    const span = i.from ? `attested from ${i.from} to ${i.to}` : 'nothing attested';
    const end = i.sealed ? (i.sealedByRecovery ? 'ends sealed (by crash recovery)' : 'ends sealed') : 'does NOT end sealed';
    const lost = i.lostEvents > 0 ? `, ${i.lostEvents} events lost in crashes or failed writes` : '';
    lines.push(`  instance ${i.instance}: ${i.digests} digests, ${span}, ${end}${i.segmentsUndigested > 0 ? `, ${i.segmentsUndigested} undigested segments` : ''}${lost}`);
  }
  for (const w of r.warnings) lines.push(`WARNING ${w.code}: ${w.message}`);
  return lines.join('\n');
}
