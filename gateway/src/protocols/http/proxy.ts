import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { HttpConnectionConfig, MaskingConfig } from '../../config/schema';
import { GatehouseError, toGatehouseError } from '../../errors';
import type { Detector } from '../../masking/detector';
import type { ClientInfo, Pipeline } from '../../pipeline/types';
import type { HttpCaller, HttpDialect, HttpRefusedAbout } from '../kit/http-dialect';
import { canonicalTarget, originForm, type CanonicalTarget } from './canonical-target';
import { sendError } from './errors';
import { Exchange, type ExchangeContext } from './exchange';
import { bearerToken, clientInfo, prefixBytes, readPrefix, type RequestPrefix } from './request';
import { HttpRouter, type RouteMatch } from './router';
import { HttpSessions, type SessionLease } from './sessions';
import type { HttpProxyMetrics, ProxyLogger } from './types';
import { HttpUpstreams, type Upstream } from './upstreams';

export { bearerToken } from './request';

/**
 * The HTTP proxy: the request handler that routes, authenticates and finds the session of each
 * request, then runs its exchange (exchange.ts). Requests are decoded by their connection's dialect
 * (dialects.ts), answered on failure by errors.ts, forwarded through upstreams.ts.
 */
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
  /**
   * A dialect per connection name, in place of the one its configuration selects (dialects.ts):
   * for embedders and tests until each HTTP-borne protocol's connection kind names its own.
   * @default plain HTTP, or the LLM dialect of the connection's `llm`
   */
  readonly dialects?: Readonly<Record<string, HttpDialect>>;
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

const DEFAULT_TRANSCRIPT_LIMIT = 8 * 1024 * 1024;

export function createHttpProxy(options: HttpProxyOptions): HttpProxy {
  return new HttpProxyImpl(options);
}

class HttpProxyImpl implements HttpProxy, ExchangeContext {
  private readonly router: HttpRouter;
  readonly upstreams: HttpUpstreams;
  private readonly sessions: HttpSessions;
  private readonly sweep: NodeJS.Timeout | undefined;
  readonly pipeline: Pipeline;
  readonly logger: ProxyLogger;
  readonly metrics: HttpProxyMetrics | undefined;
  readonly transcriptLimit: number;
  readonly onActivity: () => void;

  constructor(options: HttpProxyOptions) {
    this.pipeline = options.pipeline;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.transcriptLimit = options.transcriptLimitBytes ?? DEFAULT_TRANSCRIPT_LIMIT;
    this.onActivity = options.onActivity ?? noActivity;
    this.router = new HttpRouter(options.connections);
    this.upstreams = new HttpUpstreams(options.connections, {
      secrets: options.pipeline.secrets,
      bodyCapBytes: options.pipeline.bodyCapBytes,
      transcriptLimit: this.transcriptLimit,
      maxSockets: options.maxSocketsPerUpstream ?? 256,
      defaultMasking: options.defaultMasking,
      extraMaskingDetectors: options.extraMaskingDetectors,
      dialects: options.dialects,
    });
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
    await this.upstreams.close();
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
    const upstream = this.upstreams.get(connection.name);
    const notAccepting = this.pipeline.notAccepting();
    if (notAccepting !== undefined) {
      this.refuse(res, connection.name, notAccepting);
      return;
    }
    const client = clientInfo(req);
    if (upstream.dialect.authenticate !== undefined) {
      await this.handleDialectAuthenticated(req, res, upstream, match, target, method, started, client);
      return;
    }
    if (upstream.dialect.challengeFirst === true && req.headers.authorization === undefined) {
      // The client's challenge round (kit/http-dialect.ts `challengeFirst`): answered, not recorded.
      this.refuse(res, connection.name, new GatehouseError('GH_ERR_TOKEN_MISSING', 'no token presented: send an OIDC token as the password'));
      return;
    }
    let principal;
    try {
      const token = upstream.dialect.callerToken?.(req.headers) ?? bearerToken(req);
      // A token seen before is checked (times included) without a promise; anything else, and
      // every failure, goes the full way, which records it.
      principal = this.pipeline.authenticateCached?.(token) ?? (await this.pipeline.authenticate(token, client, upstream.dialect.sessionProtocol ?? 'http', connection.name));
    } catch (e) {
      // The pipeline recorded the failure; the upstream is never contacted.
      this.refuse(res, connection.name, toGatehouseError(e, 'GH_ERR_ISSUER_UNAVAILABLE'));
      return;
    }
    let lease: SessionLease;
    try {
      const acquired = this.sessions.acquire(principal, connection, req.socket, client, upstream.dialect.sessionProtocol);
      lease = acquired instanceof Promise ? await acquired : acquired;
    } catch (e) {
      this.refuse(res, connection.name, toGatehouseError(e, 'GH_ERR_RECORDING_FAILED'));
      return;
    }
    const exchange = new Exchange(this, upstream, match, target, lease.session, lease.streams, principal, req, res, method, started);
    try {
      await exchange.run();
    } finally {
      this.sessions.release(lease);
      // Only a spooled body has a file to remove: no extra turn of the loop for the rest.
      const removing = exchange.removeSpool();
      if (removing !== undefined) await removing;
    }
  }

  /**
   * A connection whose dialect authenticates the caller itself (AWS SigV4): the body prefix is read
   * first (a signature may cover its hash), the dialect names the principal or refuses, and the
   * exchange goes on with that prefix. Failures are recorded as `auth.failure`, as bearer tokens' are.
   */
  private async handleDialectAuthenticated(req: IncomingMessage, res: ServerResponse, upstream: Upstream, match: RouteMatch, target: CanonicalTarget, method: string, started: number, client: ClientInfo): Promise<void> {
    const connection = match.connection;
    let prefix: RequestPrefix;
    let caller: HttpCaller;
    try {
      const read = readPrefix(req, upstream.readCap);
      prefix = read instanceof Promise ? await read : read;
    } catch (e) {
      this.refuse(res, connection.name, toGatehouseError(e, 'GH_ERR_REQUEST_INVALID'));
      return;
    }
    try {
      const authenticated = upstream.dialect.authenticate!({ req, connectionName: connection.name, body: { bytes: prefixBytes(prefix), complete: prefix.ended } });
      caller = authenticated instanceof Promise ? await authenticated : authenticated;
    } catch (e) {
      const err = toGatehouseError(e, 'GH_ERR_TOKEN_MALFORMED');
      await this.pipeline.authenticationFailed?.(err, client, upstream.dialect.sessionProtocol ?? 'http', connection.name);
      if (!prefix.ended) res.setHeader('connection', 'close');
      this.refuse(res, connection.name, err);
      return;
    }
    let lease: SessionLease;
    try {
      const acquired = this.sessions.acquire(caller.principal, connection, req.socket, client, upstream.dialect.sessionProtocol);
      lease = acquired instanceof Promise ? await acquired : acquired;
    } catch (e) {
      this.refuse(res, connection.name, toGatehouseError(e, 'GH_ERR_RECORDING_FAILED'));
      return;
    }
    const exchange = new Exchange(this, upstream, match, target, lease.session, lease.streams, caller.principal, req, res, method, started, { prefix, caller });
    try {
      await exchange.run();
    } finally {
      this.sessions.release(lease);
      // Only a spooled body has a file to remove: no extra turn of the loop for the rest.
      const removing = exchange.removeSpool();
      if (removing !== undefined) await removing;
    }
  }

  refuse(res: ServerResponse, connection: string, err: GatehouseError, requestId?: string, decision?: string, about?: HttpRefusedAbout): void {
    this.metrics?.observeError?.(connection, err.code);
    // One line per refusal with a top-level status and code: operators alarm on these (the AWS
    // kit's 5xx-rate and recording-failure metric filters read exactly these fields).
    this.logger.warn({ connection, status: err.status, code: err.code, requestId }, 'http request refused');
    // A dialect answers in its protocol's own error shape (AWS: XML/JSON errors the SDKs parse).
    const native = connection === '' ? undefined : this.upstreams.get(connection)?.dialect.sendError;
    if (native !== undefined) native(res, err, { requestId, decision, ...about });
    else sendError(res, err, { requestId, decision });
  }
}

function noActivity(): void {}
