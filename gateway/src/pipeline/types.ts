import type { ConnectionConfig } from '../config/schema';
import type { GatehouseError } from '../errors';
import type { Principal } from '../identity/principal';
import type { Decision, DecisionCode, Operation } from '../policy/decision';
import type { EventType, PayloadOf } from '../recording/event-catalog';
import type { AppendOptions } from '../recording/recorder-types';

// Protocols name event types and payloads through the pipeline, not recording's internals.
export type * from '../recording/event-catalog';

/**
 * The shared pipeline every protocol drives (ARCHITECTURE.md, "The path of one operation").
 * A protocol decodes its wire format into tokens and operations and answers natively; it never
 * reaches into identity, policy, recording or state internals.
 */
export interface ClientInfo {
  readonly address: string;
  readonly port?: number;
  readonly userAgent?: string;
  /** A client-declared session id (e.g. Claude Code's `x-claude-code-session-id`). */
  readonly clientSessionId?: string;
}

export interface IdentityVerifier {
  /** Resolves the principal or throws a GatehouseError with a GH_ERR_TOKEN_* code (status 401). */
  verify(token: string): Promise<Principal>;
  /** A token already verified and valid now, without waiting; undefined otherwise (call verify). Never throws. */
  verifyCached?(token: string): Principal | undefined;
  /**
   * True when the token `principal` came from has expired by this verifier's clock, with its
   * issuer's allowed clock skew (exactly when `verify` would now refuse it as GH_ERR_TOKEN_EXPIRED).
   * False for a principal without an expiry. @default the pipeline compares `expiresAt` with the wall clock
   */
  expired?(principal: Principal): boolean;
  close?(): void;
}

export interface PolicyEngine {
  /** Pure and synchronous once loaded. Never throws for a valid operation; an engine error becomes a deny. */
  decide(principal: Principal, connection: string, operation: Operation): Decision;
}

export interface SecretProvider {
  /** Resolves a secret reference (`env:NAME`, `file:/path`, ...). Throws GH_ERR_SECRET_UNAVAILABLE. */
  get(ref: string): Promise<string>;
  /**
   * The value when it is available without waiting (a synchronous backend such as `env:`, or a
   * fresh cache entry that needs no currency check); undefined otherwise (call get). Throws like get.
   */
  peek?(ref: string): string | undefined;
}

export interface AuthorizeOptions {
  /**
   * Aborts when the client goes away (HTTP client disconnects, database client closes) while
   * the operation waits for approval: the approval is cancelled and recorded as such. A function
   * is called only when the operation really waits, so the hot (allow) path allocates nothing.
   */
  readonly signal?: AbortSignal | (() => AbortSignal);
  /**
   * Asks for an approval even where policy allows (a protocol setting such as PostgreSQL's
   * `unparsedStatements: review`); a denial still denies. The approval names policy's reasons.
   */
  readonly review?: boolean;
  /**
   * The principal of the credential this operation carries (ARCHITECTURE.md: "a session never
   * lends one"). Judged and, when it differs from the session's (other groups, name or kind),
   * named in the operation's record. @default the session's principal (protocols whose operations
   * carry no credential of their own, e.g. statements on an authenticated PostgreSQL connection)
   */
  readonly principal?: Principal;
}

/** A protocol's request event for one operation: recorded by `admit` once the operation is allowed. */
export interface RequestEvent<T extends EventType = EventType> {
  readonly type: T;
  readonly payload: PayloadOf<T>;
}

/** Options of `GatewaySession.refuse`. */
export interface RefuseOptions {
  /** The rules or settings that refused (e.g. `unparsedStatements`). @default none */
  readonly reasons?: readonly string[];
  /** As AuthorizeOptions.principal: named in the record when it is not the session's own. */
  readonly principal?: Principal;
}

export interface GatewaySession {
  readonly id: string;
  readonly principal: Principal;
  readonly connection: ConnectionConfig;
  /**
   * THE stage protocols drive for each operation they decoded (protocols/kit): authorization
   * under the operation's principal (the synchronous fast path inside), approvals (`review` waits
   * for one), then, when the operation is allowed and `request` is given, its request event is
   * recorded by mode (`recordRequest`). A refusal (`deny`, or a review that was not granted) is
   * returned, already recorded and counted, for the protocol to answer natively; `request` is
   * then not recorded. Returns the Decision itself (no promise) when nothing had to wait: the
   * common allowed operation in buffered mode. Throws (or rejects) when judging or recording
   * failed: then the operation must not go through.
   */
  admit<T extends EventType>(operation: Operation, requestId: string, request?: RequestEvent<T>, options?: AuthorizeOptions): Decision | Promise<Decision>;
  /**
   * Records an operation the protocol refuses by itself, without asking policy (a statement it
   * cannot parse, an unsupported sub-protocol), as a `policy.denied` with `code`, and counts it in
   * the session's denied count. The durability rule is the one of every refusal (policy's too):
   * the refusal is answered only after its `policy.denied` is recorded; in strict mode durably
   * (the sink acknowledged it), in buffered mode in the recorder's buffer. Returns undefined when
   * that happened in this turn, else a promise to wait for before answering. Throws (rejects)
   * when the refusal cannot be recorded: answer with the recording error instead.
   */
  refuse(operation: Operation, code: DecisionCode, message: string, requestId: string, options?: RefuseOptions): Promise<void> | undefined;
  /**
   * Records an operation's request event by recording mode, before the operation is forwarded:
   * strict waits for the durable acknowledgement (returns its promise), buffered puts it in the
   * recorder's buffer in this turn (returns undefined). Throws or rejects when it cannot be stored.
   * `requestId` is left out only for an event of the whole session that must be stored before its
   * traffic starts (PostgreSQL's `pg.session`).
   */
  recordRequest<T extends EventType>(type: T, payload: PayloadOf<T>, requestId?: string): Promise<void> | undefined;
  /**
   * Records what became of an operation after it was forwarded (a response, a result, an error, a
   * transcript). Bytes already sent cannot be called back, so this never throws: a failure is
   * logged here and counted by the recorder, which turns unhealthy and so stops new traffic.
   * Returns undefined when the event is in the recorder's buffer in this turn, else a promise
   * (never rejecting) to wait on where the order of records matters. `requestId` is left out for
   * what belongs to no one operation (a protocol violation, an upstream that could not be
   * reached). `failed`, when given, is called (once, always after this call returned, never inside
   * it) when the event could not be stored: a protocol whose connection outlives one operation
   * ends that connection there, since the recorder's health alone may not stop it (an overloaded
   * buffer refuses one event and stays healthy). HTTP needs none: each request asks `accepting()`.
   * Pass a function made once per connection, not per call: this is the hot path.
   */
  recordOutcome<T extends EventType>(type: T, payload: PayloadOf<T>, requestId?: string, failed?: (error: GatehouseError) => void): Promise<void> | undefined;
  /**
   * Records, in this turn and without waiting for the store, an event describing bytes the protocol
   * is about to pass on (an SSH channel's data): throws a GatehouseError when it cannot, so the
   * bytes are held back. `GH_ERR_RECORDING_OVERLOADED` means the recorder's buffer is full: hold
   * the stream and try again once the store caught up; any other code: fail closed.
   */
  recordBeforePassing<T extends EventType>(type: T, payload: PayloadOf<T>, requestId?: string): void;
  /**
   * Judges one operation and records the decision: a denial as its own `policy.denied` event
   * (durable in strict mode), an allow as a `decision` member added to the first event the
   * protocol then records with the same request id. `deny` is returned (not thrown) so the
   * protocol answers natively; `review` waits for an approval and resolves to its outcome.
   * Throws only when judging itself failed (then the operation must not go through).
   */
  authorize(operation: Operation, requestId: string, options?: AuthorizeOptions): Promise<Decision>;
  /**
   * The hot path's authorize: when the decision needs no wait (no review, and a denial need not be
   * durable first, i.e. buffered recording) it is made, recorded exactly as `authorize` records it,
   * and returned; otherwise nothing happens and it returns undefined (call `authorize`). Throws
   * when recording the denial failed. Optional: protocols fall back to `authorize`. `principal`
   * as in AuthorizeOptions.
   */
  tryAuthorizeSync?(operation: Operation, requestId: string, principal?: Principal): Decision | undefined;
  /**
   * Appends an event to this session's record; see Recorder for the durability contract. Only
   * registered types (recording/event-catalog.ts), each with its payload type.
   */
  record<T extends EventType>(type: T, payload: PayloadOf<T>, options?: AppendOptions): Promise<void>;
  /**
   * Appends a non-durable event in this turn: true once it is in the recorder's buffer, false when
   * it cannot be done synchronously (durable requested, or no synchronous recorder; use `record`).
   * Throws the GatehouseError when the event cannot be stored. Optional.
   */
  recordNow?<T extends EventType>(type: T, payload: PayloadOf<T>, options?: AppendOptions): boolean;
  /** A new request id, unique across replicas and time-sortable. */
  newRequestId(): string;
  /** Makes a request findable by id in the session index. */
  noteRequest(requestId: string, clientRequestId?: string): void;
  /** Counts for the index entry (e.g. `denied`, `masked.email`). */
  count(counter: string, by?: number): void;
  close(reason: string): Promise<void>;
  readonly closed: boolean;
}

export interface Pipeline {
  readonly mode: 'development' | 'production';
  readonly recordingMode: 'strict' | 'buffered';
  /**
   * Verifies a bearer token. On failure records an `auth.failure` (as its own short session,
   * so it can be found) and throws the GatehouseError to answer with.
   */
  authenticate(token: string | undefined, client: ClientInfo, protocol: string, connection?: string): Promise<Principal>;
  /** The principal of a token verified before and valid now, without waiting; undefined otherwise (call authenticate). */
  authenticateCached?(token: string | undefined): Principal | undefined;
  /**
   * Records a failed authentication a protocol performed itself (e.g. an AWS SigV4 signature) the
   * way `authenticate` records its own: an `auth.failure` in a short session of its own, counted.
   * Never throws.
   */
  authenticationFailed?(error: GatehouseError, client: ClientInfo, protocol: string, connection?: string): Promise<void>;
  openSession(principal: Principal, connection: ConnectionConfig, protocol: string, client: ClientInfo): Promise<GatewaySession>;
  readonly secrets: SecretProvider;
  /** Default recorded body cap in bytes. */
  readonly bodyCapBytes: number;
  /** False while shutting down or when recording is unhealthy: new operations are refused. */
  accepting(): boolean;
  /**
   * Why new operations are refused, when they are: GH_ERR_SHUTTING_DOWN while draining,
   * GH_ERR_RECORDING_FAILED while recording is unhealthy (the client is told the real reason,
   * whether the failing write was its own or an earlier timer flush); undefined when accepting.
   */
  notAccepting(): GatehouseError | undefined;
}
