import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable, type Transform } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import type { Dispatcher, Pool } from 'undici';
import type { HttpConnectionConfig } from '../../config/schema';
import { GatehouseError, toGatehouseError } from '../../errors';
import type { Principal } from '../../identity/principal';
import { countMasked, type MaskingPolicy } from '../../masking/masking-policy';
import type { Decision, Operation } from '../../policy/decision';
import type { GatewaySession, Pipeline } from '../../pipeline/types';
import type { EventType, PayloadOf } from '../../recording/event-catalog';
import { bodyTooLarge, decodeRequest, HttpRefusal, type HttpCaller, type HttpRefusedAbout, type HttpRequestHead, type HttpTranscript, type HttpUpstreamRewrite, type HttpRefusedOperation, type HttpResponseRewrite, type SpooledBody } from '../kit/http-dialect';
import type { CanonicalTarget } from './canonical-target';
import { BodyCapture, ResponseDecoder } from './capture';
import { CredentialScrubber, credentialForms, scrubHeaders } from './credential-scrubber';
import { httpOperation } from './dialects';
import { dialectRefusalError, refusalError } from './errors';
import { errorPayload, maskingFailedPayload, maskingFailure, recordedQuery, requestPayload, responsePayload } from './exchange-recording';
import { applyCredential, approvalHeaders, buildClientResponseHeaders, buildUpstreamHeaders, redactQuery, REDACTED } from './headers';
import { maskRequestBody, maskTranscriptRequest, startMaskedResponse, type MaskedResponse } from './masked-exchange';
import { formMethodOverride, isFormBody, methodOverrideOf } from './method-override';
import { hasBody, header, isIdentity, NO_BODY, prefixBytes, readPrefix, round, type RequestPrefix } from './request';
import { decompressorFor, HEADERS_INVALIDATED_BY_MASKING } from './response-masking';
import type { RouteMatch } from './router';
import { removeSpool, spoolBody } from './spool';
import type { ExpiringStream, StreamExpiry } from './stream-expiry';
import type { HttpProxyMetrics, ProxyLogger } from './types';
import { headersFromRaw, upstreamFailureOf } from './upstream-pool';
import type { HttpUpstreams, Upstream } from './upstreams';

/** What an exchange is given by the proxy that runs it. */
export interface ExchangeContext {
  readonly pipeline: Pipeline;
  readonly logger: ProxyLogger;
  readonly metrics: HttpProxyMetrics | undefined;
  readonly upstreams: HttpUpstreams;
  readonly onActivity: () => void;
  /** Bound on what one transcript accumulates. */
  readonly transcriptLimit: number;
  /** Answers with an error (errors.ts), logged and counted as a refusal. */
  refuse(res: ServerResponse, connection: string, err: GatehouseError, requestId?: string, decision?: string, about?: HttpRefusedAbout): void;
}

/**
 * One request through the proxy: decode (the connection's dialect), admit, record, forward with
 * the brokered credential, stream the response back while capturing and decoding it for the record.
 *
 * What "the request event is durable before forwarding" means (strict mode): the gateway reads the
 * request body until it ends or passes the connection's body cap (or its dialect's, when that is
 * larger), then writes `http.request` (method, path, redacted query and headers, that body prefix)
 * and waits for the sink's durable acknowledgement; only then does the first byte go upstream. A
 * body that fits the cap is thus durable whole before forwarding. A body longer than the cap is
 * streamed on after the durable prefix (no unbounded buffering of uploads), and its total size and
 * SHA-256 are recorded in a follow-up `http.request.body` event when the upload ends; the bytes
 * beyond the cap are, as in every mode, not stored.
 *
 * The exchange is its own dialect head (HttpRequestHead) and its own undici dispatch handler, so
 * neither costs an allocation per request.
 */
export class Exchange implements HttpRequestHead, ExpiringStream {
  private readonly requestId: string;
  /** The method judged: the wire method, or the one an accepted method override asks for. */
  method: string;
  readonly routedPath: string;
  readonly host: string;
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
  private llm: HttpTranscript | undefined;
  private llmRequest: BodyCapture | undefined;
  private uploadHash: Hash | undefined;
  private uploadBytes = 0;
  /** The request body as recorded (and shown to an approver). */
  private bodyCapture: BodyCapture | undefined;
  private bodyComplete = true;
  /** The connection's masking policy (undefined: masking off, nothing below is touched). */
  private masking: MaskingPolicy | undefined;
  private masked: MaskedResponse | undefined;
  /** Keeps the brokered credential out of the response (undefined: the connection brokers none). */
  private scrubber: CredentialScrubber | undefined;
  /** Decodes a compressed response that must be scrubbed; the client then gets it as identity. */
  private decompress: Transform | undefined;
  private sentAs: 'identity' | undefined;
  /** The token expiry this stream is tracked under in the session's StreamExpiry (undefined: not tracked). */
  private trackedExpiry: number | undefined;
  /** The dialect's rewrite of the response (chosen at the upstream's headers) and the one chosen. */
  private responseRewriter: HttpUpstreamRewrite['response'];
  private rewrite: HttpResponseRewrite | undefined;
  /** The body prefix once read (bodyPrefix). */
  private prefixRead: RequestPrefix | undefined;
  /** A `spool` dialect's body, when it was spooled to a file (removed by `removeSpool`). */
  private spooled: SpooledBody | undefined;
  /** Headers written but not yet sent: they leave with the first chunk, or by flushPendingHeads. */
  private headPending = false;
  private done!: () => void;

  constructor(
    private readonly proxy: ExchangeContext,
    private readonly upstream: Upstream,
    private readonly match: RouteMatch,
    /** The canonical target: `path` is what is recorded, `query` what policy reads as `context.query`. */
    private readonly target: CanonicalTarget,
    private readonly session: GatewaySession,
    /** The session's open streams by token expiry. */
    private readonly streams: StreamExpiry,
    /** The principal of this request's own token: what it is judged under (the session's may be an earlier token's). */
    private readonly principal: Principal,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    /** The method on the wire. */
    readonly wireMethod: string,
    private readonly started: number,
    /** A dialect that authenticates the caller itself: the prefix it read and the caller it named. */
    private readonly authenticated?: { readonly prefix: RequestPrefix; readonly caller: HttpCaller },
  ) {
    this.requestId = session.newRequestId();
    this.method = wireMethod;
    this.routedPath = match.routedPath;
    this.host = header(req, 'host') ?? '';
  }

  // HttpRequestHead: what a dialect decodes.

  get connectionName(): string {
    return this.upstream.connection.name;
  }

  get params(): Readonly<Record<string, string>> {
    return this.target.params;
  }

  get query(): string {
    return this.target.query;
  }

  get caller(): HttpCaller | undefined {
    return this.authenticated?.caller;
  }

  get shownQuery(): string {
    return this.target.query === '' ? '' : redactQuery('?' + this.target.query, this.upstream.sensitiveQuery).slice(1);
  }

  get headers(): IncomingHttpHeaders {
    return this.req.headers;
  }

  bodyPrefix(): Buffer | undefined {
    return this.prefixRead === undefined ? undefined : prefixBytes(this.prefixRead);
  }

  record<T extends EventType>(type: T, payload: PayloadOf<T>): void {
    void this.session.recordOutcome(type, payload, this.requestId);
  }

  /**
   * What an approver sees (issue 15, point 5): the method, the canonical path and query (sensitive
   * values redacted), the caller's headers without credentials, and the body as it is recorded
   * (up to the body cap, masked as configured). Built only when the request waits for approval,
   * and recorded with `approval.requested`, so the body is in the record whatever the outcome.
   */
  approvalDetails(attributes: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const { req } = this;
    const body = this.bodyCapture!;
    const contentType = header(req, 'content-type');
    const complete = this.bodyComplete;
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
      method: this.wireMethod,
      path: this.target.path,
      query: recordedQuery(this.target, this.upstream),
      headers: approvalHeaders(req.headers, this.upstream.redactedHeaders),
      body: described,
    };
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

  /** What is recorded of the response body: the connection's cap, unless the dialect keeps less of this one. */
  private responseBodyCap(): number {
    return this.upstream.dialect.responseBodyCap?.(this) ?? this.upstream.bodyCap;
  }

  private get connection(): HttpConnectionConfig {
    return this.upstream.connection;
  }

  async run(): Promise<void> {
    const { session, req, res, requestId, wireMethod } = this;
    session.noteRequest(requestId, header(req, 'x-request-id'));
    // A method override is refused, or (per connection) judged as the method it asks for.
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
      this.method = override;
    }

    // The body prefix is read before judging: a form body can carry a method override, a dialect
    // may judge on the body, and an approver sees the body before deciding. It is what goes
    // upstream first, unchanged.
    let prefix: RequestPrefix;
    try {
      const read = this.authenticated?.prefix ?? readPrefix(req, this.upstream.readCap);
      prefix = read instanceof Promise ? await read : read;
      this.prefixRead = prefix;
    } catch (e) {
      await this.refuseEarly(toGatehouseError(e, 'GH_ERR_REQUEST_INVALID'), 'before_forwarding');
      return;
    }
    const contentType = header(req, 'content-type');
    if (prefix !== NO_BODY && isFormBody(contentType)) {
      let formOverride: string | undefined;
      try {
        formOverride = formMethodOverride(contentType!, prefixBytes(prefix), prefix.ended);
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
        this.method = formOverride;
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
    this.bodyCapture = bodyCapture;
    this.bodyComplete = prefix.ended;

    // The connection's dialect turns the request into the operation(s) judged.
    const dialect = this.upstream.dialect;
    let decoded: Operation | readonly Operation[] | HttpRefusal;
    try {
      if (dialect.body === 'spool') {
        // The whole body, spooled past the prefix, judged once it has all arrived (kit/http-dialect.ts).
        const spooled = await spoolBody(req, prefix, dialect.bodyCap, dialect.spoolDir);
        if (spooled === 'too_large') decoded = bodyTooLarge(dialect);
        else {
          this.spooled = spooled;
          decoded = await dialect.inspect!(this, spooled, this.clientGone());
        }
      } else decoded = dialect.body === 'none' ? dialect.decode(this, undefined) : decodeRequest(dialect, this, { bytes: prefixBytes(prefix), complete: prefix.ended });
    } catch (e) {
      const error = toGatehouseError(e, 'GH_ERR_INTERNAL', `the ${dialect.name} dialect failed to decode the request`);
      // The client gets a generic answer for an internal failure; the operator needs its cause.
      if (error.code === 'GH_ERR_INTERNAL') {
        this.proxy.logger.error({ connection: this.connection.name, requestId: this.requestId, dialect: dialect.name, err: e instanceof Error ? e.message : String(e) }, 'dialect failed to decode a request');
      }
      await this.refuseEarly(error, 'before_forwarding');
      return;
    }
    if (decoded instanceof HttpRefusal) {
      await this.refuseDecoded(decoded);
      return;
    }

    let decision: Decision | undefined;
    let judged: Operation | undefined;
    /** A partial request's refused operations (forwarded without them when any other is allowed). */
    const refused: HttpRefusedOperation[] = [];
    let refusedFirst: { decision: Decision; operation: Operation } | undefined;
    try {
      // The common case (a cached allow) is decided in this turn; reviews and durable denials wait.
      if (!Array.isArray(decoded)) {
        judged = decoded as Operation;
        const admitted = session.admit(decoded as Operation, requestId, undefined, { signal: this.clientGone, principal: this.principal });
        decision = admitted instanceof Promise ? await admitted : admitted;
      } else {
        // Several operations in one request: each is judged; the first refusal refuses the request,
        // unless the dialect can forward it in part (then every one is judged).
        const partial = dialect.partial?.(this) === true;
        let allowed: Decision | undefined;
        for (const operation of decoded as readonly Operation[]) {
          judged = operation;
          const admitted = session.admit(operation, requestId, undefined, { signal: this.clientGone, principal: this.principal });
          decision = admitted instanceof Promise ? await admitted : admitted;
          if (decision.effect === 'allow') allowed = decision;
          else if (!partial) break;
          else {
            refusedFirst ??= { decision, operation };
            refused.push({ operation, decision: decision.code, message: refusalError(decision).message });
          }
        }
        if (partial && refusedFirst !== undefined) {
          if (allowed === undefined) {
            decision = refusedFirst.decision;
            judged = refusedFirst.operation;
          } else decision = allowed;
        }
      }
    } catch (e) {
      const err = toGatehouseError(e, 'GH_ERR_POLICY_FAILED');
      this.proxy.refuse(res, this.connection.name, err, requestId, undefined, { head: this, operation: judged });
      return;
    }
    if (decision === undefined) {
      // A dialect that found no operation in a request: nothing was judged, so nothing goes through.
      await this.refuseEarly(new GatehouseError('GH_ERR_INTERNAL', `the ${dialect.name} dialect found no operation to judge`), 'before_forwarding');
      return;
    }
    if (decision.effect !== 'allow') {
      // The pipeline recorded the decision; the upstream is never contacted.
      const err = refusalError(decision);
      this.proxy.refuse(res, this.connection.name, err, requestId, decision.code, { head: this, operation: judged, ...(refused.length > 0 && { refused }) });
      return;
    }
    if (refused.length > 0 && dialect.upstreamRequest === undefined) {
      // Forwarding the whole request would carry what was refused: fail closed.
      await this.refuseEarly(new GatehouseError('GH_ERR_INTERNAL', `the ${dialect.name} dialect cannot forward a request in part`), 'before_forwarding');
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
      const p = this.proxy.upstreams.poolFor(this.upstream);
      pool = p instanceof Promise ? await p : p;
    } catch (e) {
      // The CA could not be read: nothing is forwarded.
      await this.refuseEarly(toGatehouseError(e, 'GH_ERR_INTERNAL', 'the gateway failed to prepare the upstream request'), 'before_forwarding');
      return;
    }

    // A transcript (LLM dialects) reads the whole request body, bounded by its own limit.
    this.llm = dialect.transcript?.(this);
    if (this.llm?.request !== undefined) {
      this.llmRequest = new BodyCapture(this.proxy.transcriptLimit);
      for (const c of prefix.chunks) this.llmRequest.push(c);
    }

    const headers = buildUpstreamHeaders(req.headers, {
      clientAddress: req.socket.remoteAddress ?? 'unknown',
      proto: (req.socket as TLSSocket).encrypted === true ? 'https' : 'http',
      host: header(req, 'host'),
    }, this.upstream.callerHeaders);
    let upstreamPath = applyCredential(credential, secret, headers, this.match.upstreamPath);
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
        // In order before http.error and the answer (recordOutcome never rejects).
        const recorded = session.recordOutcome('masking.failed', maskingFailedPayload(err, 'request', false), requestId);
        if (recorded !== undefined) await recorded;
        await this.recordError(err, 'masking_failed');
        this.proxy.refuse(res, this.connection.name, err, requestId, undefined, { head: this });
        return;
      }
    }
    const payload = requestPayload(req, this.target, this.upstream, upstreamPath, this.host, maskedBody ?? bodyCapture.describe(contentType), prefix.ended);
    try {
      // Buffered: into the recorder's buffer in this turn. Strict: wait for the durable ack.
      const recorded = session.recordRequest('http.request', payload, requestId);
      if (recorded !== undefined) await recorded;
    } catch (e) {
      // Fail closed: a request that cannot be recorded is not forwarded.
      const err = toGatehouseError(e, 'GH_ERR_RECORDING_FAILED');
      res.setHeader('connection', 'close');
      this.proxy.refuse(res, this.connection.name, err, requestId, undefined, { head: this });
      return;
    }

    if (res.destroyed) {
      // The client went away while the request was judged and recorded: nothing to forward.
      await this.recordError(new GatehouseError('GH_ERR_REQUEST_INVALID', 'the client closed the connection before forwarding'), 'client_aborted');
      return;
    }
    let bodyTransform: HttpUpstreamRewrite['body'];
    if (dialect.upstreamRequest !== undefined) {
      // The dialect's rewrite (e.g. AWS re-signing with the brokered credential), after the record.
      try {
        const r = dialect.upstreamRequest({ head: this, method: wireMethod, origin: this.upstream.origin, path: upstreamPath, headers, body: { bytes: prefixBytes(prefix), complete: prefix.ended }, refused });
        const rewrite = r instanceof Promise ? await r : r;
        if (rewrite.path !== undefined) upstreamPath = rewrite.path;
        bodyTransform = rewrite.body;
        this.responseRewriter = rewrite.response;
      } catch (e) {
        await this.refuseEarly(toGatehouseError(e, 'GH_ERR_INTERNAL', `the ${dialect.name} dialect failed to prepare the upstream request`), 'before_forwarding');
        return;
      }
    }
    const finished = new Promise<void>((resolve) => (this.done = resolve));
    this.forward(pool, headers, upstreamPath, prefix, wireMethod, bodyTransform);
    await finished;
  }

  /** Refuses before anything is forwarded, with the refusal in the record (`http.error`). */
  private async refuseEarly(err: GatehouseError, reason: string): Promise<void> {
    await this.recordError(err, reason);
    this.proxy.refuse(this.res, this.connection.name, err, this.requestId, undefined, { head: this });
  }

  /** Removes a spooled body (after the exchange: an upload still reading it keeps its open file). */
  removeSpool(): Promise<void> | undefined {
    const file = this.spooled?.file;
    this.spooled = undefined;
    return file === undefined ? undefined : removeSpool(file);
  }

  /** A dialect's refusal: recorded (`policy.denied`, counted) by the one refusal rule, then answered. */
  private async refuseDecoded(refusal: HttpRefusal): Promise<void> {
    try {
      const recorded = this.session.refuse(refusal.operation ?? httpOperation(this), refusal.decision, refusal.message, this.requestId, { principal: this.principal });
      if (recorded !== undefined) await recorded;
    } catch (e) {
      const err = toGatehouseError(e, 'GH_ERR_RECORDING_FAILED');
      this.proxy.refuse(this.res, this.connection.name, err, this.requestId, undefined, { head: this, operation: refusal.operation });
      return;
    }
    // The rest of the body is never read: the connection cannot carry another request.
    if (!this.req.readableEnded) this.res.setHeader('connection', 'close');
    const err = dialectRefusalError(refusal);
    this.proxy.refuse(this.res, this.connection.name, err, this.requestId, refusal.decision, { head: this, operation: refusal.operation });
  }

  private forward(pool: Pool, headers: OutgoingHttpHeaders, path: string, prefix: RequestPrefix, method: string, transform?: HttpUpstreamRewrite['body']): void {
    this.forwardedAt = performance.now();
    this.res.on('close', this.onClientClose);
    let body: Dispatcher.DispatchOptions['body'] = null;
    if (transform !== undefined) {
      // A dialect re-frames the body as it streams (AWS aws-chunked re-signing): prefix, then the rest.
      if (!prefix.ended) {
        this.uploadHash = createHash('sha256');
        for (const c of prefix.chunks) this.uploadHash.update(c);
        this.uploadBytes = prefix.bytes;
      } else this.finishLlmRequest();
      // A spooled body was judged whole: its size and hash are those of the judged bytes, recorded
      // now, as on the plain spooled path (the dialect records what its rewrite forwards).
      if (!prefix.ended && this.spooled?.file !== undefined) {
        const { size, sha256 } = this.spooled;
        void this.session.recordOutcome('http.request.body', { size, sha256, capturedInRequest: this.upstream.bodyCap }, this.requestId);
      }
      const source = prefix.ended ? chunksOf(prefix.chunks) : this.spooled?.file !== undefined ? (createReadStream(this.spooled.file) as AsyncIterable<Buffer>) : this.upload(prefix.chunks);
      body = Readable.from(transform(source), { objectMode: false });
    } else if (prefix.ended) {
      if (prefix.chunks.length > 0) body = prefixBytes(prefix);
      this.finishLlmRequest();
    } else if (this.spooled?.file !== undefined) {
      // Exactly the spooled bytes that were judged, from the file.
      // Its size and hash are known (it was judged whole): recorded now. Waiting for the stream's
      // 'end' lost the event whenever undici stopped at the declared length without reading EOF.
      const { file, size, sha256 } = this.spooled;
      void this.session.recordOutcome('http.request.body', { size, sha256, capturedInRequest: this.upstream.bodyCap }, this.requestId);
      body = createReadStream(file);
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
    pool.dispatch({ path, method: method as Dispatcher.HttpMethod, headers: headers as Record<string, string | string[]>, body }, this);
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
    void this.session.recordOutcome('http.request.body', { size: this.uploadBytes, sha256: hash, capturedInRequest: this.upstream.bodyCap }, this.requestId);
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
    this.llm.request?.(body, c.total > c.cap);
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
    this.llm?.responseHeaders?.(upHeaders);
    this.ttfb = performance.now() - this.forwardedAt;
    const { res } = this;
    const headers = buildClientResponseHeaders(upHeaders);
    headers['x-gatehouse-request-id'] = this.requestId;
    if (upHeaders['content-length'] === undefined && hasBody(this.wireMethod, status)) this.armTokenExpiry();
    if (this.responseRewriter !== undefined && hasBody(this.wireMethod, status)) {
      try {
        this.rewrite = this.responseRewriter(status, upHeaders);
      } catch (e) {
        this.fail(toGatehouseError(e, 'GH_ERR_INTERNAL', 'the response could not be rewritten'), 'response_rewrite_failed');
        return false;
      }
      if (this.rewrite !== undefined) {
        if (this.masking !== undefined) {
          this.fail(new GatehouseError('GH_ERR_INTERNAL', `the ${this.upstream.dialect.name} dialect's response rewrite cannot be combined with masking`), 'response_rewrite_failed');
          return false;
        }
        delete headers['content-length'];
        upHeaders = { ...upHeaders };
        delete upHeaders['content-length'];
      }
    }
    if (this.masking !== undefined && this.startMasking(status, upHeaders, headers)) return this.failure === undefined;
    let encoding = upHeaders['content-encoding'];
    if (this.scrubber !== undefined && hasBody(this.wireMethod, status) && !isIdentity(encoding)) {
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
    // A body of unknown length may be a stream (SSE) whose headers must reach the client promptly,
    // not only with its first event, which may come much later. A separate write for them cost
    // ~70 % of this method, though: they leave with the first chunk when it comes in this turn of
    // the event loop (one write), else at the next turn's check phase (flushPendingHeads). A sized
    // body goes out with its headers in one write.
    if (upHeaders['content-length'] === undefined) {
      this.headPending = true;
      flushSoon(this);
    }
    this.responseCapture = new BodyCapture(this.responseBodyCap());
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
    if (this.rewrite !== undefined) {
      const out = this.rewriteChunk(chunk, false);
      if (out === undefined) return false;
      chunk = out;
    }
    this.decoder!.write(chunk);
    // An empty write (the scrubber holding bytes back) does not send the headers.
    if (chunk.length !== 0) this.headPending = false;
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
    let tail = this.scrubber?.end();
    if (this.rewrite !== undefined) {
      tail = this.rewriteChunk(tail ?? Buffer.alloc(0), true);
      if (tail === undefined) return;
    }
    if (tail !== undefined && tail.length > 0) {
      this.decoder!.write(tail);
      this.res.write(tail);
    }
    this.res.end();
  }

  /** A piece of the response through the dialect's rewrite (its end with `last`); undefined when the rewrite failed (the exchange then failed). */
  private rewriteChunk(chunk: Buffer, last: boolean): Buffer | undefined {
    try {
      const out = this.rewrite!.push(chunk);
      return last ? Buffer.concat([out, this.rewrite!.end()]) : out;
    } catch (e) {
      this.fail(toGatehouseError(e, 'GH_ERR_INTERNAL', 'the response could not be rewritten'), 'response_rewrite_failed');
      return undefined;
    }
  }

  /**
   * A stream (a response of unknown length: SSE, chunked) lives no longer than the token it was
   * authorized with (issue 15, point 2): at the token's expiry it is cut (GH_ERR_TOKEN_EXPIRED,
   * recorded as `http.error` with reason `token_expired`). Sized responses end on their own.
   */
  private armTokenExpiry(): void {
    const exp = this.principal.expiresAt;
    if (exp === undefined || this.trackedExpiry !== undefined) return;
    this.trackedExpiry = exp;
    this.streams.track(exp, this);
  }

  /** ExpiringStream: the token's expiry came while the response was still streaming. */
  tokenExpired(): void {
    this.trackedExpiry = undefined;
    this.fail(new GatehouseError('GH_ERR_TOKEN_EXPIRED', 'the token this request was made with expired while its response was streaming'), 'token_expired');
  }

  /** The headers were written without a body chunk yet: send them now, if the response still stands. */
  flushHead(): void {
    if (!this.headPending) return;
    this.headPending = false;
    if (this.failure === undefined && !this.res.writableEnded && !this.res.destroyed) this.res.flushHeaders();
  }

  /** A decoded piece of a compressed response that is scrubbed: out to the client as identity. */
  private readonly onDecompressed = (decoded: Buffer): void => {
    if (this.failure !== undefined) return;
    let out: Buffer | undefined;
    try {
      out = this.scrubber!.push(decoded);
    } catch (e) {
      this.fail(toGatehouseError(e, 'GH_ERR_CREDENTIAL_REFLECTED'), 'credential_reflected');
      return;
    }
    if (this.rewrite !== undefined) {
      out = this.rewriteChunk(out, false);
      if (out === undefined) return;
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
    let tail: Buffer | undefined = this.scrubber!.end();
    if (this.rewrite !== undefined) {
      tail = this.rewriteChunk(tail, true);
      if (tail === undefined) return;
    }
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
        method: this.wireMethod,
        status,
        headers,
        contentType,
        contentEncoding: upHeaders['content-encoding'],
        llmKind: this.connection.llm,
        llm: this.llm,
        bodyCap: this.responseBodyCap(),
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
    void this.session.recordOutcome('masking.failed', maskingFailedPayload(err, phase, this.res.headersSent), this.requestId);
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
    if (this.trackedExpiry !== undefined) this.streams.untrack(this.trackedExpiry, this);
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
        void this.session.recordOutcome('http.response', responsePayload(this.upstreamStatus, upHeaders, this.upstream, body, this.ttfb, total, this.forwardedAt - this.started), this.requestId);
        if (this.llm !== undefined) {
          if (this.llmRequest !== undefined) this.finishLlmRequest();
          this.llm.responseEnd();
          const transcript = this.llm.result();
          if (this.masking !== undefined) transcript.masked = true;
          void this.session.recordOutcome(this.llm.eventType ?? 'llm.exchange', transcript as never, this.requestId);
        }
      }
    } finally {
      this.proxy.onActivity();
      this.proxy.metrics?.observeRequest(this.connection.name, this.wireMethod, status, total / 1000);
      // The access log line (a refusal after forwarding was logged by refuse()).
      if (this.failure === undefined) {
        this.proxy.logger.info({ connection: this.connection.name, requestId: this.requestId, method: this.wireMethod, status, ms: round(total) }, 'http exchange');
      }
      this.done?.();
    }
  }

  /** The exchange's failure in the record (`http.error`), in order before the client is answered. */
  private async recordError(err: GatehouseError, reason: string, totalMs?: number): Promise<void> {
    const status = this.res.headersSent ? this.res.statusCode : err.status;
    const recorded = this.session.recordOutcome('http.error', errorPayload(err, reason, status, totalMs, this.upstreamStatus === undefined ? undefined : this.wireBytes), this.requestId);
    if (recorded !== undefined) await recorded;
  }
}

async function* chunksOf(chunks: readonly Buffer[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield c;
}

/**
 * Exchanges whose headers wait for their first chunk. One setImmediate for all of them per turn
 * of the event loop (not one per response): each is sent then, unless its first chunk took it.
 */
const pendingHeads: Exchange[] = [];
let headsScheduled = false;

function flushSoon(exchange: Exchange): void {
  pendingHeads.push(exchange);
  if (headsScheduled) return;
  headsScheduled = true;
  setImmediate(flushPendingHeads);
}

function flushPendingHeads(): void {
  headsScheduled = false;
  // Entries added while flushing wait for the next turn (flushSoon schedules it).
  const n = pendingHeads.length;
  for (let i = 0; i < n; i++) pendingHeads[i]!.flushHead();
  pendingHeads.splice(0, n);
}
