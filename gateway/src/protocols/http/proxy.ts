import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { createHash, type Hash } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import type { HttpConnectionConfig, MaskingConfig } from '../../config/schema';
import { GatehouseError, toGatehouseError } from '../../errors';
import type { Principal } from '../../identity/principal';
import type { Detector } from '../../masking/detector';
import { countMasked, prepareMasking, type MaskingPolicy, type PreparedMasking } from '../../masking/masking-policy';
import { refusalErrorCode, type Operation } from '../../policy/decision';
import type { ClientInfo, EventType, GatewaySession, HttpErrorPayload, HttpRequestPayload, PayloadOf, Pipeline } from '../../pipeline/types';
import { BodyCapture, ResponseDecoder } from './capture';
import {
  applyCredential,
  approvalHeaders,
  buildClientResponseHeaders,
  callerHeaderRule,
  type CallerHeaderRule,
  buildUpstreamHeaders,
  redactHeaders,
  redactQuery,
  REDACTED,
  redactedHeaderSet,
  sensitiveQuerySet,
} from './headers';
import { AnthropicExchange, isAnthropicMessages } from './llm/anthropic';
import type { LlmExchange } from './llm/exchange';
import { OpenAiExchange, openAiApiOf } from './llm/openai';
import { sendError } from './respond';
import { UpstreamCaCache } from '../kit/upstream-tls';
import { HttpRouter, type RouteMatch } from './router';
import { canonicalTarget, originForm, type CanonicalTarget } from './canonical-target';
import { CredentialScrubber, credentialForms, scrubHeaders, type CredentialForms } from './credential-scrubber';
import { decompressorFor, HEADERS_INVALIDATED_BY_MASKING } from './response-masking';
import { formMethodOverride, isFormBody, methodOverrideOf } from './method-override';
import { maskRequestBody, maskTranscriptRequest, recordMaskingFailure, startMaskedResponse, type MaskedResponse } from './masked-exchange';
import { HttpSessions, type SessionLease } from './sessions';
import type { HttpProxyMetrics, ProxyLogger } from './types';
import { createUpstreamPool, headersFromRaw, upstreamFailureOf } from './upstream-pool';
import type { Dispatcher, Pool } from 'undici';

export interface HttpProxyOptions {
  readonly pipeline: Pipeline;
  readonly connections: readonly HttpConnectionConfig[];
  readonly logger: ProxyLogger;
  readonly metrics?: HttpProxyMetrics;
  /** Header-keyed sessions close after this long idle (config `recording.sessionIdleSeconds`). @default 300 */
  readonly sessionIdleSeconds?: number;
  /** No session lives longer (config `recording.sessionMaxSeconds`). @default unlimited */
  readonly sessionMaxSeconds?: number;
  /** Bound on what one LLM transcript accumulates (prompt + answer), separate from the body cap. @default 8 MiB */
  readonly transcriptLimitBytes?: number;
  /** Keep-alive connections per upstream. @default 256 */
  readonly maxSocketsPerUpstream?: number;
  /** Clock for session idleness (ms). @default Date.now */
  readonly now?: () => number;
  /** Runs `closeIdleSessions` on this period; 0 turns the timer off (tests). @default min(idle/2, 30 s) */
  readonly idleSweepMs?: number;
  /** Masking for connections without their own `masking` block (config top-level `masking`). @default none */
  readonly defaultMasking?: MaskingConfig;
  /**
   * Extra detectors per connection name, added to its configured masking (embedding and tests:
   * e.g. a detector that throws, to prove fail-closed behaviour). Not reachable from configuration.
   */
  readonly extraMaskingDetectors?: Readonly<Record<string, readonly Detector[]>>;
  /** Called when a request arrives and when its exchange ends (busy polling, server/busy-poll.ts). */
  readonly onActivity?: () => void;
}

export interface HttpProxy {
  /** The request listener: `http.createServer(proxy.handler)` / `https.createServer(opts, proxy.handler)`. */
  handler(req: IncomingMessage, res: ServerResponse): void;
  /** Closes header-keyed sessions idle past the limit (also run by an internal, unref'd timer). */
  closeIdleSessions(): Promise<void>;
  /** Shutdown: closes every open session (`shutdown`) and the upstream agents. Call after the server drained. */
  close(): Promise<void>;
  /** Open sessions (for health and tests). */
  readonly sessionCount: number;
}

/** Headers a client may use to declare its session. */
const SESSION_HEADERS = ['x-gatehouse-session', 'x-claude-code-session-id'] as const;

const DEFAULT_TRANSCRIPT_LIMIT = 8 * 1024 * 1024;

/** What is prepared once per connection, off the hot path. */
interface Upstream {
  readonly connection: HttpConnectionConfig;
  readonly protocol: 'http:' | 'https:';
  readonly origin: string;
  readonly redactedHeaders: ReadonlySet<string>;
  readonly sensitiveQuery: ReadonlySet<string>;
  /** Which caller headers are stripped as credentials, and which of them the connection forwards anyway. */
  readonly callerHeaders: CallerHeaderRule;
  readonly bodyCap: number;
  /** Undefined when the connection does not mask: the hot path never looks further. */
  readonly masking: PreparedMasking | undefined;
  pool: Pool | undefined;
  poolPending: Promise<Pool> | undefined;
  /** The brokered credential's forms (credential-scrubber.ts), for the value they were built from. */
  formsOf: string | undefined;
  forms: CredentialForms | undefined;
}

export function createHttpProxy(options: HttpProxyOptions): HttpProxy {
  return new HttpProxyImpl(options);
}

class HttpProxyImpl implements HttpProxy {
  private readonly router: HttpRouter;
  private readonly upstreams = new Map<string, Upstream>();
  private readonly sessions: HttpSessions;
  private readonly sweep: NodeJS.Timeout | undefined;
  readonly pipeline: Pipeline;
  readonly logger: ProxyLogger;
  readonly metrics: HttpProxyMetrics | undefined;
  readonly transcriptLimit: number;
  readonly onActivity: () => void;
  private readonly maxSockets: number;
  private readonly cas: UpstreamCaCache;

  constructor(options: HttpProxyOptions) {
    this.pipeline = options.pipeline;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.transcriptLimit = options.transcriptLimitBytes ?? DEFAULT_TRANSCRIPT_LIMIT;
    this.maxSockets = options.maxSocketsPerUpstream ?? 256;
    this.cas = new UpstreamCaCache(options.pipeline.secrets);
    this.onActivity = options.onActivity ?? noActivity;
    this.router = new HttpRouter(options.connections);
    for (const c of options.connections) this.upstreams.set(c.name, this.prepare(c, options));
    const idleMs = (options.sessionIdleSeconds ?? 300) * 1000;
    const maxLifeMs = options.sessionMaxSeconds === undefined ? undefined : options.sessionMaxSeconds * 1000;
    this.sessions = new HttpSessions({ pipeline: this.pipeline, logger: this.logger, idleMs, maxLifeMs, now: options.now ?? Date.now });
    const period = options.idleSweepMs ?? Math.min(idleMs / 2, 30_000);
    if (period > 0) {
      this.sweep = setInterval(() => void this.closeIdleSessions(), period);
      this.sweep.unref();
    }
    this.handler = this.handler.bind(this);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  handler(req: IncomingMessage, res: ServerResponse): void {
    this.onActivity();
    this.handle(req, res).catch((e: unknown) => {
      // A bug here must still answer (and not forward): fail closed with a 500.
      const err = toGatehouseError(e, 'GH_ERR_INTERNAL', 'the gateway failed to handle the request');
      this.logger.error({ code: err.code, err: err.message }, 'HTTP proxy request failed');
      sendError(res, err);
    });
  }

  async closeIdleSessions(): Promise<void> {
    await this.sessions.closeIdle();
  }

  async close(): Promise<void> {
    if (this.sweep !== undefined) clearInterval(this.sweep);
    await this.sessions.closeAll('shutdown');
    await Promise.all([...this.upstreams.values()].map((u) => u.pool?.destroy()));
  }

  private prepare(connection: HttpConnectionConfig, options: HttpProxyOptions): Upstream {
    const url = new URL(connection.upstream);
    return {
      connection,
      protocol: url.protocol === 'https:' ? 'https:' : 'http:',
      origin: url.origin,
      redactedHeaders: redactedHeaderSet(connection.credential),
      sensitiveQuery: sensitiveQuerySet(connection.credential),
      callerHeaders: callerHeaderRule(connection.credential, connection.forwardHeaders),
      bodyCap: connection.bodyCapBytes ?? this.pipeline.bodyCapBytes,
      // Compiled now so a bad rule stops start-up (GH_ERR_CONFIG_INVALID); its secrets are read on first use.
      masking: prepareMasking(connection.masking ?? options.defaultMasking, { connection: connection.name, extraDetectors: options.extraMaskingDetectors?.[connection.name] }),
      pool: undefined,
      poolPending: undefined,
      formsOf: undefined,
      forms: undefined,
    };
  }

  /** One keep-alive pool per upstream; a custom CA is read once, on first use. */
  poolFor(u: Upstream): Pool | Promise<Pool> {
    if (u.pool !== undefined) return u.pool;
    const base = { connections: this.maxSockets, timeoutMs: u.connection.timeoutMs };
    const caRef = u.connection.upstreamCa;
    if (u.protocol === 'http:' || caRef === undefined) {
      u.pool = createUpstreamPool(u.origin, base);
      return u.pool;
    }
    u.poolPending ??= this.cas.get(caRef).then(
      (ca) => (u.pool = createUpstreamPool(u.origin, { ...base, ca: ca! })),
      (e: unknown) => {
        u.poolPending = undefined;
        throw new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `the upstream CA of connection "${u.connection.name}" could not be read`, { cause: e });
      },
    );
    return u.poolPending;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    // One canonical target, routed, judged, recorded and forwarded (canonical-target.ts); a target
    // that cannot be made unambiguous is refused before anything else happens.
    let target: CanonicalTarget;
    let match: RouteMatch | undefined;
    try {
      target = canonicalTarget(originForm(req.url ?? '/', req.headers.host));
      match = this.router.route(target.path, target.query, req.headers.host, target.lowestDepth);
    } catch (e) {
      const err = toGatehouseError(e, 'GH_ERR_TARGET_INVALID');
      this.metrics?.observeError?.('', err.code);
      this.logger.warn({ status: err.status, code: err.code }, 'http request refused');
      sendError(res, err);
      return;
    }
    if (match === undefined) {
      sendError(res, new GatehouseError('GH_ERR_NO_ROUTE', `no connection is routed for ${method} ${target.path}`));
      return;
    }
    const connection = match.connection;
    const upstream = this.upstreams.get(connection.name)!;
    if (!this.pipeline.accepting()) {
      this.refuse(res, connection.name, new GatehouseError('GH_ERR_SHUTTING_DOWN', 'the gateway is not accepting new requests (shutting down or recording unavailable)'));
      return;
    }
    const client = clientInfo(req);
    let principal;
    try {
      const token = bearerToken(req);
      // A token seen before is checked (times included) without a promise; anything else, and
      // every failure, goes the full way, which records it.
      principal = this.pipeline.authenticateCached?.(token) ?? (await this.pipeline.authenticate(token, client, 'http', connection.name));
    } catch (e) {
      // The pipeline recorded the failure; the upstream is never contacted.
      this.refuse(res, connection.name, toGatehouseError(e, 'GH_ERR_ISSUER_UNAVAILABLE'));
      return;
    }
    let lease: SessionLease;
    try {
      const acquired = this.sessions.acquire(principal, connection, req.socket, client);
      lease = acquired instanceof Promise ? await acquired : acquired;
    } catch (e) {
      this.refuse(res, connection.name, toGatehouseError(e, 'GH_ERR_RECORDING_FAILED'));
      return;
    }
    const exchange = new Exchange(this, upstream, match, target, lease.session, principal, req, res, method, started);
    try {
      await exchange.run();
    } finally {
      this.sessions.release(lease);
    }
  }

  refuse(res: ServerResponse, connection: string, err: GatehouseError, requestId?: string, decision?: string): void {
    this.metrics?.observeError?.(connection, err.code);
    // One line per refusal with a top-level status and code: operators alarm on these (the AWS
    // kit's 5xx-rate and recording-failure metric filters read exactly these fields).
    this.logger.warn({ connection, status: err.status, code: err.code, requestId }, 'http request refused');
    sendError(res, err, { requestId, decision });
  }
}

function noActivity(): void {}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `Authorization: Bearer <jwt>`, else `x-api-key: <jwt>` (how Anthropic SDKs send an API key). */
export function bearerToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') {
    const t = auth.slice(7).trim();
    if (t !== '') return t;
  }
  const key = header(req, 'x-api-key')?.trim();
  return key === undefined || key === '' ? undefined : key;
}

function clientInfo(req: IncomingMessage): ClientInfo {
  let clientSessionId: string | undefined;
  for (const h of SESSION_HEADERS) {
    const v = header(req, h);
    // Bounded: the id becomes part of a map key and is recorded (Node's parser already refused control characters).
    if (v !== undefined && v !== '' && v.length <= 200) {
      clientSessionId = v;
      break;
    }
  }
  return {
    address: req.socket.remoteAddress ?? 'unknown',
    port: req.socket.remotePort,
    userAgent: header(req, 'user-agent'),
    clientSessionId,
  };
}

interface RequestPrefix {
  readonly chunks: Buffer[];
  readonly bytes: number;
  readonly ended: boolean;
}

/**
 * Reads the request body until it ends or `cap` bytes arrived, leaving the stream paused so the
 * rest can be piped upstream afterwards.
 */
const NO_BODY: RequestPrefix = Object.freeze({ chunks: Object.freeze([]) as unknown as Buffer[], bytes: 0, ended: true });

function readPrefix(req: IncomingMessage, cap: number): RequestPrefix | Promise<RequestPrefix> {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  // Synchronous when there is nothing to wait for (most GETs): no promise on the hot path.
  if (!hasBody || req.readableEnded) return NO_BODY;
  if (cap <= 0) return { chunks: [], bytes: 0, ended: false };
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const cleanup = (): void => {
      req.pause();
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes >= cap) {
        cleanup();
        resolve({ chunks, bytes, ended: false });
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ chunks, bytes, ended: true });
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(new GatehouseError('GH_ERR_REQUEST_INVALID', 'the request body could not be read', { cause: e }));
    };
    const onClose = (): void => {
      if (!req.readableEnded) onError(new Error('client closed the request'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * One request through the proxy: judge, record, forward with the brokered credential, stream the
 * response back while capturing and decoding it for the record.
 *
 * What "the request event is durable before forwarding" means (strict mode): the gateway reads the
 * request body until it ends or reaches the connection's body cap, then writes `http.request`
 * (method, path, redacted query and headers, that body prefix) and waits for the sink's durable
 * acknowledgement; only then does the first byte go upstream. A body that fits the cap is thus
 * durable whole before forwarding. A body longer than the cap is streamed on after the durable
 * prefix (no unbounded buffering of uploads), and its total size and SHA-256 are recorded in a
 * follow-up `http.request.body` event when the upload ends; the bytes beyond the cap are, as in
 * every mode, not stored.
 */
class Exchange {
  private readonly requestId: string;
  /** Cancels the upstream request (undici's abort, given once the request is dispatched). */
  private abortUpstream: ((err?: Error) => void) | undefined;
  /** Set once the upstream's final response headers arrived. */
  private upstreamStatus: number | undefined;
  private upstreamHeaders: IncomingHttpHeaders | undefined;
  private resumeUpstream: (() => void) | undefined;
  private forwardedAt = 0;
  private ttfb = 0;
  private failure: GatehouseError | undefined;
  private failureReason: string | undefined;
  private responseCapture: BodyCapture | undefined;
  private wireBytes = 0;
  private decoder: ResponseDecoder | undefined;
  private llm: LlmExchange | undefined;
  private llmRequest: BodyCapture | undefined;
  private uploadHash: Hash | undefined;
  private uploadBytes = 0;
  /** The connection's masking policy (undefined: masking off, nothing below is touched). */
  private masking: MaskingPolicy | undefined;
  private masked: MaskedResponse | undefined;
  /** Keeps the brokered credential out of the response (undefined: the connection brokers none). */
  private scrubber: CredentialScrubber | undefined;
  /** Decodes a compressed response that must be scrubbed; the client then gets it as identity. */
  private decompress: Transform | undefined;
  private sentAs: 'identity' | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private done!: () => void;

  constructor(
    private readonly proxy: HttpProxyImpl,
    private readonly upstream: Upstream,
    private readonly match: RouteMatch,
    /** The canonical target: `path` is what is recorded, `query` what policy reads as `context.query`. */
    private readonly target: CanonicalTarget,
    private readonly session: GatewaySession,
    /** The principal of this request's own token: what it is judged under (the session's may be an earlier token's). */
    private readonly principal: Principal,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly method: string,
    private readonly started: number,
  ) {
    this.requestId = session.newRequestId();
  }

  /**
   * An abort signal for an operation held for approval: fires when the client disconnects, so the
   * pending approval is cancelled (and recorded) instead of waiting for a decision nobody needs.
   */
  private readonly clientGone = (): AbortSignal => {
    const controller = new AbortController();
    if (this.res.destroyed || this.req.socket.destroyed) controller.abort();
    else this.res.once('close', () => controller.abort());
    return controller.signal;
  };

  private get connection(): HttpConnectionConfig {
    return this.upstream.connection;
  }

  async run(): Promise<void> {
    const { session, req, res, requestId, method } = this;
    session.noteRequest(requestId, header(req, 'x-request-id'));
    const routed = this.match.routedPath;
    const host = header(req, 'host') ?? '';
    // A method override is refused, or (per connection) judged as the method it asks for.
    let judged = method;
    let override: string | undefined;
    try {
      override = methodOverrideOf(req.headers, this.target.params);
    } catch (e) {
      await this.refuseEarly(toGatehouseError(e, 'GH_ERR_METHOD_OVERRIDE'), 'method_override');
      return;
    }
    if (override !== undefined) {
      if (this.connection.methodOverride !== 'judge') {
        await this.refuseEarly(new GatehouseError('GH_ERR_METHOD_OVERRIDE', `the request asks for method ${override} through a method override, which connection "${this.connection.name}" refuses; send ${override} as the request method`), 'method_override');
        return;
      }
      judged = override;
    }

    // The body prefix (up to the body cap) is read before judging: a form body can carry a method
    // override, and an approver sees the body before deciding.
    let prefix: RequestPrefix;
    try {
      const read = readPrefix(req, this.upstream.bodyCap);
      prefix = read instanceof Promise ? await read : read;
    } catch (e) {
      await this.refuseEarly(toGatehouseError(e, 'GH_ERR_REQUEST_INVALID'), 'before_forwarding');
      return;
    }
    const contentType = header(req, 'content-type');
    if (prefix !== NO_BODY && isFormBody(contentType)) {
      let formOverride: string | undefined;
      try {
        formOverride = formMethodOverride(contentType!, prefix.chunks.length === 1 ? prefix.chunks[0]! : Buffer.concat(prefix.chunks), prefix.ended);
        if (formOverride !== undefined && override !== undefined && formOverride !== override) throw new GatehouseError('GH_ERR_METHOD_OVERRIDE', 'the request carries method overrides that disagree');
      } catch (e) {
        await this.refuseEarly(toGatehouseError(e, 'GH_ERR_METHOD_OVERRIDE'), 'method_override');
        return;
      }
      if (formOverride !== undefined) {
        if (this.connection.methodOverride !== 'judge') {
          await this.refuseEarly(new GatehouseError('GH_ERR_METHOD_OVERRIDE', `the form body asks for method ${formOverride} through "_method", which connection "${this.connection.name}" refuses; send ${formOverride} as the request method`), 'method_override');
          return;
        }
        judged = formOverride;
      }
    }

    if (this.upstream.masking !== undefined) {
      try {
        this.masking = this.upstream.masking.resolved ?? (await this.upstream.masking.resolve(this.proxy.pipeline.secrets));
      } catch (e) {
        // Without its keys the connection cannot mask: nothing is forwarded.
        await this.refuseEarly(toGatehouseError(e, 'GH_ERR_SECRET_UNAVAILABLE'), 'masking_unavailable');
        return;
      }
    }
    const bodyCapture = new BodyCapture(this.upstream.bodyCap);
    for (const c of prefix.chunks) bodyCapture.push(c);

    const attributes: Record<string, string | Readonly<Record<string, string>>> = { method: judged, path: routed, host, connection: this.connection.name, query: this.target.params };
    if (judged !== method) attributes.wireMethod = method;
    const operation: Operation = {
      protocol: 'http',
      action: `http:${judged}`,
      attributes,
      summary: `${judged} ${routed}${this.target.query === '' ? '' : '?' + redactQuery('?' + this.target.query, this.upstream.sensitiveQuery).slice(1)}`,
      details: () => this.approvalDetails(bodyCapture, contentType, prefix.ended, attributes),
    };

    let decision;
    try {
      // The common case (a cached allow) is decided in this turn; reviews and durable denials wait.
      const admitted = session.admit(operation, requestId, undefined, { signal: this.clientGone, principal: this.principal });
      decision = admitted instanceof Promise ? await admitted : admitted;
    } catch (e) {
      this.proxy.refuse(res, this.connection.name, toGatehouseError(e, 'GH_ERR_POLICY_FAILED'), requestId);
      return;
    }
    if (decision.effect !== 'allow') {
      // The pipeline recorded the decision; the upstream is never contacted.
      this.proxy.refuse(res, this.connection.name, new GatehouseError(refusalErrorCode(decision.code), decision.message), requestId, decision.code);
      return;
    }

    const credential = this.connection.credential;
    let secret: string | undefined;
    if (credential.type !== 'none') {
      try {
        const secrets = this.proxy.pipeline.secrets;
        secret = secrets.peek?.(credential.secret) ?? (await secrets.get(credential.secret));
      } catch (e) {
        const err = new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `the upstream credential of connection "${this.connection.name}" could not be read`, { cause: e });
        await this.refuseEarly(err, 'secret_unavailable');
        return;
      }
    }

    let pool: Pool;
    try {
      const p = this.proxy.poolFor(this.upstream);
      pool = p instanceof Promise ? await p : p;
    } catch (e) {
      // The CA could not be read: nothing is forwarded.
      await this.refuseEarly(toGatehouseError(e, 'GH_ERR_INTERNAL', 'the gateway failed to prepare the upstream request'), 'before_forwarding');
      return;
    }

    // LLM awareness: the transcript reads the whole request body (bounded by its own limit).
    this.llm = this.llmFor(routed);
    if (this.llm !== undefined) {
      this.llmRequest = new BodyCapture(this.proxy.transcriptLimit);
      for (const c of prefix.chunks) this.llmRequest.push(c);
    }

    const headers = buildUpstreamHeaders(req.headers, {
      clientAddress: req.socket.remoteAddress ?? 'unknown',
      proto: (req.socket as TLSSocket).encrypted === true ? 'https' : 'http',
      host: header(req, 'host'),
    }, this.upstream.callerHeaders);
    const upstreamPath = applyCredential(credential, secret, headers, this.match.upstreamPath);
    if (secret !== undefined) {
      // Rebuilt only when the secret rotated: the hot path compares one string.
      const u = this.upstream;
      if (u.formsOf !== secret) {
        u.forms = credentialForms(credential, secret);
        u.formsOf = secret;
      }
      if (u.forms !== undefined && u.forms.bytes.length > 0) this.scrubber = new CredentialScrubber(u.forms, this.connection.credentialInResponse);
    }
    secret = undefined;

    let maskedBody: Record<string, unknown> | undefined;
    if (this.masking !== undefined) {
      try {
        const m = maskRequestBody(this.masking, bodyCapture, contentType, prefix.ended, `${session.id}/${requestId}/request.body`);
        maskedBody = m.block;
        countMasked(session, m.counts);
      } catch (e) {
        // The record must not hold what could not be masked: nothing is recorded or forwarded.
        const err = maskingFailure(e);
        await recordMaskingFailure(session, requestId, err, 'request', false, this.proxy.logger);
        await this.recordError(err, 'masking_failed');
        this.proxy.refuse(res, this.connection.name, err, requestId);
        return;
      }
    }
    const payload: HttpRequestPayload = {
      method,
      path: this.target.path,
      query: this.target.query === '' ? '' : redactQuery('?' + this.target.query, this.upstream.sensitiveQuery),
      upstream: this.upstream.origin + redactPathQuery(upstreamPath, this.upstream.sensitiveQuery),
      host,
      httpVersion: req.httpVersion,
      headers: redactHeaders(req.headers, this.upstream.redactedHeaders),
      body: maskedBody ?? bodyCapture.describe(contentType),
    };
    const raw = req.url ?? '/';
    // What the client sent, when it differs from the canonical form (query values redacted as above).
    if (raw !== (this.target.query === '' ? this.target.path : `${this.target.path}?${this.target.query}`)) payload.rawTarget = redactPathQuery(raw, this.upstream.sensitiveQuery);
    if (!prefix.ended) {
      // The upload goes on after this event: its size is not known yet (see http.request.body).
      const b = payload.body;
      delete b.size;
      b.truncated = true;
      b.complete = false;
    }
    try {
      // Buffered: into the recorder's buffer in this turn. Strict: wait for the durable ack.
      const recorded = session.recordRequest('http.request', payload, requestId);
      if (recorded !== undefined) await recorded;
    } catch (e) {
      // Fail closed: a request that cannot be recorded is not forwarded.
      const err = toGatehouseError(e, 'GH_ERR_RECORDING_FAILED');
      res.setHeader('connection', 'close');
      this.proxy.refuse(res, this.connection.name, err, requestId);
      return;
    }

    if (res.destroyed) {
      // The client went away while the request was judged and recorded: nothing to forward.
      await this.recordError(new GatehouseError('GH_ERR_REQUEST_INVALID', 'the client closed the connection before forwarding'), 'client_aborted');
      return;
    }
    const finished = new Promise<void>((resolve) => (this.done = resolve));
    this.forward(pool, headers, upstreamPath, prefix);
    await finished;
  }

  /**
   * What an approver sees (issue 15, point 5): the method, the canonical path and query (sensitive
   * values redacted), the caller's headers without credentials, and the body as it is recorded
   * (up to the body cap, masked as configured). Built only when the request waits for approval,
   * and recorded with `approval.requested`, so the body is in the record whatever the outcome.
   */
  private approvalDetails(body: BodyCapture, contentType: string | undefined, complete: boolean, attributes: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const { req } = this;
    let described: Record<string, unknown>;
    if (this.masking !== undefined) {
      try {
        described = maskRequestBody(this.masking, body, contentType, complete, `${this.session.id}/${this.requestId}/approval.body`).block;
      } catch {
        // Fail closed for the record: what could not be masked is not shown.
        described = { omitted: 'masking failed' };
      }
    } else described = body.describe(contentType);
    if (!complete) described.truncated = true;
    // The approval stores the attributes too: sensitive query values redacted there as well.
    const params = this.target.params;
    let shownQuery: Record<string, string> | undefined;
    for (const k in params) {
      if (!this.upstream.sensitiveQuery.has(k)) continue;
      shownQuery ??= { ...params };
      shownQuery[k] = REDACTED;
    }
    return {
      attributes: shownQuery === undefined ? attributes : { ...attributes, query: shownQuery },
      method: this.method,
      path: this.target.path,
      query: this.target.query === '' ? '' : redactQuery('?' + this.target.query, this.upstream.sensitiveQuery),
      headers: approvalHeaders(req.headers, this.upstream.redactedHeaders),
      body: described,
    };
  }

  /** Refuses before anything is forwarded, with the refusal in the record (`http.error`). */
  private async refuseEarly(err: GatehouseError, reason: string): Promise<void> {
    await this.recordError(err, reason);
    this.proxy.refuse(this.res, this.connection.name, err, this.requestId);
  }

  private llmFor(routedPath: string): LlmExchange | undefined {
    const kind = this.connection.llm;
    if (kind === 'anthropic') return isAnthropicMessages(this.method, routedPath) ? new AnthropicExchange(this.proxy.transcriptLimit) : undefined;
    if (kind === 'openai') {
      const api = openAiApiOf(this.method, routedPath);
      return api === undefined ? undefined : new OpenAiExchange(api, this.proxy.transcriptLimit);
    }
    return undefined;
  }

  private forward(pool: Pool, headers: OutgoingHttpHeaders, path: string, prefix: RequestPrefix): void {
    this.forwardedAt = performance.now();
    this.res.on('close', this.onClientClose);
    let body: Dispatcher.DispatchOptions['body'] = null;
    if (prefix.ended) {
      if (prefix.chunks.length > 0) body = prefix.chunks.length === 1 ? prefix.chunks[0]! : Buffer.concat(prefix.chunks, prefix.bytes);
      this.finishLlmRequest();
    } else {
      this.uploadHash = createHash('sha256');
      for (const c of prefix.chunks) this.uploadHash.update(c);
      this.uploadBytes = prefix.bytes;
      // Only uploads longer than the body cap take this path.
      body = Readable.from(this.upload(prefix.chunks), { objectMode: false });
    }
    // undici's timeouts (the pool's headersTimeout and bodyTimeout, both the connection's
    // `timeoutMs`) bound the wait for response headers and a stall between chunks; LLM streams
    // send pings well within it.
    pool.dispatch({ path, method: this.method as Dispatcher.HttpMethod, headers: headers as Record<string, string | string[]>, body }, this);
  }

  /** The upload after the recorded prefix, streamed as the client sends it, hashed on the way. */
  private async *upload(prefix: readonly Buffer[]): AsyncGenerator<Buffer> {
    for (const c of prefix) yield c;
    for await (const chunk of this.req as AsyncIterable<Buffer>) {
      this.onUploadData(chunk);
      yield chunk;
    }
    this.onUploadEnd();
  }

  private onUploadData(chunk: Buffer): void {
    this.uploadBytes += chunk.length;
    this.uploadHash?.update(chunk);
    this.llmRequest?.push(chunk);
  }

  private onUploadEnd(): void {
    const hash = this.uploadHash?.digest('hex');
    this.uploadHash = undefined;
    this.finishLlmRequest();
    this.recordQuietly('http.request.body', { size: this.uploadBytes, sha256: hash, capturedInRequest: this.upstream.bodyCap });
  }

  private finishLlmRequest(): void {
    const c = this.llmRequest;
    if (this.llm === undefined || c === undefined) return;
    this.llmRequest = undefined;
    let body = c.bytes();
    if (this.masking !== undefined) {
      try {
        body = maskTranscriptRequest(this.masking, body).body;
      } catch (e) {
        this.failMasking(e, 'transcript');
        return;
      }
    }
    this.llm.request(body, c.total > c.cap);
  }

  // undici dispatch handler: the Exchange is its own handler, so no closure is allocated per request.

  onConnect(abort: (err?: Error) => void): void {
    if (this.failure !== undefined) {
      abort();
      return;
    }
    this.abortUpstream = abort;
  }

  onError(e: Error): void {
    if (this.failure !== undefined) return;
    const { kind, detail } = upstreamFailureOf(e);
    const name = this.connection.name;
    if (kind === 'timeout') {
      this.fail(new GatehouseError('GH_ERR_UPSTREAM_TIMEOUT', `the upstream of connection "${name}" sent nothing for ${this.connection.timeoutMs} ms`), 'upstream_timeout');
      return;
    }
    const started = this.upstreamStatus !== undefined;
    const err = new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', started ? `the upstream of connection "${name}" closed the response before it completed (${detail})` : `the upstream of connection "${name}" failed: ${detail}`, { cause: e });
    this.fail(err, started ? 'upstream_aborted' : kind === 'invalid_request' ? 'request_invalid' : 'upstream_unavailable');
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    // 1xx interim responses (other than an upgrade, which is never requested) are not forwarded.
    if (status < 200) return true;
    if (this.failure !== undefined) return false;
    this.resumeUpstream = resume;
    this.upstreamStatus = status;
    let upHeaders = headersFromRaw(raw);
    if (this.scrubber !== undefined) {
      try {
        upHeaders = scrubHeaders(upHeaders, this.scrubber);
      } catch (e) {
        this.fail(toGatehouseError(e, 'GH_ERR_CREDENTIAL_REFLECTED'), 'credential_reflected');
        return false;
      }
    }
    this.upstreamHeaders = upHeaders;
    this.ttfb = performance.now() - this.forwardedAt;
    const { res } = this;
    const headers = buildClientResponseHeaders(upHeaders);
    headers['x-gatehouse-request-id'] = this.requestId;
    if (upHeaders['content-length'] === undefined && hasBody(this.method, status)) this.armTokenExpiry();
    if (this.masking !== undefined && this.startMasking(status, upHeaders, headers)) return this.failure === undefined;
    let encoding = upHeaders['content-encoding'];
    if (this.scrubber !== undefined && hasBody(this.method, status) && !isIdentity(encoding)) {
      // A compressed body is scrubbed decoded: the client gets it as identity (as masking does).
      try {
        this.decompress = decompressorFor(encoding) ?? undefined;
      } catch {
        this.fail(new GatehouseError('GH_ERR_CREDENTIAL_REFLECTED', `a response encoded as "${String(encoding).slice(0, 40)}" cannot be checked for the brokered credential`), 'credential_unchecked');
        return false;
      }
      for (const h of HEADERS_INVALIDATED_BY_MASKING) delete headers[h];
      this.sentAs = 'identity';
      encoding = undefined;
      this.decompress!.on('data', this.onDecompressed);
      this.decompress!.on('end', this.onDecompressedEnd);
      this.decompress!.on('error', (e: Error) => this.fail(new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `the upstream's compressed response could not be decoded: ${e.message}`), 'upstream_aborted'));
      this.decompress!.on('drain', this.onClientDrain);
    }
    res.writeHead(status, headers);
    // A body of unknown length may be a stream (SSE) whose headers must reach the client now, not
    // with the first event; a sized body goes out with its headers in one write.
    if (upHeaders['content-length'] === undefined) res.flushHeaders();
    this.responseCapture = new BodyCapture(this.upstream.bodyCap);
    this.llm?.responseStart(status, upHeaders['content-type']);
    this.decoder = new ResponseDecoder(encoding, this.onDecoded);
    res.once('finish', this.onClientFinish);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.failure !== undefined) return false;
    if (this.masked !== undefined) return this.masked.data(chunk);
    this.wireBytes += chunk.length;
    if (this.decompress !== undefined) return this.decompress.write(chunk);
    if (this.scrubber !== undefined) {
      try {
        chunk = this.scrubber.push(chunk);
      } catch (e) {
        this.fail(toGatehouseError(e, 'GH_ERR_CREDENTIAL_REFLECTED'), 'credential_reflected');
        return false;
      }
    }
    this.decoder!.write(chunk);
    if (this.res.write(chunk)) return true;
    // Backpressure: undici pauses reading the upstream until the client drains.
    this.res.once('drain', this.onClientDrain);
    return false;
  }

  onComplete(): void {
    if (this.failure !== undefined) return;
    if (this.masked !== undefined) {
      this.masked.complete();
      return;
    }
    if (this.decompress !== undefined) {
      this.decompress.end();
      return;
    }
    const tail = this.scrubber?.end();
    if (tail !== undefined && tail.length > 0) {
      this.decoder!.write(tail);
      this.res.write(tail);
    }
    this.res.end();
  }

  /**
   * A stream (a response of unknown length: SSE, chunked) lives no longer than the token it was
   * authorized with (issue 15, point 2): at the token's expiry it is cut (GH_ERR_TOKEN_EXPIRED,
   * recorded as `http.error` with reason `token_expired`). Sized responses end on their own.
   */
  private armTokenExpiry(): void {
    const exp = this.principal.expiresAt;
    if (exp === undefined || this.expiryTimer !== undefined) return;
    const ms = exp * 1000 - Date.now();
    this.expiryTimer = setTimeout(() => {
      this.fail(new GatehouseError('GH_ERR_TOKEN_EXPIRED', 'the token this request was made with expired while its response was streaming'), 'token_expired');
    }, Math.max(0, ms));
    this.expiryTimer.unref();
  }

  /** A decoded piece of a compressed response that is scrubbed: out to the client as identity. */
  private readonly onDecompressed = (decoded: Buffer): void => {
    if (this.failure !== undefined) return;
    let out: Buffer;
    try {
      out = this.scrubber!.push(decoded);
    } catch (e) {
      this.fail(toGatehouseError(e, 'GH_ERR_CREDENTIAL_REFLECTED'), 'credential_reflected');
      return;
    }
    if (out.length === 0) return;
    this.decoder!.write(out);
    if (!this.res.write(out)) {
      this.decompress!.pause();
      this.res.once('drain', () => this.decompress?.resume());
    }
  };

  private readonly onDecompressedEnd = (): void => {
    if (this.failure !== undefined) return;
    const tail = this.scrubber!.end();
    if (tail.length > 0) {
      this.decoder!.write(tail);
      this.res.write(tail);
    }
    this.res.end();
  };

  /**
   * The masked response path (masked-exchange.ts). True when it took the response: masked, or
   * refused because it cannot be masked. False when masking does not apply (HEAD, no body,
   * binary passed by configuration) and the unmasked path goes on.
   */
  private startMasking(status: number, upHeaders: IncomingHttpHeaders, headers: OutgoingHttpHeaders): boolean {
    const contentType = upHeaders['content-type'];
    try {
      this.masked = startMaskedResponse({
        policy: this.masking!,
        res: this.res,
        method: this.method,
        status,
        headers,
        contentType,
        contentEncoding: upHeaders['content-encoding'],
        llmKind: this.connection.llm,
        llm: this.llm,
        bodyCap: this.upstream.bodyCap,
        originalsContext: `${this.session.id}/${this.requestId}/response.body`,
        onFailure: (err) => (err.code === 'GH_ERR_CREDENTIAL_REFLECTED' ? this.fail(err, 'credential_reflected') : this.failMasking(err, 'response')),
        onResume: this.onClientDrain,
        scrubber: this.scrubber,
      });
    } catch (e) {
      this.failMasking(e, 'response');
      return true;
    }
    if (this.masked === undefined) return false;
    this.llm?.responseStart(status, contentType);
    this.res.once('finish', this.onClientFinish);
    return true;
  }

  /** Fail closed: no further byte reaches the client (502 before headers, a cut connection after). */
  private failMasking(e: unknown, phase: 'request' | 'response' | 'transcript'): void {
    if (this.failure !== undefined) return;
    const err = maskingFailure(e);
    this.masked?.abort();
    void recordMaskingFailure(this.session, this.requestId, err, phase, this.res.headersSent, this.proxy.logger);
    this.fail(err, 'masking_failed');
  }

  private readonly onClientDrain = (): void => {
    this.resumeUpstream?.();
  };

  private readonly onDecoded = (chunk: Buffer): void => {
    this.responseCapture!.push(chunk);
    this.llm?.responseData(chunk);
  };

  private readonly onClientClose = (): void => {
    if (this.res.writableFinished) return;
    if (this.failure === undefined) {
      this.failureReason = 'client_aborted';
      this.failure = new GatehouseError('GH_ERR_REQUEST_INVALID', 'the client closed the connection before the response completed');
      this.abortUpstream?.();
    }
    void this.finish();
  };

  /** Upstream failure: answer natively if nothing was sent yet, otherwise cut the stream. */
  private fail(err: GatehouseError, reason: string): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.failureReason = reason;
    this.abortUpstream?.();
    this.proxy.refuse(this.res, this.connection.name, err, this.requestId);
    void this.finish();
  }

  private readonly onClientFinish = (): void => {
    void this.finish();
  };

  private finishing = false;

  /** Records the outcome once: `http.response` (+ `llm.exchange`) or `http.error`. */
  private async finish(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    const status = this.failure === undefined ? (this.upstreamStatus ?? 0) : this.res.headersSent ? this.res.statusCode : 0;
    const total = performance.now() - this.started;
    try {
      if (this.masked !== undefined) countMasked(this.session, this.masked.counts);
      if (this.failure !== undefined) {
        this.decoder?.abort();
        this.masked?.abort();
        this.decompress?.destroy();
        await this.recordError(this.failure, this.failureReason ?? 'failed', total);
      } else {
        if (this.decoder?.pending === true) await this.decoder.end();
        const upHeaders = this.upstreamHeaders!;
        const body = this.masked !== undefined ? this.masked.describeBody() : this.responseCapture!.describe(upHeaders['content-type']);
        if (this.masked === undefined && upHeaders['content-encoding'] !== undefined) {
          body.contentEncoding = upHeaders['content-encoding'];
          body.wireSize = this.wireBytes;
          if (this.sentAs !== undefined) body.sentAs = this.sentAs;
          if (this.decoder?.unsupported !== undefined) body.decoded = false;
          if (this.decoder?.decodeError !== undefined) body.decodeError = this.decoder.decodeError;
        }
        this.recordQuietly('http.response', {
          status: this.upstreamStatus,
          headers: redactHeaders(upHeaders, this.upstream.redactedHeaders),
          body,
          timings: { ttfbMs: round(this.ttfb), totalMs: round(total), gatewayMs: round(this.forwardedAt - this.started) },
        });
        if (this.llm !== undefined) {
          if (this.llmRequest !== undefined) this.finishLlmRequest();
          this.llm.responseEnd();
          const transcript = this.llm.result();
          if (this.masking !== undefined) transcript.masked = true;
          this.recordQuietly('llm.exchange', transcript);
        }
      }
    } finally {
      this.proxy.onActivity();
      this.proxy.metrics?.observeRequest(this.connection.name, this.method, status, total / 1000);
      // The access log line (a refusal after forwarding was logged by refuse()).
      if (this.failure === undefined) {
        this.proxy.logger.info({ connection: this.connection.name, requestId: this.requestId, method: this.method, status, ms: round(total) }, 'http exchange');
      }
      this.done?.();
    }
  }

  private async recordError(err: GatehouseError, reason: string, totalMs?: number): Promise<void> {
    const payload: HttpErrorPayload = { code: err.code, reason, message: err.message, status: this.res.headersSent ? this.res.statusCode : err.status };
    if (totalMs !== undefined) payload.timings = { totalMs: round(totalMs) };
    if (this.upstreamStatus !== undefined) payload.responseBytes = this.wireBytes;
    try {
      await this.session.record('http.error', payload, { requestId: this.requestId });
    } catch (e) {
      this.proxy.logger.error({ requestId: this.requestId, code: toGatehouseError(e, 'GH_ERR_RECORDING_FAILED').code }, 'recording an http.error failed');
    }
  }

  /** After forwarding, the exchange cannot be refused any more; a failed record is logged and counted by the recorder. */
  private recordQuietly<T extends EventType>(type: T, payload: PayloadOf<T>): void {
    this.session.record(type, payload, { requestId: this.requestId }).catch((e: unknown) => {
      this.proxy.logger.error({ requestId: this.requestId, type, code: toGatehouseError(e, 'GH_ERR_RECORDING_FAILED').code }, 'recording failed after forwarding');
    });
  }
}

function redactPathQuery(pathWithQuery: string, sensitive: ReadonlySet<string>): string {
  const q = pathWithQuery.indexOf('?');
  return q === -1 ? pathWithQuery : pathWithQuery.slice(0, q) + redactQuery(pathWithQuery.slice(q), sensitive);
}

function maskingFailure(e: unknown): GatehouseError {
  const err = toGatehouseError(e, 'GH_ERR_MASKING_FAILED', 'masking failed');
  return err.code === 'GH_ERR_MASKING_FAILED' ? err : new GatehouseError('GH_ERR_MASKING_FAILED', 'masking failed', { details: { cause: err.code } });
}

function hasBody(method: string, status: number): boolean {
  return method !== 'HEAD' && status !== 204 && status !== 304 && status >= 200;
}

function isIdentity(encoding: string | undefined): boolean {
  return encoding === undefined || encoding === '' || encoding.trim().toLowerCase() === 'identity';
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
