import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ErrorCode, GatehouseError } from '../../errors';
import type { Principal } from '../../identity/principal';
import type { EventType, PayloadOf } from '../../recording/event-catalog';
import { DECISION_CODES, type DecisionCode, type Operation } from '../../policy/decision';

/**
 * The seam for HTTP-borne protocols (Git smart HTTP, AWS APIs, Kubernetes, MCP, LLM APIs): the
 * HTTP exchange (protocols/http) owns routing, identity, the body prefix, masking, recording and
 * forwarding; a dialect only turns one request (its head, and its body when it must) into the
 * operation(s) `session.admit` judges, or into a typed refusal.
 *
 * A connection's dialect is chosen once, when the proxy is configured (protocols/http/dialects.ts),
 * never per request. What a dialect decodes is exactly what is forwarded: the body it is given is
 * the prefix the exchange read from the client and sends upstream unchanged, ahead of the rest.
 */
export interface HttpDialect {
  /** `http`, `llm.anthropic`, `git`, ...: named in logs and docs. */
  readonly name: string;
  /**
   * The protocol its sessions (and refused authentications) are recorded and indexed under
   * (`session.start`'s `protocol`, the console's Protocol column): `aws` for AWS APIs, whose calls
   * are not plain HTTP requests to whoever reads the record. @default `http`
   */
  readonly sessionProtocol?: string;
  /**
   * What `decode` needs of the body:
   * - `none`: judged on the head alone (decode gets no body; the cheapest path);
   * - `prefix`: the first `bodyCap` bytes are enough (e.g. Git's ref-update commands ahead of the
   *   pack); decode learns whether it got the whole body;
   * - `whole`: the whole body, at most `bodyCap` bytes; a longer body is refused by the exchange
   *   (`http.body_too_large`, HTTP 413) before decode is called, never judged on a prefix;
   * - `spool`: the whole body, at most `bodyCap` bytes, judged asynchronously by `inspect` (not
   *   `decode`) once it has all arrived: a body longer than the recording cap is streamed to a
   *   temporary file (bounded memory), and exactly the file's bytes are forwarded, then the file
   *   is removed. A longer body is refused like `whole`'s. For protocols whose judgment needs the
   *   whole of a large body (a Git push's pack: ancestry is proven after indexing it).
   */
  readonly body: 'none' | 'prefix' | 'whole' | 'spool';
  /**
   * Bytes decode may need (ignored for `none`). The exchange reads max(this, the recording cap)
   * into memory; for `spool`, the most it spools (memory holds only the recording cap).
   */
  readonly bodyCap: number;
  /** `spool`: where bodies longer than the recording cap are spooled. @default the system temp dir */
  readonly spoolDir?: string;
  /**
   * The operation(s) this request performs, each judged by `session.admit` (all must be allowed
   * for the request to go through), or a refusal. Pure and synchronous; must not throw for client
   * input (return a refusal instead): an exception is answered as a gateway failure.
   */
  decode(head: HttpRequestHead, body: HttpRequestBody | undefined): Operation | readonly Operation[] | HttpRefusal;
  /**
   * `spool` dialects: the operation(s) of a request whose whole body has arrived (and been spooled
   * when long), or a refusal. Rejecting is answered as a gateway failure (fail closed). `signal`
   * fires when the client goes away.
   */
  inspect?(head: HttpRequestHead, body: SpooledBody, signal: AbortSignal): Promise<Operation | readonly Operation[] | HttpRefusal>;
  /**
   * The caller's token when the protocol's client carries it its own way (Git: the password of
   * HTTP Basic, which git's credential helpers supply); undefined falls back to `Bearer`/`x-api-key`.
   */
  callerToken?(headers: IncomingHttpHeaders): string | undefined;
  /**
   * The protocol's clients send a first request without any credential to be challenged (git: a
   * 401 with a Basic challenge makes it ask its credential helper, on every operation). Such a
   * request (no `Authorization` header at all) is answered with the challenge and not recorded as
   * an `auth.failure` session: it presents no identity and reaches nothing, so it is noise in the
   * record (it is still logged and counted as a refusal). A credential presented and refused is
   * recorded as always. @default false
   */
  readonly challengeFirst?: boolean;
  /** A per-request transcript kept beside the exchange (LLM calls: `llm.exchange`); undefined: none. */
  transcript?(head: HttpRequestHead): HttpTranscript | undefined;
  /**
   * The caller's authentication, when the protocol carries its own instead of a bearer token (AWS:
   * a SigV4 signature made with gateway-issued credentials). Called before the session is found,
   * with the body prefix already read (a signature may cover the body's hash). Throws a
   * GatehouseError to refuse: the exchange records it as `auth.failure` and answers through
   * `sendError`. Undefined: the bearer token path (the synchronous fast path) is taken.
   */
  authenticate?(request: HttpAuthRequest): HttpCaller | Promise<HttpCaller>;
  /**
   * Whether this request's operations may go through in part (Git: a non-atomic push, which the
   * upstream applies ref by ref): then every operation is judged, and when some are allowed and
   * some refused the request is forwarded with `upstreamRequest` given the refused ones (it must
   * forward exactly the allowed part and answer for the refused ones in the response); when all
   * are refused, the refusal names each (`HttpRefusedAbout.refused`).
   * @default false: the first refusal refuses the whole request
   */
  partial?(head: HttpRequestHead): boolean;
  /**
   * Rewrites the request the exchange forwards, once it is admitted and recorded: e.g. re-signs it
   * with the brokered credential, or re-frames the body. May change `headers` in place. Throws a
   * GatehouseError to refuse before anything is sent. Required of a dialect that is `partial`.
   */
  upstreamRequest?(request: HttpUpstreamRequest): HttpUpstreamRewrite | Promise<HttpUpstreamRewrite>;
  /**
   * Bytes of this request's response body kept in the record (`http.response`), when not the
   * connection's body cap: 0 for an answer that must never be recorded (AWS: a call that reveals
   * credentials). @default the connection's body cap
   */
  responseBodyCap?(head: HttpRequestHead): number | undefined;
  /**
   * Answers an error in the protocol's own shape (AWS: XML or JSON errors the SDKs parse).
   * @default protocols/http/errors.ts `sendError` (a JSON body in the LLM APIs' shape)
   */
  sendError?(res: ServerResponse, err: GatehouseError, extras: { readonly requestId?: string; readonly decision?: string } & HttpRefusedAbout): void;
}

/**
 * What a refusal answered by a dialect's `sendError` was about, when the exchange knows it (a
 * refusal before the exchange began, e.g. authentication, has neither): Git answers a refused ref
 * with report-status naming it, which needs the request it decoded and the operation refused.
 */
export interface HttpRefusedAbout {
  readonly head?: HttpRequestHead;
  /** The operation refused (by policy, an approval, the dialect itself), when one was. */
  readonly operation?: Operation;
  /** A `partial` request whose operations were all refused: each with its own reason. */
  readonly refused?: readonly HttpRefusedOperation[];
}

/** One operation of a `partial` request that was refused, and why (as the client is told). */
export interface HttpRefusedOperation {
  readonly operation: Operation;
  /** The decision's code (`policy.forbid`, `approval.denied`, ...). */
  readonly decision: string;
  /** Safe to show to the client and to record. */
  readonly message: string;
}

/** What a dialect's `authenticate` sees: the request as received, and the body read before judging. */
export interface HttpAuthRequest {
  readonly req: IncomingMessage;
  readonly connectionName: string;
  readonly body: HttpRequestBody;
}

/** A caller a dialect authenticated: its principal, and what the dialect keeps for this request. */
export interface HttpCaller {
  readonly principal: Principal;
  /** The dialect's own per-request state (e.g. the verified signature), handed back in `head.caller`. */
  readonly context?: unknown;
}

/** The request about to be forwarded, for a dialect's `upstreamRequest`. */
export interface HttpUpstreamRequest {
  readonly head: HttpRequestHead;
  /** The wire method sent upstream. */
  readonly method: string;
  /** The upstream origin (`https://host:port`). */
  readonly origin: string;
  /** The path sent upstream, with its query. */
  readonly path: string;
  /** The headers sent upstream (caller credentials already stripped): change them in place. */
  readonly headers: OutgoingHttpHeaders;
  /** The body prefix as read before judging (the whole body when `complete`). */
  readonly body: HttpRequestBody;
  /** The operations of a `partial` request that were refused (empty when none was). */
  readonly refused: readonly HttpRefusedOperation[];
}

export interface HttpUpstreamRewrite {
  /** Another path (with query) to send. @default unchanged */
  readonly path?: string;
  /**
   * A transform of the whole request body as it streams upstream (prefix first, then the rest):
   * bounded memory, pulled as the upstream takes it. Its failure aborts the upstream request. A
   * transform that changes the length must fix `content-length` in `headers` (or delete it).
   * @default the body as received
   */
  readonly body?: (source: AsyncIterable<Buffer>) => AsyncIterable<Buffer>;
  /**
   * A rewrite of the response body for the client, chosen once the upstream's status and headers
   * are known (Git: the upstream's report-status with the refused refs' `ng` lines merged in).
   * Undefined (or a factory returning undefined): the response as the upstream sent it. The
   * client's `content-length` is dropped when a rewrite applies; not combined with masking.
   */
  readonly response?: (status: number, headers: IncomingHttpHeaders) => HttpResponseRewrite | undefined;
}

/** Rewrites a response body as it streams: `push` each chunk (after the credential scrubber), `end` once. Throwing fails the exchange. */
export interface HttpResponseRewrite {
  push(chunk: Buffer): Buffer;
  end(): Buffer;
}

/** A `spool` dialect's whole request body. */
export interface SpooledBody {
  /** The body's first bytes, held in memory (all of it when `file` is undefined). */
  readonly prefix: Buffer;
  /** The temporary file holding the whole body (prefix included) when it was longer than the prefix; the exchange removes it. */
  readonly file: string | undefined;
  /** The whole body's size in bytes and its SHA-256 (hex). */
  readonly size: number;
  readonly sha256: string;
}

/** One request as a dialect sees it: canonical, routed, with any accepted method override applied. */
export interface HttpRequestHead {
  /** The method judged: the request's own, or the one an accepted method override asks for. */
  readonly method: string;
  /** The method on the wire (differs from `method` only under an accepted override). */
  readonly wireMethod: string;
  /** The canonical path as the connection sees it (its route prefix removed). */
  readonly routedPath: string;
  readonly host: string;
  /** The connection's name. */
  readonly connectionName: string;
  /** The canonical query's parameters (one value per name; repeated names were refused). */
  readonly params: Readonly<Record<string, string>>;
  /** The canonical query without `?`, its sensitive values redacted: for summaries. '' when none. */
  readonly shownQuery: string;
  /** The client's headers (credentials included: never record them from here). */
  readonly headers: IncomingHttpHeaders;
  /** The canonical query without `?`, names and values as sent (unredacted). '' when none. */
  readonly query?: string;
  /** The caller as the dialect's `authenticate` returned it (undefined for bearer-token dialects). */
  readonly caller?: HttpCaller;
  /**
   * Records an event about this request in its session (`session.recordOutcome`: in order, never
   * throwing; the type must be registered): a dialect's own description of what it decoded (Git:
   * `git.push` with its ref updates). Absent on heads built outside an exchange.
   */
  record?<T extends EventType>(type: T, payload: PayloadOf<T>): void;
  /**
   * The body bytes read before judging, once read (undefined before, and on heads built outside an
   * exchange): for a `sendError` that must answer in a framing the body negotiated when the
   * request was refused before the dialect decoded it (Git: the side-band of a push too large).
   */
  bodyPrefix?(): Buffer | undefined;
  /** What an approver sees for this request, given the operation's attributes (built only on review). */
  approvalDetails(attributes: Readonly<Record<string, unknown>>): Record<string, unknown>;
}

export interface HttpRequestBody {
  /** The body bytes read before judging: exactly the bytes forwarded first. */
  readonly bytes: Buffer;
  /** True when `bytes` is the whole body. */
  readonly complete: boolean;
}

/**
 * A request a dialect refuses by itself (it cannot decode it, or it is ambiguous): recorded with
 * `session.refuse` under `decision` (a `policy.denied`, counted), answered with `error`'s status and
 * JSON body (protocols/http/errors.ts). A class so the exchange tells it from an Operation with one
 * `instanceof`.
 */
export class HttpRefusal {
  constructor(
    /** The decision code recorded (DECISION_CODES: the dialect's own namespace, e.g. `git.*`). */
    readonly decision: DecisionCode,
    /** The error the client is answered with. */
    readonly error: ErrorCode,
    /** Safe to show to the client and to record. */
    readonly message: string,
    /** The operation named in the record. @default the plain HTTP operation of the request */
    readonly operation?: Operation,
  ) {}
}

/** Watches one exchange's bodies as they pass and yields its transcript (recorded as `llm.exchange`). */
export interface HttpTranscript {
  /** The event the transcript is recorded as. @default `llm.exchange` */
  readonly eventType?: 'llm.exchange' | 'aws.response';
  /** The upstream's response headers (e.g. AWS's request id and error type), before any body. */
  responseHeaders?(headers: IncomingHttpHeaders): void;
  /** The request body as the transcript sees it (bounded by the transcript limit). Undefined: the request body is not kept for it. */
  request?(body: Buffer, truncated: boolean): void;
  responseStart(status: number, contentType: string | undefined): void;
  /** Decoded response bytes, in order, as they arrive. */
  responseData(chunk: Buffer): void;
  responseEnd(): void;
  /** The `llm.exchange` payload. */
  result(): Record<string, unknown>;
}

/** The refusal of a body longer than a `whole` dialect's cap: never judged on a prefix. */
export function bodyTooLarge(dialect: HttpDialect): HttpRefusal {
  return new HttpRefusal(
    DECISION_CODES.httpBodyTooLarge,
    'GH_ERR_MESSAGE_TOO_LARGE',
    `the request body is longer than the ${dialect.bodyCap} bytes the ${dialect.name} dialect judges whole: it is refused rather than judged on a prefix`,
  );
}

/**
 * Decodes one request through its dialect, refusing a body a `whole` dialect cannot see whole.
 * `body` is the body as read before judging (undefined for `none` dialects).
 */
export function decodeRequest(dialect: HttpDialect, head: HttpRequestHead, body: HttpRequestBody | undefined): Operation | readonly Operation[] | HttpRefusal {
  if (dialect.body === 'whole' && body !== undefined && (!body.complete || body.bytes.length > dialect.bodyCap)) return bodyTooLarge(dialect);
  return dialect.decode(head, body);
}
