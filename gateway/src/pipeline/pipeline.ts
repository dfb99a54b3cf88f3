import type { ConnectionConfig } from '../config/schema';
import { GatehouseError, toGatehouseError } from '../errors';
import type { Principal } from '../identity/principal';
import { newId, requestIdFor } from '../ids';
import type { Logger } from '../observability/logger';
import { DECISION_CODES, type Decision, type DecisionCode, type Operation } from '../policy/decision';
import type { CheckedPrincipal, EventType, PayloadOf, PolicyDeniedPayload, RecordedDecision } from '../recording/event-catalog';
import { principalRef } from '../recording/events';
import type { AppendOptions, Recorder, SessionRecorder } from '../recording/recorder-types';
import type { SessionIndex } from '../state/session-index';
import type { AuthorizeOptions, ClientInfo, GatewaySession, IdentityVerifier, Pipeline, PolicyEngine, RefuseOptions, RequestEvent, SecretProvider } from './types';

/**
 * Hooks the pipeline calls for metrics; kept as a plain interface so the pipeline does not depend
 * on a metrics library.
 */
export interface PipelineObserver {
  authFailure(code: string, protocol: string): void;
  decision(effect: Decision['effect'], connection: string): void;
  recorded(latencyMs: number, ok: boolean): void;
  sessionOpened(protocol: string): void;
  sessionClosed(protocol: string): void;
}

const noObserver: PipelineObserver = {
  authFailure() {},
  decision() {},
  recorded() {},
  sessionOpened() {},
  sessionClosed() {},
};

/**
 * Resolves an operation that policy marked `review`. Until approvals are configured the pipeline
 * fails closed: a review decision becomes a denial. `signal` aborts when the protocol's client
 * went away while the operation waited (the approval is then cancelled).
 */
export type ReviewHandler = (session: GatewaySession, operation: Operation, requestId: string, decision: Decision, signal?: AbortSignal, principal?: Principal) => Promise<Decision>;

export interface PipelineOptions {
  readonly mode: 'development' | 'production';
  readonly verifier: IdentityVerifier;
  readonly policy: PolicyEngine;
  readonly recorder: Recorder;
  readonly index: SessionIndex;
  readonly secrets: SecretProvider;
  readonly bodyCapBytes: number;
  readonly logger: Logger;
  readonly observer?: PipelineObserver;
  readonly review?: ReviewHandler;
  /**
   * Why no new session may start now beyond draining and recording, e.g. a state database not
   * prepared yet (server/state-readiness.ts): its error refuses the session. @default always admitted
   */
  readonly admission?: () => GatehouseError | undefined;
}

export class GatewayPipeline implements Pipeline {
  readonly mode: 'development' | 'production';
  readonly recordingMode: 'strict' | 'buffered';
  readonly secrets: SecretProvider;
  readonly bodyCapBytes: number;
  private readonly observer: PipelineObserver;
  private draining = false;
  private readonly open = new Set<PipelineSession>();

  constructor(private readonly options: PipelineOptions) {
    this.mode = options.mode;
    this.recordingMode = options.recorder.mode;
    this.secrets = options.secrets;
    this.bodyCapBytes = options.bodyCapBytes;
    this.observer = options.observer ?? noObserver;
  }

  accepting(): boolean {
    return !this.draining && this.options.recorder.stats().healthy && this.options.admission?.() === undefined;
  }

  notAccepting(): GatehouseError | undefined {
    if (this.draining) return new GatehouseError('GH_ERR_SHUTTING_DOWN', 'the gateway is shutting down; retry on another replica');
    if (!this.options.recorder.stats().healthy) {
      return new GatehouseError('GH_ERR_RECORDING_FAILED', 'recording is unavailable (the log store refused writes): new operations are refused until it recovers');
    }
    return this.options.admission?.();
  }

  authenticateCached(token: string | undefined): Principal | undefined {
    return token ? this.options.verifier.verifyCached?.(token) : undefined;
  }

  async authenticate(token: string | undefined, client: ClientInfo, protocol: string, connection?: string): Promise<Principal> {
    try {
      if (!token) throw new GatehouseError('GH_ERR_TOKEN_MISSING', 'no token presented: send an OIDC token as a Bearer token (or as the API key / password)');
      return await this.options.verifier.verify(token);
    } catch (e) {
      const error = toGatehouseError(e, 'GH_ERR_TOKEN_MALFORMED');
      this.observer.authFailure(error.code, protocol);
      await this.recordAuthFailure(error, client, protocol, connection);
      throw error;
    }
  }

  async authenticationFailed(error: GatehouseError, client: ClientInfo, protocol: string, connection?: string): Promise<void> {
    this.observer.authFailure(error.code, protocol);
    await this.recordAuthFailure(error, client, protocol, connection);
  }

  /**
   * An authentication failure is recorded as a short session of its own, so it can be found with
   * `sessions list --status auth_failed`. Failing to record it does not change the answer (the
   * request is refused either way) but is logged and counted.
   */
  private async recordAuthFailure(error: GatehouseError, client: ClientInfo, protocol: string, connection?: string): Promise<void> {
    const sessionId = newId('s');
    const startedAt = new Date();
    try {
      const rec = await this.options.recorder.openSession({ sessionId, protocol, connection, client: clientBlock(client) });
      await rec.append('auth.failure', { code: error.code, message: error.message, connection: connection ?? null });
      await rec.end({ reason: 'auth_failed' });
      this.options.index
        .sessionStarted({ id: sessionId, protocol, connection: connection ?? null, subject: null, userName: null, issuer: null, groups: [], clientAddress: client.address, startedAt, status: 'auth_failed' })
        .then(() => this.options.index.sessionEnded(sessionId, { endedAt: new Date(), status: 'auth_failed', eventCount: 3, requestCount: 0, deniedCount: 0 }))
        .catch((err) => this.options.logger.warn({ err: String(err), sessionId }, 'session index update failed'));
    } catch (err) {
      this.options.logger.error({ err: String(err), code: error.code }, 'could not record authentication failure');
    }
  }

  async openSession(principal: Principal, connection: ConnectionConfig, protocol: string, client: ClientInfo): Promise<GatewaySession> {
    if (this.draining) throw new GatehouseError('GH_ERR_SHUTTING_DOWN', 'the gateway is shutting down; retry on another replica');
    const refused = this.options.admission?.();
    if (refused !== undefined) throw refused;
    const sessionId = newId('s');
    const recorder = await this.options.recorder.openSession({
      sessionId,
      protocol,
      principal: principalRef(principal),
      connection: connection.name,
      client: clientBlock(client),
    });
    const session = new PipelineSession(sessionId, principal, connection, protocol, recorder, this.options, this.observer, () => this.open.delete(session));
    this.open.add(session);
    this.observer.sessionOpened(protocol);
    this.options.index
      .sessionStarted({
        id: sessionId,
        protocol,
        connection: connection.name,
        subject: principal.subject,
        userName: principal.name,
        issuer: principal.issuer,
        groups: principal.groups,
        clientAddress: client.address,
        startedAt: new Date(),
        status: 'open',
        clientSessionId: client.clientSessionId ?? null,
      })
      .catch((err) => this.options.logger.warn({ err: String(err), sessionId }, 'session index update failed'));
    return session;
  }

  /** Stops accepting new sessions; open sessions keep working until closed. */
  drain(): void {
    this.draining = true;
  }

  /** Closes every open session (recording `session.end`), e.g. at the end of a graceful shutdown. */
  async closeAll(reason: string): Promise<void> {
    await Promise.allSettled([...this.open].map((s) => s.close(reason)));
  }

  openSessions(): number {
    return this.open.size;
  }
}

function sameGroups(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function deniedPayload(decision: Decision, operation: Operation, principal: CheckedPrincipal | undefined): PolicyDeniedPayload {
  const payload = { effect: 'deny', code: decision.code, reasons: decision.reasons, operation: operation.summary, action: operation.action, message: decision.message } as const;
  return principal === undefined ? payload : { ...payload, principal };
}

function clientBlock(client: ClientInfo): Record<string, unknown> {
  const block: Record<string, unknown> = { address: client.address };
  if (client.port !== undefined) block.port = client.port;
  if (client.userAgent) block.userAgent = client.userAgent;
  if (client.clientSessionId) block.clientSessionId = client.clientSessionId;
  return block;
}

class PipelineSession implements GatewaySession {
  closed = false;
  private eventCount = 1; // session.start
  private requestCount = 0;
  private deniedCount = 0;
  private requestSeq = 0;
  /**
   * Allow decisions waiting for the request's first event (see authorize): one decision, or, when
   * one request yields several operations (a dialect's decode), each of them in order.
   */
  private readonly pendingDecisions = new Map<string, RecordedDecision | RecordedDecision[]>();
  private readonly counters: Record<string, number> = {};

  constructor(
    readonly id: string,
    readonly principal: Principal,
    readonly connection: ConnectionConfig,
    private readonly protocol: string,
    private readonly recorder: SessionRecorder,
    private readonly options: PipelineOptions,
    private readonly observer: PipelineObserver,
    private readonly onClose: () => void,
  ) {}

  admit<T extends EventType>(operation: Operation, requestId: string, request?: RequestEvent<T>, options?: AuthorizeOptions): Decision | Promise<Decision> {
    // No operation runs on an expired credential, whatever the protocol's own expiry handling
    // (a connection's deadline, a key's lifetime) does or forgets: fail closed, answered natively.
    const principal = options?.principal ?? this.principal;
    if (principal.expiresAt !== undefined && this.tokenExpired(principal)) {
      throw new GatehouseError('GH_ERR_SESSION_EXPIRED', 'the token this operation runs under has expired; present a fresh one');
    }
    if (options?.review !== true) {
      // The fast path: decided (and a denial recorded) in this turn when nothing has to wait.
      const decision = this.tryAuthorizeSync(operation, requestId, options?.principal);
      if (decision !== undefined) {
        if (decision.effect !== 'allow' || request === undefined) return decision;
        const recorded = this.recordRequest(request.type, request.payload, requestId);
        return recorded === undefined ? decision : recorded.then(() => decision);
      }
    }
    return this.admitSlowly(operation, requestId, request, options);
  }

  private tokenExpired(principal: Principal): boolean {
    const verifier = this.options.verifier;
    return verifier.expired !== undefined ? verifier.expired(principal) : principal.expiresAt! * 1000 <= Date.now();
  }

  private async admitSlowly<T extends EventType>(operation: Operation, requestId: string, request: RequestEvent<T> | undefined, options: AuthorizeOptions | undefined): Promise<Decision> {
    const decision = await this.authorize(operation, requestId, options);
    if (decision.effect === 'allow' && request !== undefined) await this.recordRequest(request.type, request.payload, requestId);
    return decision;
  }

  refuse(operation: Operation, code: DecisionCode, message: string, requestId: string, options?: RefuseOptions): Promise<void> | undefined {
    this.observer.decision('deny', this.connection.name);
    this.deniedCount++;
    const principal = options?.principal === undefined ? undefined : this.checkedPrincipal(options.principal);
    const payload = deniedPayload({ effect: 'deny', code, reasons: options?.reasons ?? [], message }, operation, principal);
    return this.recordRequest('policy.denied', payload, requestId);
  }

  recordRequest<T extends EventType>(type: T, payload: PayloadOf<T>, requestId?: string): Promise<void> | undefined {
    const strict = this.options.recorder.mode === 'strict';
    if (!strict && this.recordNow(type, payload, { requestId })) return undefined;
    return this.record(type, payload, { requestId, durable: strict });
  }

  recordOutcome<T extends EventType>(type: T, payload: PayloadOf<T>, requestId?: string, failed?: (error: GatehouseError) => void): Promise<void> | undefined {
    try {
      if (this.recordNow(type, payload, { requestId })) return undefined;
    } catch (e) {
      const error = this.outcomeNotRecorded(type, requestId, e);
      // Never inside the call: the protocol may be in the middle of framing the bytes it describes.
      if (failed !== undefined) queueMicrotask(() => failed(error));
      return undefined;
    }
    return this.record(type, payload, { requestId }).catch((e: unknown) => {
      const error = this.outcomeNotRecorded(type, requestId, e);
      failed?.(error);
    });
  }

  recordBeforePassing<T extends EventType>(type: T, payload: PayloadOf<T>, requestId?: string): void {
    if (this.recordNow(type, payload, { requestId })) return;
    // A recorder without a synchronous append: its ordinary buffered path (failures logged and counted).
    void this.record(type, payload, { requestId }).catch((e: unknown) => this.outcomeNotRecorded(type, requestId, e));
  }

  /** The recorder counted the refused event (a failing store also turns it unhealthy: new operations are refused); say which event. */
  private outcomeNotRecorded(type: EventType, requestId: string | undefined, e: unknown): GatehouseError {
    const error = toGatehouseError(e, 'GH_ERR_RECORDING_FAILED');
    this.options.logger.error({ sessionId: this.id, requestId, type, code: error.code }, 'recording failed after forwarding');
    return error;
  }

  async authorize(operation: Operation, requestId: string, options?: AuthorizeOptions): Promise<Decision> {
    const principal = options?.principal ?? this.principal;
    let decision: Decision;
    try {
      decision = this.options.policy.decide(principal, this.connection.name, operation);
    } catch (e) {
      // The engine promises not to throw; if it does, the operation does not go through.
      decision = { effect: 'deny', code: DECISION_CODES.error, reasons: [], message: `policy evaluation failed: ${(e as Error).message}` };
    }
    // A protocol setting can demand an approval where policy allows; it never overrides a denial.
    if (decision.effect === 'allow' && options?.review === true) decision = { ...decision, effect: 'review' };
    if (decision.effect === 'review') {
      const signal = options?.signal;
      decision = await this.review(operation, requestId, decision, typeof signal === 'function' ? signal() : signal, principal);
    }
    this.observer.decision(decision.effect, this.connection.name);
    const checked = this.checkedPrincipal(principal);
    if (decision.effect === 'deny') {
      this.deniedCount++;
      // A denial is answered only once it is recorded durably: the refusal is part of the record.
      await this.record(
        'policy.denied',
        deniedPayload(decision, operation, checked),
        { requestId, durable: this.options.recorder.mode === 'strict' },
      );
    } else {
      // An allowed operation's decision travels in the first event the protocol records for it
      // (its request event): one event fewer per operation on the hot path, same information.
      this.pendDecision(requestId, checked === undefined ? { effect: decision.effect, code: decision.code, reasons: decision.reasons } : { effect: decision.effect, code: decision.code, reasons: decision.reasons, principal: checked });
    }
    return decision;
  }

  /**
   * The principal block recorded with an operation judged under a principal other than the
   * session's (same subject and issuer, since sessions are keyed by them, but another token with
   * other groups, name or kind): the record names who was actually checked. Undefined when it
   * is the session's own (the common case costs one comparison).
   */
  private checkedPrincipal(p: Principal): CheckedPrincipal | undefined {
    const s = this.principal;
    if (p === s) return undefined;
    if (p.name === s.name && p.kind === s.kind && p.subject === s.subject && p.issuer === s.issuer && sameGroups(p.groups, s.groups)) return undefined;
    return { ...principalRef(p), tokenId: p.tokenId };
  }

  tryAuthorizeSync(operation: Operation, requestId: string, principal: Principal = this.principal): Decision | undefined {
    let decision: Decision;
    try {
      decision = this.options.policy.decide(principal, this.connection.name, operation);
    } catch (e) {
      decision = { effect: 'deny', code: DECISION_CODES.error, reasons: [], message: `policy evaluation failed: ${(e as Error).message}` };
    }
    if (decision.effect === 'review') return undefined;
    if (decision.effect === 'deny') {
      // The same policy.denied as authorize; only where it needs no durable wait.
      if (this.options.recorder.mode === 'strict' || this.recorder.appendNow === undefined) return undefined;
      this.observer.decision(decision.effect, this.connection.name);
      this.deniedCount++;
      this.recordNow('policy.denied', deniedPayload(decision, operation, this.checkedPrincipal(principal)), { requestId });
      return decision;
    }
    this.observer.decision(decision.effect, this.connection.name);
    const checked = this.checkedPrincipal(principal);
    this.pendDecision(requestId, checked === undefined ? { effect: decision.effect, code: decision.code, reasons: decision.reasons } : { effect: decision.effect, code: decision.code, reasons: decision.reasons, principal: checked });
    return decision;
  }

  /** Keeps an allow decision for the request's first event; a request's second operation makes it a list. */
  private pendDecision(requestId: string, decision: RecordedDecision): void {
    const earlier = this.pendingDecisions.get(requestId);
    if (earlier === undefined) this.pendingDecisions.set(requestId, decision);
    else if (Array.isArray(earlier)) earlier.push(decision);
    else this.pendingDecisions.set(requestId, [earlier, decision]);
  }

  /**
   * The request's pending decisions into its first event: `decision` (one operation; with several,
   * the last, as a single-operation reader expects) and, with several, `decisions`: every
   * operation's, in the order they were judged.
   */
  private attachDecisions(payload: unknown, requestId: string): void {
    const pending = this.pendingDecisions.get(requestId);
    if (pending === undefined) return;
    this.pendingDecisions.delete(requestId);
    const event = payload as { decision?: RecordedDecision; decisions?: readonly RecordedDecision[] };
    if (Array.isArray(pending)) {
      event.decision = pending[pending.length - 1];
      event.decisions = pending;
    } else {
      event.decision = pending;
    }
  }

  recordNow<T extends EventType>(type: T, payload: PayloadOf<T>, options?: AppendOptions): boolean {
    if (options?.durable || this.recorder.appendNow === undefined) return false;
    const requestId = options?.requestId;
    if (requestId !== undefined && this.pendingDecisions.size > 0) this.attachDecisions(payload, requestId);
    const seq = this.recorder.seq ?? this.eventCount;
    try {
      this.recorder.appendNow(type, payload, options);
    } catch (e) {
      this.observer.recorded(0, false);
      throw toGatehouseError(e, 'GH_ERR_RECORDING_FAILED');
    }
    this.eventCount++;
    this.indexEvent(type, payload, seq, requestId);
    return true;
  }

  private async review(operation: Operation, requestId: string, decision: Decision, signal: AbortSignal | undefined, principal: Principal): Promise<Decision> {
    if (!this.options.review) {
      return { effect: 'deny', code: DECISION_CODES.approvalUnavailable, reasons: decision.reasons, message: `"${operation.summary}" needs approval, but no approvals are configured on this gateway` };
    }
    return this.options.review(this, operation, requestId, decision, signal, principal);
  }

  async record<T extends EventType>(type: T, payload: PayloadOf<T>, options?: AppendOptions): Promise<void> {
    const requestId = options?.requestId;
    if (requestId !== undefined && this.pendingDecisions.size > 0) this.attachDecisions(payload, requestId);
    // Only a durable append has a latency worth measuring; a buffered one returns at once.
    const started = options?.durable ? performance.now() : 0;
    // The recorder assigns the seq synchronously as append starts: read it just before.
    const seq = this.recorder.seq ?? this.eventCount;
    try {
      await this.recorder.append(type, payload, options);
      this.eventCount++;
      this.indexEvent(type, payload, seq, requestId);
      if (options?.durable) this.observer.recorded(performance.now() - started, true);
    } catch (e) {
      this.observer.recorded(options?.durable ? performance.now() - started : 0, false);
      throw toGatehouseError(e, 'GH_ERR_RECORDING_FAILED');
    }
  }

  /** Hands a stored event to the session index's search rows (batched there; never throws here). */
  private indexEvent(type: EventType, payload: object, seq: number, requestId: string | undefined): void {
    const index = this.options.index;
    // Event rows off (the embedded store's default): no per-event object or Date on the hot path.
    if (index.eventRecorded === undefined || index.indexEvents === false) return;
    try {
      index.eventRecorded({ sessionId: this.id, seq, time: new Date(), type, requestId, payload: payload as Record<string, unknown> });
    } catch (e) {
      this.options.logger.warn({ err: String(e), sessionId: this.id, type }, 'session index: event not indexed');
    }
  }

  newRequestId(): string {
    return requestIdFor(this.id, ++this.requestSeq);
  }

  noteRequest(requestId: string, clientRequestId?: string): void {
    this.requestCount++;
    // Gatehouse request ids name their session (ids.ts); only a client's own id needs a row.
    if (clientRequestId) this.options.index.requestSeen(this.id, requestId, clientRequestId, new Date());
  }

  count(counter: string, by = 1): void {
    this.counters[counter] = (this.counters[counter] ?? 0) + by;
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    this.observer.sessionClosed(this.protocol);
    try {
      await this.recorder.end({ reason, requests: this.requestCount, denied: this.deniedCount, counters: this.counters });
      this.eventCount++;
    } catch (e) {
      this.options.logger.error({ err: String(e), sessionId: this.id }, 'could not record session end');
    }
    await this.options.index
      .sessionEnded(this.id, { endedAt: new Date(), status: 'closed', eventCount: this.eventCount, requestCount: this.requestCount, deniedCount: this.deniedCount, counters: this.counters })
      .catch((err) => this.options.logger.warn({ err: String(err), sessionId: this.id }, 'session index update failed'));
  }
}
