import type { EventType, PayloadOf, SessionEndPayload } from './event-catalog';
import type { PrincipalRef } from './events';

/**
 * The recorder as the pipeline sees it. Implementation: recording/recorder.ts.
 *
 * Durability contract: `append(..., { durable: true })` resolves only once the event is durably
 * stored by the sink (strict mode uses this for request events); otherwise it resolves once the
 * event is accepted into the bounded buffer. Either way it rejects with a GatehouseError
 * (GH_ERR_RECORDING_FAILED / GH_ERR_RECORDING_OVERLOADED / GH_ERR_RECORDING_CLOSED) when the event
 * cannot be stored, and the caller must then refuse the operation it describes (fail closed).
 */
export interface SessionStart {
  /** Unique forever (each id starts its own chain at seq 0): use a random, time-sortable id. */
  readonly sessionId: string;
  readonly protocol: string;
  readonly principal?: PrincipalRef;
  readonly connection?: string;
  /** Client address and any client-declared metadata (user agent, client session id). */
  readonly client: Record<string, unknown>;
}

export interface AppendOptions {
  readonly requestId?: string;
  /** Wait for the sink's durable acknowledgement. */
  readonly durable?: boolean;
}

export interface SessionRecorder {
  readonly id: string;
  /** The seq the next event gets (the session index names indexed events by it). Optional for other recorders. */
  readonly seq?: number;
  /** Only registered types (event-catalog.ts); an unregistered one rejects with GH_ERR_EVENT_UNREGISTERED. */
  append<T extends EventType>(type: T, payload: PayloadOf<T>, options?: AppendOptions): Promise<void>;
  /**
   * A non-durable append that throws the GatehouseError instead of rejecting, so a hot path can
   * forward in the same turn once it returns. Optional: callers fall back to `append`.
   */
  appendNow?<T extends EventType>(type: T, payload: PayloadOf<T>, options?: AppendOptions): void;
  /** Writes `session.end` and closes the chain; further appends reject. */
  end(payload?: SessionEndPayload): Promise<void>;
  readonly ended: boolean;
}

export interface RecorderStats {
  readonly eventsWritten: number;
  readonly eventsFailed: number;
  readonly pendingBytes: number;
  readonly segmentsSealed: number;
  readonly lastError?: string;
  /** False once the sink has failed and not yet recovered. */
  readonly healthy: boolean;
}

/** Called when a segment is sealed, so the session index learns where each session's events are. */
export interface SegmentSealed {
  readonly key: string;
  readonly sha256: string;
  readonly sessions: readonly string[];
}

export interface Recorder {
  readonly mode: 'strict' | 'buffered';
  openSession(start: SessionStart): Promise<SessionRecorder>;
  stats(): RecorderStats;
  /** Stores everything pending. */
  flush(): Promise<void>;
  /** Ends open sessions (`session.end` with reason `shutdown`), seals segments, writes a final digest. */
  close(): Promise<void>;
}
