import { createHash, randomUUID, type Hash } from 'node:crypto';
import { GatehouseError, toGatehouseError } from '../errors';
import { genesisHash, plainJson, sha256Hex } from './chain';
import { signDigest, type DigestSegmentEntry, type DigestSessionEntry, type OpenSessionEntry } from './digest';
import type { EventType, PayloadOf, SessionEndPayload } from './event-catalog';
import type { PrincipalRef } from './events';
import { digestKey, isValidInstanceId, segmentKey } from './layout';
import type { AppendOptions, Recorder, RecorderStats, SegmentSealed, SessionRecorder, SessionStart } from './recorder-types';
import { EventLineBuilder } from './event-line';
import { ChunkPool, LineBuffer } from './line-buffer';
import { encodeChunk } from './segment-codec';
import { recoverInstance, toWitnessHead, type DigestHead } from './recovery';
import type { RecordingWitness } from './witness';
import type { DigestSigner } from './signer';
import type { LogSink } from './sinks/sink';

/** The subset of pino the recorder uses. */
export interface RecorderLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RecorderOptions {
  readonly sink: LogSink;
  /**
   * `strict`: a durable append starts a flush as soon as the previous one ends (group commit);
   * other events go with it or wait up to `flushIntervalMs`. `buffered`: flush every
   * `flushIntervalMs` or past `flushThresholdBytes`.
   */
  readonly mode: 'strict' | 'buffered';
  /** Names this gateway instance in segment and digest keys (`[A-Za-z0-9._-]{1,64}`). */
  readonly instanceId: string;
  readonly clock: () => Date;
  /** The clock in milliseconds, without a Date (every event asks). @default () => clock().getTime() */
  readonly nowMs?: () => number;
  /** Names this recorder run in its digests. @default crypto.randomUUID */
  readonly idGenerator?: () => string;
  readonly signer: DigestSigner;
  readonly flushIntervalMs: number;
  /** Bound on pending (uncompressed) event text in UTF-8 bytes; beyond it appends reject GH_ERR_RECORDING_OVERLOADED. */
  readonly maxBufferBytes: number;
  /** A segment is sealed once its stored size reaches this (appendable sinks). */
  readonly segmentMaxBytes: number;
  readonly segmentMaxAgeSeconds: number;
  readonly digestIntervalSeconds: number;
  readonly onSegmentSealed?: (s: SegmentSealed) => void | Promise<void>;
  readonly logger?: RecorderLogger;
  /** Buffered mode flushes early once this many bytes wait. @default min(1 MiB, maxBufferBytes / 4) */
  readonly flushThresholdBytes?: number;
  /** Largest uncompressed batch per sink write. @default 4 MiB */
  readonly maxBatchBytes?: number;
  /** Retry backoff after a failed write. @default 50 ms doubling up to 2000 ms */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /**
   * Keeps each digest's head and the segments this instance started outside the log store
   * (witness.ts). Without one, crash recovery adopts nothing (it cannot tell a planted segment
   * from its own) and `verify --witness` has nothing to compare with.
   */
  readonly witness?: RecordingWitness;
}

export interface GatehouseRecorderStats extends RecorderStats {
  /** Appends refused before entering the buffer (buffer full, or store failing). `eventsFailed` counts events whose write failed (each once). */
  readonly eventsRefused: number;
  readonly pendingEvents: number;
  /** Successful sink writes of event batches (one per group commit). */
  readonly writes: number;
  readonly writeFailures: number;
  readonly digestsWritten: number;
  readonly digestFailures: number;
  /** Events accepted (in buffered mode: acknowledged) that were never stored. */
  readonly eventsLost: number;
  readonly witnessFailures: number;
}

interface Summary {
  firstSeq: number;
  lastSeq: number;
  lastHash: string;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Events waiting for one sink write. Batches are written strictly in order. */
interface Batch {
  readonly id: number;
  /** The lines, UTF-8 encoded off the V8 heap (line-buffer.ts); released once compressed. */
  readonly buffer: LineBuffer;
  bytes: number;
  events: number;
  readonly sessions: Map<string, Summary>;
  /** No more events join once the writer took it. */
  closed: boolean;
  /** Compressed once; a retry writes the same bytes (and, for put sinks, the same key). */
  gz?: Buffer;
  key?: string;
  waiter?: Deferred;
  failedOnce: boolean;
  /** Sessions whose `session.end` is in this batch. */
  ended?: string[];
}

interface OpenSegment {
  readonly key: string;
  readonly start: Date;
  readonly hash: Hash;
  bytes: number;
  readonly sessions: Map<string, Summary>;
  /** Registered in the witness (before its first byte). */
  registered: boolean;
}

type SealedEntry = DigestSegmentEntry;

const RESOLVED: Promise<void> = Promise.resolve();
const noop = () => undefined;

/**
 * The recorder: chains and serializes each event synchronously into a bounded pending buffer;
 * one writer stores pending events with one sink write per batch (group commit), seals segments
 * and writes signed digests. See recorder-types.ts for the durability contract.
 */
export class GatehouseRecorder implements Recorder {
  readonly mode: 'strict' | 'buffered';
  readonly instanceId: string;
  readonly runId: string;

  private readonly sink: LogSink;
  private readonly clock: () => Date;
  private readonly nowMs: () => number;
  private readonly signer: DigestSigner;
  private readonly log?: RecorderLogger;
  private readonly onSealed?: (s: SegmentSealed) => void | Promise<void>;
  private readonly flushIntervalMs: number;
  private readonly maxBufferBytes: number;
  private readonly flushThresholdBytes: number;
  private readonly maxBatchBytes: number;
  private readonly segmentMaxBytes: number;
  private readonly segmentMaxAgeMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly startedAt: Date;

  private readonly sessions = new Map<string, RecorderSession>();
  private readonly queue: Batch[] = [];
  private readonly chunks = new ChunkPool();
  private nextBatchId = 0;
  private writeTarget = -1;
  private pendingBytes = 0;
  private pendingEvents = 0;

  private writing = false;
  private writerScheduled = false;
  private flushTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private digestTimer?: NodeJS.Timeout;
  private retryDelay = 0;

  private segment?: OpenSegment;
  private segmentSeq = 0;
  private readonly ownKeys = new Set<string>();
  private sealedSinceDigest: SealedEntry[] = [];
  private head?: DigestHead | null;
  private recovery?: Promise<void>;
  private digestDue = false;
  private digestFinal = false;
  private digestWaiters: Deferred[] = [];
  private readonly lines: EventLineBuilder;
  private readonly witness?: RecordingWitness;
  /** Last stored event of each session not yet ended in the store: a digest's `openSessions`. */
  private readonly written = new Map<string, { seq: number; hash: string }>();
  private lostSinceDigest = 0;

  private closing?: Promise<void>;
  private stopped = false;

  private eventsWritten = 0;
  private eventsFailed = 0;
  private eventsRefused = 0;
  private segmentsSealed = 0;
  private writes = 0;
  private writeFailures = 0;
  private digestsWritten = 0;
  private digestFailures = 0;
  private eventsLost = 0;
  private witnessFailures = 0;
  private healthy = true;
  private lastError?: string;

  constructor(options: RecorderOptions) {
    if (!isValidInstanceId(options.instanceId)) {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', `recording instanceId must match [A-Za-z0-9._-]{1,64}, got ${JSON.stringify(options.instanceId)}`);
    }
    this.mode = options.mode;
    this.instanceId = options.instanceId;
    this.sink = options.sink;
    this.clock = options.clock;
    this.nowMs = options.nowMs ?? (() => this.clock().getTime());
    this.signer = options.signer;
    this.log = options.logger;
    this.onSealed = options.onSegmentSealed;
    this.runId = (options.idGenerator ?? randomUUID)();
    this.flushIntervalMs = options.flushIntervalMs;
    this.maxBufferBytes = options.maxBufferBytes;
    this.flushThresholdBytes = options.flushThresholdBytes ?? Math.min(1024 * 1024, Math.floor(options.maxBufferBytes / 4));
    this.maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
    this.segmentMaxBytes = options.segmentMaxBytes;
    this.segmentMaxAgeMs = options.segmentMaxAgeSeconds * 1000;
    this.retryMinMs = options.retryMinMs ?? 50;
    this.retryMaxMs = options.retryMaxMs ?? 2000;
    this.startedAt = this.clock();
    this.lines = new EventLineBuilder(this.nowMs);
    this.witness = options.witness;
    this.digestTimer = setInterval(() => {
      this.digestDue = true;
      this.kick();
    }, options.digestIntervalSeconds * 1000);
    this.digestTimer.unref();
    // Learn the digest chain head (and adopt a crashed predecessor's undigested segments) early.
    this.recovery = this.recover().catch((e) => {
      this.recovery = undefined;
      this.log?.warn({ err: errInfo(e) }, 'recording: could not read the previous digest yet; will retry before the next digest');
    });
  }

  async openSession(start: SessionStart): Promise<SessionRecorder> {
    if (this.closing) throw closedError();
    if (this.sessions.has(start.sessionId)) {
      throw new GatehouseError('GH_ERR_RECORDING_FAILED', `recording session ${start.sessionId} is already open`);
    }
    const session = new RecorderSession(this, start);
    this.sessions.set(start.sessionId, session);
    try {
      await this.appendEvent(session, 'session.start', { protocol: start.protocol, client: start.client }, { durable: this.mode === 'strict' });
    } catch (e) {
      this.sessions.delete(start.sessionId);
      // A start the store refused but kept for its retry will be written: end the session with it,
      // so the record never shows a session that began and went on unrecorded.
      if (session.seq > 0) session.end({ reason: 'recording failed' }).catch(noop);
      else session.markEnded();
      throw e;
    }
    return session;
  }

  stats(): GatehouseRecorderStats {
    return {
      eventsWritten: this.eventsWritten,
      eventsFailed: this.eventsFailed,
      eventsRefused: this.eventsRefused,
      pendingBytes: this.pendingBytes,
      pendingEvents: this.pendingEvents,
      segmentsSealed: this.segmentsSealed,
      lastError: this.lastError,
      healthy: this.healthy,
      writes: this.writes,
      writeFailures: this.writeFailures,
      digestsWritten: this.digestsWritten,
      digestFailures: this.digestFailures,
      eventsLost: this.eventsLost,
      witnessFailures: this.witnessFailures,
    };
  }

  flush(): Promise<void> {
    const last = this.queue[this.queue.length - 1];
    if (!last) return RESOLVED;
    if (this.stopped) return Promise.reject(closedError());
    this.writeTarget = last.id;
    last.waiter ??= deferred();
    this.kick();
    return last.waiter.promise;
  }

  /** Seals the open segment and writes a signed digest now (also runs on a timer and at close). */
  digestNow(): Promise<void> {
    return this.requestDigest(false);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---- appending (hot path) ----------------------------------------------------------------

  /** @internal called by RecorderSession */
  appendEvent(s: RecorderSession, type: EventType, payload: object, options?: AppendOptions): Promise<void> {
    let batch: Batch;
    try {
      batch = this.enqueue(s, type, payload, options);
    } catch (e) {
      return Promise.reject(e);
    }
    if (options?.durable) {
      batch.waiter ??= deferred();
      if (batch.id > this.writeTarget) this.writeTarget = batch.id;
      this.kick();
      return batch.waiter.promise;
    }
    this.scheduleNonDurable();
    return RESOLVED;
  }

  /**
   * A non-durable event (a response, a transcript) rides with the next write: in strict mode the
   * next request's group commit, otherwise the flush timer; at the latest `flushIntervalMs` later.
   * Giving it a write of its own in strict mode doubled the fdatasyncs of a sequential client, and
   * the next request then waited for that commit before its own (measured at one connection:
   * 35 % more requests/s and a third less CPU per request without it).
   */
  private scheduleNonDurable(): void {
    if (this.pendingBytes >= this.flushThresholdBytes) this.kick();
    else this.armFlushTimer();
  }

  /**
   * @internal called by RecorderSession: a non-durable append that throws (instead of returning a
   * rejected promise), so a hot path knows synchronously that the event is in the buffer.
   */
  appendEventNow(s: RecorderSession, type: EventType, payload: object, options?: AppendOptions): void {
    if (options?.durable) throw new GatehouseError('GH_ERR_INTERNAL', 'a durable append must wait for its acknowledgement');
    this.enqueue(s, type, payload, options);
    this.scheduleNonDurable();
  }

  /** Chains, serializes and buffers one event; throws a GatehouseError when it cannot be stored. */
  private enqueue(s: RecorderSession, type: EventType, payload: object, options?: AppendOptions): Batch {
    if (this.stopped) throw closedError();
    if (s.ended) throw new GatehouseError('GH_ERR_RECORDING_CLOSED', `recording session ${s.id} has ended`);
    if (!this.healthy && !options?.durable && type !== 'session.end') {
      // Fail closed: while the store is failing nothing vouches that this event will be stored.
      // Durable appends instead wait for the next retry, which answers them either way. A session's
      // end authorizes nothing: it is kept for the retry too, so a session cut by the failure is
      // sealed once the store is back rather than left looking as if it went on unrecorded.
      this.eventsRefused++;
      throw new GatehouseError('GH_ERR_RECORDING_FAILED', `recording is failing (${this.lastError ?? 'log store write failed'}); operation refused`);
    }
    const seq = s.seq;
    // The canonical line (event-line.ts), built piecewise from the session's pre-serialized parts.
    const c = this.lines.build(s, type, payload, options?.requestId);
    const last = this.queue[this.queue.length - 1];
    // Batches are bounded by text length (exact for ASCII): maxBatchBytes is a size guide, not an account.
    const fresh = !last || last.closed || (last.bytes > 0 && last.bytes + c.length > this.maxBatchBytes);
    const batch = fresh ? this.newBatch() : last;
    let hash: string;
    let size: number;
    try {
      // The canonical line is encoded once: hashed as bytes, then completed in place into the stored line.
      hash = sha256Hex(batch.buffer.stage(c));
      size = batch.buffer.stagedLineBytes;
    } catch (e) {
      if (fresh) batch.buffer.release();
      throw toGatehouseError(e, 'GH_ERR_RECORDING_FAILED');
    }
    if (this.pendingBytes + size > this.maxBufferBytes) {
      if (fresh) batch.buffer.release();
      this.eventsRefused++;
      // Fail closed without advancing the chain: the event does not exist.
      throw new GatehouseError('GH_ERR_RECORDING_OVERLOADED', 'recording buffer is full: the log store is not keeping up, operation refused', {
        details: { pendingBytes: this.pendingBytes, maxBufferBytes: this.maxBufferBytes },
      });
    }
    batch.buffer.commit(hash);
    s.seq = seq + 1;
    s.prev = hash;
    if (fresh) {
      if (last) last.closed = true;
      this.queue.push(batch);
    }
    batch.bytes += size;
    batch.events++;
    const sum = batch.sessions.get(s.id);
    if (sum) {
      sum.lastSeq = seq;
      sum.lastHash = hash;
    } else batch.sessions.set(s.id, { firstSeq: seq, lastSeq: seq, lastHash: hash });
    this.pendingBytes += size;
    this.pendingEvents++;
    return batch;
  }

  private newBatch(): Batch {
    return { id: this.nextBatchId++, buffer: new LineBuffer(this.chunks), bytes: 0, events: 0, sessions: new Map(), closed: false, failedOnce: false };
  }

  /** @internal */
  forgetSession(id: string): void {
    this.sessions.delete(id);
  }

  // ---- the writer ----------------------------------------------------------------------------

  private armFlushTimer(): void {
    if (this.flushTimer || this.stopped) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      const last = this.queue[this.queue.length - 1];
      if (last) this.writeTarget = last.id;
      this.kick();
    }, this.flushIntervalMs);
    this.flushTimer.unref();
  }

  private kick(): void {
    if (this.writing || this.writerScheduled || this.retryTimer || this.stopped) return;
    this.writerScheduled = true;
    // setImmediate (not a microtask) lets every request handled in this loop turn join the batch.
    setImmediate(() => {
      this.writerScheduled = false;
      void this.runWriter();
    });
  }

  private shouldWrite(head: Batch): boolean {
    return (
      this.mode === 'strict' ||
      head.id <= this.writeTarget ||
      head.waiter !== undefined ||
      head.failedOnce ||
      this.pendingBytes >= this.flushThresholdBytes ||
      this.closing !== undefined
    );
  }

  private async runWriter(): Promise<void> {
    if (this.writing || this.stopped) return;
    this.writing = true;
    try {
      for (;;) {
        const first = this.queue[0];
        if (this.digestDue && !first?.failedOnce) await this.runDigest();
        const head = this.queue[0];
        if (!head || !this.shouldWrite(head)) break;
        head.closed = true;
        try {
          await this.writeBatch(head);
        } catch (e) {
          this.onWriteFailure(e, head);
          return;
        }
        this.queue.shift();
        this.pendingBytes -= head.bytes;
        this.pendingEvents -= head.events;
        this.eventsWritten += head.events;
        this.noteWritten(head);
        this.writes++;
        this.retryDelay = 0;
        if (!this.healthy) {
          this.healthy = true;
          this.log?.info({ instanceId: this.instanceId }, 'recording: log store writes recovered');
        }
        head.waiter?.resolve();
      }
    } catch (e) {
      // Only bugs land here; never leave waiters hanging.
      this.onWriteFailure(e, this.queue[0]);
      return;
    } finally {
      this.writing = false;
    }
    if (this.queue.length > 0 && this.mode === 'buffered') this.armFlushTimer();
  }

  /** Per batch (not per event): what the next digest lists as open sessions. */
  private noteWritten(batch: Batch): void {
    for (const [id, sum] of batch.sessions) this.written.set(id, { seq: sum.lastSeq, hash: sum.lastHash });
    if (batch.ended) for (const id of batch.ended) this.written.delete(id);
  }

  /** @internal called by RecorderSession.end: marks the batch that carries `session.end`. */
  appendEnd(s: RecorderSession, payload: SessionEndPayload): Promise<void> {
    let batch: Batch;
    try {
      batch = this.enqueue(s, 'session.end', payload, undefined);
    } catch (e) {
      return Promise.reject(e);
    }
    (batch.ended ??= []).push(s.id);
    if (this.mode === 'strict') {
      batch.waiter ??= deferred();
      if (batch.id > this.writeTarget) this.writeTarget = batch.id;
      this.kick();
      return batch.waiter.promise;
    }
    this.scheduleNonDurable();
    return RESOLVED;
  }

  private async writeBatch(batch: Batch): Promise<void> {
    if (!batch.gz) {
      // The lines stay until they are compressed: a failed encode is retried like a failed write.
      batch.gz = await encodeChunk(batch.buffer.contents());
      batch.buffer.release();
    }
    const gz = batch.gz;
    // A fresh key can collide with an object that already exists (clock stepped back across a
    // restart): never write into it, take the next key instead.
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.sink.append) await this.appendToSegment(batch, gz);
        else await this.putSegment(batch, gz);
        return;
      } catch (e) {
        if (attempt >= 3 || !isExists(e)) throw e;
        this.log?.warn({ err: errInfo(e) }, 'recording: segment key already taken; using the next one');
      }
    }
  }

  private async appendToSegment(batch: Batch, gz: Buffer): Promise<void> {
    const now = this.clock();
    if (this.segment && now.getTime() - this.segment.start.getTime() >= this.segmentMaxAgeMs) await this.sealSegment();
    if (!this.segment) this.segment = this.newSegment(now);
    const seg = this.segment;
    if (!seg.registered && this.witness) {
      // Once per segment: recovery adopts only segments registered before their first byte.
      await this.witness.segmentStarted(this.instanceId, seg.key);
      seg.registered = true;
    }
    try {
      await this.sink.append!(seg.key, gz);
    } catch (e) {
      if (isExists(e) && seg.bytes === 0) this.segment = undefined;
      throw e;
    }
    seg.hash.update(gz);
    seg.bytes += gz.length;
    mergeSummaries(seg.sessions, batch.sessions);
    if (seg.bytes >= this.segmentMaxBytes) await this.sealSegment();
  }

  private async putSegment(batch: Batch, gz: Buffer): Promise<void> {
    if (!batch.key) {
      batch.key = segmentKey(this.instanceId, this.clock(), this.segmentSeq++);
      this.ownKeys.add(batch.key);
    }
    try {
      // Registration runs beside the put (no added latency): recovery adopts only registered keys.
      if (this.witness) await Promise.all([this.witness.segmentStarted(this.instanceId, batch.key), this.putIdempotent(batch.key, gz)]);
      else await this.putIdempotent(batch.key, gz);
    } catch (e) {
      // Someone else's object (not an earlier attempt of ours, which putIdempotent accepts).
      if (isExists(e)) batch.key = undefined;
      throw e;
    }
    this.recordSealed({ key: batch.key, sha256: sha256Hex(gz), bytes: gz.length, sessions: summaryEntries(batch.sessions) });
  }

  private onWriteFailure(e: unknown, head: Batch | undefined): void {
    const err = toGatehouseError(e, 'GH_ERR_RECORDING_FAILED', 'recording write failed');
    const failure =
      err.code === 'GH_ERR_RECORDING_FAILED' ? err : new GatehouseError('GH_ERR_RECORDING_FAILED', `recording write failed: ${err.message}`, { details: err.details, cause: err });
    this.writeFailures++;
    this.healthy = false;
    this.lastError = failure.message;
    if (head && !head.failedOnce) {
      head.failedOnce = true;
      this.eventsFailed += head.events;
    }
    if (failure.details?.torn === true && this.segment) {
      // The sink could not restore the object: stop appending to it. Its stored bytes may now
      // differ from what the digest lists, and the verifier will say so.
      this.log?.error({ key: this.segment.key }, 'recording: segment may hold a torn write; sealing it');
      void this.sealSegment().catch(noop);
    }
    // Everyone waiting is behind the failed write: answer them now (fail closed); the events stay
    // queued and are retried in order.
    for (const b of this.queue) {
      if (b.waiter) {
        const w = b.waiter;
        b.waiter = undefined;
        w.reject(failure);
      }
    }
    this.log?.error({ code: failure.code, err: errInfo(failure), pendingEvents: this.pendingEvents }, 'recording: log store write failed; events kept for retry');
    if (this.stopped) return;
    this.retryDelay = Math.min(this.retryMaxMs, Math.max(this.retryMinMs, this.retryDelay * 2));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, this.retryDelay);
    this.retryTimer.unref();
  }

  private async putIdempotent(key: string, bytes: Buffer): Promise<void> {
    try {
      await this.sink.put(key, bytes);
    } catch (e) {
      // A retry after an ambiguous failure: the earlier attempt may have stored the object.
      if (isExists(e)) {
        const existing = await this.sink.get(key);
        if (existing && existing.equals(bytes)) return;
      }
      throw e;
    }
  }

  private newSegment(now: Date): OpenSegment {
    const key = segmentKey(this.instanceId, now, this.segmentSeq++);
    this.ownKeys.add(key);
    return { key, start: now, hash: createHash('sha256'), bytes: 0, sessions: new Map(), registered: false };
  }

  private async sealSegment(): Promise<void> {
    const seg = this.segment;
    if (!seg) return;
    this.segment = undefined;
    if (seg.bytes === 0) return;
    try {
      await this.sink.sealAppend?.(seg.key);
    } catch (e) {
      this.log?.warn({ err: errInfo(e), key: seg.key }, 'recording: could not release a sealed segment');
    }
    this.recordSealed({ key: seg.key, sha256: seg.hash.digest('hex'), bytes: seg.bytes, sessions: summaryEntries(seg.sessions) });
  }

  private recordSealed(entry: SealedEntry): void {
    this.sealedSinceDigest.push(entry);
    this.segmentsSealed++;
    this.notifySealed(entry);
  }

  private notifySealed(entry: SealedEntry): void {
    if (!this.onSealed) return;
    try {
      const r = this.onSealed({ key: entry.key, sha256: entry.sha256, sessions: entry.sessions.map((s) => s.session) });
      if (r && typeof (r as Promise<void>).then === 'function') {
        (r as Promise<void>).catch((e) => this.log?.warn({ err: errInfo(e), key: entry.key }, 'recording: onSegmentSealed failed'));
      }
    } catch (e) {
      this.log?.warn({ err: errInfo(e), key: entry.key }, 'recording: onSegmentSealed failed');
    }
  }

  // ---- digests -------------------------------------------------------------------------------

  private requestDigest(final: boolean): Promise<void> {
    if (this.stopped) return Promise.reject(closedError());
    const d = deferred();
    this.digestWaiters.push(d);
    this.digestDue = true;
    if (final) this.digestFinal = true;
    this.kick();
    return d.promise;
  }

  private async runDigest(): Promise<void> {
    const waiters = this.digestWaiters;
    const final = this.digestFinal;
    this.digestWaiters = [];
    this.digestDue = false;
    this.digestFinal = false;
    try {
      await this.writeDigest(final);
      for (const w of waiters) w.resolve();
    } catch (e) {
      const err = toGatehouseError(e, 'GH_ERR_RECORDING_FAILED', 'digest write failed');
      this.digestFailures++;
      this.lastError = err.message;
      this.log?.error({ err: errInfo(err) }, 'recording: digest write failed; its segments go into the next digest');
      for (const w of waiters) w.reject(err);
    }
  }

  private async writeDigest(final: boolean): Promise<void> {
    await this.sealSegment();
    if (!this.recovery) this.recovery = this.recover();
    await this.recovery;
    if (!final && this.sealedSinceDigest.length === 0) return;
    const head = this.head ?? null;
    const now = this.clock();
    const seq = head ? head.seq + 1 : 0;
    const entries = this.sealedSinceDigest.slice();
    // A final digest seals the log only when nothing is left open or pending.
    const sealing = final && this.queue.length === 0 && this.sessions.size === 0;
    const openSessions: OpenSessionEntry[] = [...this.written].map(([session, w]) => ({ session, seq: w.seq, hash: w.hash }));
    const lost = this.lostSinceDigest;
    const { bytes, sha256 } = await signDigest(
      {
        instanceId: this.instanceId,
        digestSeq: seq,
        runId: this.runId,
        windowStart: head?.windowEnd ?? this.startedAt.toISOString(),
        windowEnd: now.toISOString(),
        previous: head ? { key: head.key, sha256: head.sha256 } : null,
        segments: entries,
        openSessions,
        ...(sealing ? { final: true } : {}),
        ...(lost > 0 ? { lostEvents: lost } : {}),
      },
      this.signer,
    );
    const key = digestKey(this.instanceId, now, seq);
    await this.putIdempotent(key, bytes);
    this.head = { key, sha256, seq, windowEnd: now.toISOString(), openSessions, final: sealing };
    this.sealedSinceDigest = this.sealedSinceDigest.slice(entries.length);
    this.lostSinceDigest -= lost;
    this.digestsWritten++;
    if (this.witness) {
      // At digest time, never per event. A failed witness write leaves the digest valid; verify
      // then reports the witness as behind.
      try {
        await this.witness.digestWritten(this.instanceId, toWitnessHead(this.head), entries.map((e) => e.key));
      } catch (e) {
        this.witnessFailures++;
        this.log?.error({ err: errInfo(e), witness: this.witness.name }, 'recording: could not update the witness with the new digest');
      }
    }
  }

  /** Finds this instance's last digest and recovers a crashed predecessor's tail (recovery.ts). */
  private async recover(): Promise<void> {
    await this.witness?.register(this.instanceId);
    const outcome = await recoverInstance({
      sink: this.sink,
      signer: this.signer,
      witness: this.witness,
      instanceId: this.instanceId,
      clock: this.clock,
      runId: this.runId,
      allocateKey: (now) => {
        const key = segmentKey(this.instanceId, now, this.segmentSeq++);
        this.ownKeys.add(key);
        return key;
      },
      ownKeys: this.ownKeys,
      startedAt: this.startedAt,
      log: this.log,
    });
    this.head = outcome.head;
    if (outcome.wroteDigest) {
      this.digestsWritten++;
      this.log?.warn(
        { adopted: outcome.adopted.length, rejected: outcome.rejected, closedSessions: outcome.closedSessions.length },
        'recording: recovered the tail of an earlier run (crash): adopted what it wrote, closed its cut sessions',
      );
      // The session index learns where the crashed run's sessions ended up.
      for (const entry of outcome.adopted) this.notifySealed(entry);
      if (outcome.recoverySegment) this.notifySealed(outcome.recoverySegment);
    }
  }

  // ---- shutdown ------------------------------------------------------------------------------

  private async shutdown(): Promise<void> {
    for (const s of [...this.sessions.values()]) {
      s.end({ reason: 'shutdown' }).catch(noop);
    }
    let failure: unknown;
    try {
      await this.flush();
      await this.requestDigest(true);
    } catch (e) {
      failure = e;
    }
    this.stopped = true;
    for (const t of [this.flushTimer, this.retryTimer]) if (t) clearTimeout(t);
    if (this.digestTimer) clearInterval(this.digestTimer);
    this.flushTimer = this.retryTimer = this.digestTimer = undefined;
    await this.sink.close?.().catch(noop);
    if (failure !== undefined) {
      const err = toGatehouseError(failure, 'GH_ERR_RECORDING_FAILED');
      this.eventsLost += this.pendingEvents;
      this.lostSinceDigest += this.pendingEvents;
      this.log?.error({ err: errInfo(err), lostEvents: this.pendingEvents }, 'recording: closed with events not stored');
      throw err;
    }
  }
}

class RecorderSession implements SessionRecorder {
  readonly id: string;
  seq = 0;
  prev: string;
  readonly sessionJson: string;
  readonly principalJson?: string;
  readonly connectionJson?: string;
  private isEnded = false;

  constructor(
    private readonly recorder: GatehouseRecorder,
    start: SessionStart,
  ) {
    this.id = start.sessionId;
    this.prev = genesisHash(start.sessionId);
    this.sessionJson = JSON.stringify(start.sessionId);
    // Serialized once per session, not per event.
    this.principalJson = start.principal === undefined ? undefined : plainJson(start.principal satisfies PrincipalRef);
    this.connectionJson = start.connection === undefined ? undefined : JSON.stringify(start.connection);
  }

  get ended(): boolean {
    return this.isEnded;
  }

  markEnded(): void {
    this.isEnded = true;
  }

  append<T extends EventType>(type: T, payload: PayloadOf<T>, options?: AppendOptions): Promise<void> {
    return this.recorder.appendEvent(this, type, payload, options);
  }

  appendNow<T extends EventType>(type: T, payload: PayloadOf<T>, options?: AppendOptions): void {
    this.recorder.appendEventNow(this, type, payload, options);
  }

  end(payload: SessionEndPayload = {}): Promise<void> {
    if (this.isEnded) return RESOLVED;
    const p = this.recorder.appendEnd(this, payload);
    this.isEnded = true;
    this.recorder.forgetSession(this.id);
    return p;
  }
}

function mergeSummaries(into: Map<string, Summary>, from: Map<string, Summary>): void {
  for (const [id, s] of from) {
    const cur = into.get(id);
    if (cur) {
      cur.lastSeq = s.lastSeq;
      cur.lastHash = s.lastHash;
    } else into.set(id, { ...s });
  }
}

function summaryEntries(m: Map<string, Summary>): DigestSessionEntry[] {
  return [...m].map(([session, s]) => ({ session, firstSeq: s.firstSeq, lastSeq: s.lastSeq, lastHash: s.lastHash }));
}

function isExists(e: unknown): boolean {
  return e instanceof GatehouseError && e.details?.reason === 'exists';
}

function closedError(): GatehouseError {
  return new GatehouseError('GH_ERR_RECORDING_CLOSED', 'recorder is closed');
}

function errInfo(e: unknown): Record<string, unknown> {
  if (e instanceof GatehouseError) return { code: e.code, message: e.message, details: e.details };
  return { message: e instanceof Error ? e.message : String(e) };
}
