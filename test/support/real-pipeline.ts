import type { ConnectionConfig } from '../../gateway/src/config/schema';
import { connectionSchema, issuerSchema } from '../../gateway/src/config/schema';
import type { Principal } from '../../gateway/src/identity/principal';
import { createIdentityVerifier, type GatewayIdentityVerifier } from '../../gateway/src/identity/verifier';
import { silentLogger } from '../../gateway/src/observability/logger';
import { GatewayPipeline, type ReviewHandler } from '../../gateway/src/pipeline/pipeline';
import type { PolicyEngine } from '../../gateway/src/pipeline/types';
import { createPolicyEngine } from '../../gateway/src/policy/engine';
import type { AuditEvent } from '../../gateway/src/recording/events';
import { compareSegmentKeys, parseSegmentKey, SEGMENT_PREFIX } from '../../gateway/src/recording/layout';
import { readSessionEvents } from '../../gateway/src/recording/reader';
import { decodeSegment } from '../../gateway/src/recording/segment-codec';
import { GatehouseRecorder } from '../../gateway/src/recording/recorder';
import type { RecorderOptions } from '../../gateway/src/recording/recorder';
import { FsLogSink } from '../../gateway/src/recording/sinks/fs/fs-sink';
import { createSecretProvider } from '../../gateway/src/secrets';
import { createSessionIndex, type SqlSessionIndex } from '../../gateway/src/state/sql-session-index';
import { startTestIssuer, type TestIssuer } from './oidc-issuer';
import { InstrumentedSink, makeTempDir, recorderOptions } from './recording-helpers';

/**
 * The real GatewayPipeline with real parts around it, for tests of the seam itself and of the
 * protocols that drive it: an OIDC issuer (oidc-provider) behind the real verifier, the Cedar
 * engine, the recorder on a filesystem sink (wrapped so a test can make the log store fail), and
 * the session index on embedded PGlite. Nothing is a double.
 */
export interface RealPipeline {
  readonly pipeline: GatewayPipeline;
  readonly recorder: GatehouseRecorder;
  /** The log store; set `failWith` to make writes fail (ENOSPC and friends). */
  readonly sink: InstrumentedSink;
  readonly index: SqlSessionIndex;
  readonly issuer: TestIssuer;
  readonly verifier: GatewayIdentityVerifier;
  /** An HTTP connection named `conn` (policy sees its name). */
  readonly connection: ConnectionConfig;
  token(groups?: string[], sub?: string): Promise<string>;
  principal(groups?: string[], sub?: string): Promise<Principal>;
  /** Flushes the recorder and reads one session's events back from the log store. */
  events(sessionId: string): Promise<AuditEvent[]>;
  /** Flushes the recorder and reads every event back from the log store, session by session in order. */
  allEvents(): Promise<AuditEvent[]>;
  /** What the log store holds now, without flushing the recorder's buffer. */
  storedEvents(): Promise<AuditEvent[]>;
  /** Every stored event of this type (after a flush). */
  eventsOf(type: string): Promise<AuditEvent[]>;
  /** Polls the log store until an event of this type (matching `predicate`) is stored. */
  waitForEvent(type: string, predicate?: (e: AuditEvent) => boolean, timeoutMs?: number): Promise<AuditEvent>;
  /** The sessions as the log store tells them: who, which client, and how (whether) they ended. */
  sessions(): Promise<StoredSession[]>;
  /**
   * The events of the sessions that start from now on, for tests that share one pipeline per file
   * (each test looks only at what it caused).
   */
  newSessions(): Promise<EventView>;
  close(): Promise<void>;
}

/** Some of the stored events (RealPipeline.newSessions); every read flushes the recorder first. */
export interface EventView {
  all(): Promise<AuditEvent[]>;
  of(type: string): Promise<AuditEvent[]>;
  /** Polls until an event of this type (matching `predicate`) is stored. */
  waitFor(type: string, predicate?: (e: AuditEvent) => boolean, timeoutMs?: number): Promise<AuditEvent>;
  /** The counters of the view's sessions' `session.end` (masking counts and the like), merged; after they closed. */
  counters(): Promise<Record<string, number>>;
}

/** One session read back from the log store. */
export interface StoredSession {
  readonly id: string;
  readonly subject: string | undefined;
  readonly client: Record<string, unknown>;
  readonly closed: boolean;
  /** `session.end`'s reason. */
  readonly closeReason: string | undefined;
  /** `session.end`'s request count. */
  readonly requests: number | undefined;
  readonly denied: number | undefined;
}

/**
 * What tests of one file share: the issuer and the session index (embedded PGlite takes seconds
 * to start, so once per file, not per test). Sessions have unique ids, so tests do not collide.
 */
export interface PipelineWorld {
  readonly issuer: TestIssuer;
  readonly index: SqlSessionIndex;
  close(): Promise<void>;
}

export async function startPipelineWorld(): Promise<PipelineWorld> {
  const index = createSessionIndex({ embeddedPath: 'memory://' });
  await index.init();
  const issuer = await startTestIssuer();
  return {
    issuer,
    index,
    close: async () => {
      await index.close();
      await issuer.close();
    },
  };
}

export interface RealPipelineOptions {
  readonly world: PipelineWorld;
  /** Cedar policies. */
  readonly policy: string;
  readonly recordingMode?: 'strict' | 'buffered';
  readonly review?: ReviewHandler;
  /** Wraps the policy engine (e.g. one whose engine throws). */
  readonly policyEngine?: (engine: PolicyEngine) => PolicyEngine;
  /** Environment the secret provider reads (`env:NAME` references). @default none */
  readonly env?: Readonly<Record<string, string>>;
  /** The pipeline's default recorded body cap. @default 4096 */
  readonly bodyCapBytes?: number;
  /** Recorder options (e.g. a long `flushIntervalMs`, so only durable writes reach the store on their own). */
  readonly recorder?: Partial<RecorderOptions>;
  /** More trusted issuers (`identity.issuers` entries) beside the world's `corp`. @default none */
  readonly issuers?: readonly Record<string, unknown>[];
}

/** Every event in the log store (all segments), grouped by session in start order, each session in sequence. */
async function readAllEvents(sink: InstrumentedSink): Promise<AuditEvent[]> {
  const keys = (await sink.list(SEGMENT_PREFIX)).map((key) => ({ ...(parseSegmentKey(key) ?? { instanceId: '', startCompact: '', segmentSeq: 0 }), key })).sort(compareSegmentKeys);
  const events: AuditEvent[] = [];
  for (const { key } of keys) {
    const bytes = await sink.get(key);
    if (bytes === undefined) continue;
    for (const line of (await decodeSegment(bytes, true)).lines) {
      const e = JSON.parse(line) as Partial<AuditEvent>;
      if (typeof e.session === 'string' && typeof e.seq === 'number') events.push(e as AuditEvent);
    }
  }
  const order = new Map<string, number>();
  for (const e of events) if (!order.has(e.session)) order.set(e.session, order.size);
  return events.sort((a, b) => order.get(a.session)! - order.get(b.session)! || a.seq - b.seq);
}

export async function startRealPipeline(options: RealPipelineOptions): Promise<RealPipeline> {
  const connection = connectionSchema.parse({ name: 'conn', kind: 'http', upstream: 'http://127.0.0.1:9', route: { pathPrefix: '/conn' }, credential: { type: 'none' } }) as ConnectionConfig;
  const { dir, cleanup } = await makeTempDir('gh-pipeline-');
  const { issuer, index } = options.world;
  const verifier = createIdentityVerifier({ issuers: [issuerSchema.parse({ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'] }), ...(options.issuers ?? []).map((i) => issuerSchema.parse(i))] });
  const engine = createPolicyEngine({ policies: options.policy });
  const sink = new InstrumentedSink(new FsLogSink(dir));
  const recorder = new GatehouseRecorder(recorderOptions(sink, { mode: options.recordingMode ?? 'strict', ...options.recorder }));
  const pipeline = new GatewayPipeline({
    mode: 'development',
    verifier,
    policy: options.policyEngine ? options.policyEngine(engine) : engine,
    recorder,
    index,
    secrets: createSecretProvider({ mode: 'development', env: { ...options.env } }),
    bodyCapBytes: options.bodyCapBytes ?? 4096,
    logger: silentLogger(),
    review: options.review,
  });
  const token = (groups: string[] = ['developers'], sub = 'alice') => issuer.mintToken({ sub, groups });
  const allEvents = async (): Promise<AuditEvent[]> => {
    await recorder.flush();
    return readAllEvents(sink);
  };
  const eventsOf = async (type: string) => (await allEvents()).filter((e) => e.type === type);
  const waitForEvent = async (type: string, predicate: (e: AuditEvent) => boolean = () => true, timeoutMs = 5000): Promise<AuditEvent> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = await allEvents();
      const e = all.find((x) => x.type === type && predicate(x));
      if (e !== undefined) return e;
      if (Date.now() > deadline) throw new Error(`no ${type} event was stored within ${timeoutMs} ms; have: ${all.map((x) => x.type).join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    pipeline,
    recorder,
    sink,
    index,
    issuer,
    verifier,
    connection,
    token,
    principal: async (groups, sub) => verifier.verify(await token(groups, sub)),
    events: async (sessionId) => {
      sink.failWith = undefined;
      await recorder.flush();
      return readSessionEvents(sink, sessionId);
    },
    allEvents,
    storedEvents: () => readAllEvents(sink),
    eventsOf,
    waitForEvent,
    newSessions: async () => {
      const earlier = new Set((await allEvents()).map((e) => e.session));
      const mine = (e: AuditEvent): boolean => !earlier.has(e.session);
      const all = async () => (await allEvents()).filter(mine);
      return {
        all,
        of: async (type) => (await all()).filter((e) => e.type === type),
        waitFor: (type, predicate = () => true, timeoutMs) => waitForEvent(type, (e) => mine(e) && predicate(e), timeoutMs),
        counters: async () => {
          const counters: Record<string, number> = {};
          for (const e of await all()) {
            if (e.type !== 'session.end') continue;
            for (const [k, v] of Object.entries((e.payload.counters ?? {}) as Record<string, number>)) counters[k] = (counters[k] ?? 0) + v;
          }
          return counters;
        },
      };
    },
    sessions: async () => {
      const all = await allEvents();
      return all
        .filter((e) => e.type === 'session.start')
        .map((start) => {
          const end = all.find((e) => e.session === start.session && e.type === 'session.end');
          return {
            id: start.session,
            subject: start.principal?.subject,
            client: (start.payload.client ?? {}) as Record<string, unknown>,
            closed: end !== undefined,
            closeReason: end?.payload.reason as string | undefined,
            requests: end?.payload.requests as number | undefined,
            denied: end?.payload.denied as number | undefined,
          };
        });
    },
    close: async () => {
      sink.failWith = undefined;
      await pipeline.closeAll('test_end');
      await recorder.close().catch(() => undefined);
      // The world's index outlives this pipeline: let its pending updates land first.
      verifier.close();
      await cleanup();
    },
  };
}
