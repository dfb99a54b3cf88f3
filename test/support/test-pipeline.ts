import type { ConnectionConfig } from '../../gateway/src/config/schema';
import { GatehouseError, type ErrorCode } from '../../gateway/src/errors';
import type { Principal } from '../../gateway/src/identity/principal';
import { DECISION_CODES, type Decision, type DecisionCode, type Operation } from '../../gateway/src/policy/decision';
import type { AppendOptions } from '../../gateway/src/recording/recorder-types';
import type { AuthorizeOptions, ClientInfo, EventType, GatewaySession, PayloadOf, Pipeline, RefuseOptions, RequestEvent, SecretProvider } from '../../gateway/src/pipeline/types';

/**
 * A small, real Pipeline for protocol tests: tokens from a fixed map, decisions from a function,
 * events kept in memory in order, secrets from a map. It can be told to fail recording and to
 * delay durable acknowledgements, and writes a shared `timeline` so tests can prove ordering
 * (e.g. "the request event was durable before the upstream saw the request").
 * End-to-end tests with the real identity/policy/recorder live with the integrator.
 */
export interface RecordedEvent {
  readonly session: string;
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly requestId?: string;
  readonly durable: boolean;
  readonly connection?: string;
  readonly subject?: string;
}

export type DecideFn = (principal: Principal, operation: Operation) => Decision | Decision['effect'];

export interface TestPipelineOptions {
  /** token → principal (fields not given are filled in). */
  readonly tokens?: Record<string, Partial<Principal> & { subject: string }>;
  readonly decide?: DecideFn;
  readonly recordingMode?: 'strict' | 'buffered';
  /** secret reference → value; a reference not in the map throws GH_ERR_SECRET_UNAVAILABLE. */
  readonly secrets?: Record<string, string>;
  readonly bodyCapBytes?: number;
  /** Durable appends resolve after this many ms (gives a racing forward a chance to show up). */
  readonly durableDelayMs?: number;
  readonly timeline?: string[];
}

export function principalFor(subject: string, extra: Partial<Principal> = {}): Principal {
  return {
    issuer: 'https://issuer.test',
    issuerName: 'test',
    subject,
    name: `${subject}@example.test`,
    groups: [],
    kind: 'human',
    tokenId: `tok-${subject}`,
    ...extra,
  };
}

export class TestPipeline implements Pipeline {
  readonly mode = 'development' as const;
  readonly recordingMode: 'strict' | 'buffered';
  readonly bodyCapBytes: number;
  readonly events: RecordedEvent[] = [];
  readonly sessions: TestSession[] = [];
  readonly authFailures: { code: string; client: ClientInfo; connection?: string }[] = [];
  readonly timeline: string[];
  readonly secrets: SecretProvider;
  readonly durableDelayMs: number;
  /** When set, every append rejects with this code (fail-closed tests). */
  failRecording: ErrorCode | undefined;
  /** When set, openSession rejects with this code. */
  failOpenSession: ErrorCode | undefined;
  acceptingRequests = true;
  decide: DecideFn;
  private readonly tokens: Map<string, Principal>;
  private requestCounter = 0;
  private sessionCounter = 0;

  constructor(options: TestPipelineOptions = {}) {
    this.recordingMode = options.recordingMode ?? 'strict';
    this.bodyCapBytes = options.bodyCapBytes ?? 65536;
    this.durableDelayMs = options.durableDelayMs ?? 0;
    this.timeline = options.timeline ?? [];
    this.decide = options.decide ?? (() => 'allow');
    this.tokens = new Map(Object.entries(options.tokens ?? {}).map(([t, p]) => [t, principalFor(p.subject, p)]));
    const secretMap = new Map(Object.entries(options.secrets ?? {}));
    this.secrets = {
      get: async (ref: string) => {
        const v = secretMap.get(ref);
        if (v === undefined) throw new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `secret ${ref} is not available`);
        return v;
      },
    };
  }

  accepting(): boolean {
    return this.acceptingRequests;
  }

  async authenticate(token: string | undefined, client: ClientInfo, _protocol: string, connection?: string): Promise<Principal> {
    if (token === undefined) {
      this.authFailures.push({ code: 'GH_ERR_TOKEN_MISSING', client, connection });
      throw new GatehouseError('GH_ERR_TOKEN_MISSING', 'no bearer token was presented');
    }
    const p = this.tokens.get(token);
    if (p === undefined) {
      this.authFailures.push({ code: 'GH_ERR_TOKEN_SIGNATURE', client, connection });
      throw new GatehouseError('GH_ERR_TOKEN_SIGNATURE', 'the token signature does not verify against the issuer keys');
    }
    return p;
  }

  async openSession(principal: Principal, connection: ConnectionConfig, protocol: string, client: ClientInfo): Promise<GatewaySession> {
    if (this.failOpenSession !== undefined) throw new GatehouseError(this.failOpenSession, 'the session could not be opened');
    const s = new TestSession(this, `s-${++this.sessionCounter}`, principal, connection, client);
    this.sessions.push(s);
    await s.record('session.start', { protocol, client: { ...client } });
    return s;
  }

  nextRequestId(): string {
    return `r-${++this.requestCounter}`;
  }

  eventsOf(type: string): RecordedEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  /** Resolves once an event of this type (optionally matching) was recorded. */
  async waitForEvent(type: string, predicate: (e: RecordedEvent) => boolean = () => true, timeoutMs = 5000): Promise<RecordedEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find((x) => x.type === type && predicate(x));
      if (e !== undefined) return e;
      if (Date.now() > deadline) throw new Error(`no ${type} event was recorded within ${timeoutMs} ms; have: ${this.events.map((x) => x.type).join(', ')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

export class TestSession implements GatewaySession {
  closed = false;
  closeReason: string | undefined;
  readonly notedRequests: { requestId: string; clientRequestId?: string }[] = [];
  readonly counters = new Map<string, number>();

  constructor(
    private readonly pipeline: TestPipeline,
    readonly id: string,
    readonly principal: Principal,
    readonly connection: ConnectionConfig,
    readonly client: ClientInfo,
  ) {}

  async admit<T extends EventType>(operation: Operation, requestId: string, request?: RequestEvent<T>, options?: AuthorizeOptions): Promise<Decision> {
    const decision = await this.authorize(operation, requestId, options);
    if (decision.effect === 'allow' && request !== undefined) await this.recordRequest(request.type, request.payload, requestId);
    return decision;
  }

  refuse(operation: Operation, code: DecisionCode, message: string, requestId: string, options?: RefuseOptions): Promise<void> {
    this.count('denied');
    return this.push('policy.denied', { operation, effect: 'deny', code, reasons: options?.reasons ?? [], message }, { requestId, durable: this.pipeline.recordingMode === 'strict' });
  }

  recordRequest<T extends EventType>(type: T, payload: PayloadOf<T>, requestId: string): Promise<void> {
    return this.push(type, payload, { requestId, durable: this.pipeline.recordingMode === 'strict' });
  }

  recordOutcome<T extends EventType>(type: T, payload: PayloadOf<T>, requestId: string): Promise<void> {
    return this.push(type, payload, { requestId }).catch(() => undefined);
  }

  async authorize(operation: Operation, requestId: string, options?: AuthorizeOptions): Promise<Decision> {
    // As the real pipeline: judged under the operation's own principal when the protocol passes one.
    const principal = options?.principal ?? this.principal;
    const d = this.pipeline.decide(principal, operation);
    const decision: Decision =
      typeof d === 'string'
        ? { effect: d, code: d === 'allow' ? DECISION_CODES.permit : DECISION_CODES.forbid, reasons: ['test'], message: d === 'allow' ? 'allowed' : `${operation.summary} is not allowed by the test policy` }
        : d;
    // The double keeps the whole operation in its record, so tests can see what was judged.
    const payload: Record<string, unknown> = { operation, effect: decision.effect, code: decision.code };
    if (principal !== this.principal) payload.principal = { subject: principal.subject, groups: principal.groups, tokenId: principal.tokenId };
    await this.push(decision.effect === 'deny' ? 'policy.denied' : 'policy.decision', payload, { requestId });
    if (decision.effect === 'deny') this.count('denied');
    return decision;
  }

  record<T extends EventType>(type: T, payload: PayloadOf<T>, options: AppendOptions = {}): Promise<void> {
    return this.push(type, payload, options);
  }

  private async push(type: EventType, payload: object, options: AppendOptions = {}): Promise<void> {
    const p = this.pipeline;
    if (this.closed) throw new GatehouseError('GH_ERR_RECORDING_CLOSED', 'the session is closed');
    if (p.failRecording !== undefined) throw new GatehouseError(p.failRecording, `the recorder refused ${type}`);
    const durable = options.durable === true;
    if (durable && p.durableDelayMs > 0) await new Promise((r) => setTimeout(r, p.durableDelayMs));
    // Deep copy: proves the record holds what was true when it was appended.
    p.events.push({
      session: this.id,
      type,
      payload: JSON.parse(JSON.stringify(payload)) as Record<string, unknown>,
      requestId: options.requestId,
      durable,
      connection: this.connection.name,
      subject: this.principal.subject,
    });
    p.timeline.push(durable ? `record:${type}:durable` : `record:${type}`);
  }

  newRequestId(): string {
    return this.pipeline.nextRequestId();
  }

  noteRequest(requestId: string, clientRequestId?: string): void {
    this.notedRequests.push({ requestId, clientRequestId });
  }

  count(counter: string, by = 1): void {
    this.counters.set(counter, (this.counters.get(counter) ?? 0) + by);
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    await this.record('session.end', { reason });
    this.closed = true;
    this.closeReason = reason;
  }
}
