import { randomInt } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { ListenerConfig, MaskingConfig, PostgresConnectionConfig } from '../../config/schema';
import type { Detector } from '../../masking/detector';
import { prepareMasking, type PreparedMasking } from '../../masking/masking-policy';
import { createRowMasker, type RowMasker } from './row-masking';
import { GatehouseError, toGatehouseError } from '../../errors';
import type { Logger } from '../../observability/logger';
import type { ClientInfo, GatewaySession, Pipeline } from '../../pipeline/types';
import { ProxyConnection } from './connection';
import { pgLoginError, pgSqlstate, pgStartupError, SQLSTATE, type Sqlstate } from './errors';
import { UpstreamCaCache } from '../kit/upstream-tls';
import { closeTcpGracefully, listenTcp, upgradeServerTls } from '../kit/tcp-listener';
import { authRequest, backendKeyData, CANCEL_REQUEST, errorResponse, GSSENC_REQUEST, parseStartupParams, PROTOCOL_3_0, readyForQuery, SSL_REQUEST, T } from './messages';
import { loginUpstream, sendCancel, type UpstreamTarget } from './upstream';
import { clientStartupParameters, upstreamStartupParameters, watchedParameters } from './pinned';
import { upstreamRoleFor } from './roles';
import { sessionDeadline } from './session-life';
import { connectionObserver, NO_METRICS, RateLimitedLog, type PostgresMetrics } from './metrics';
import { loadSqlParser } from './sql/classify';

export interface PostgresProxyOptions {
  readonly pipeline: Pipeline;
  readonly connections: readonly PostgresConnectionConfig[];
  readonly listener: ListenerConfig;
  /** PEM certificate chain and key for the listener (already read); without them no TLS is offered. */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly logger: Logger;
  /** Start-up (TLS, startup message, password) must finish within this. @default 30000 */
  readonly startupTimeoutMs?: number;
  /** Masking for connections without their own `masking` block (config top-level `masking`). @default none */
  readonly defaultMasking?: MaskingConfig;
  /** Extra detectors per connection name, added to its masking (embedding and tests: e.g. one that throws). */
  readonly extraMaskingDetectors?: Readonly<Record<string, readonly Detector[]>>;
  /** Called for each chunk a proxied client or server sends (busy polling, server/busy-poll.ts). */
  readonly onActivity?: () => void;
  /** Connections, statements by decision, parse failures, protocol errors, bytes (admin/metrics.ts). @default none */
  readonly metrics?: PostgresMetrics;
}

export interface PostgresProxy {
  readonly server: net.Server;
  readonly address: string;
  readonly port: number;
  readonly tls: boolean;
  /** Open client connections (proxying). */
  connections(): number;
  /**
   * Stops accepting; idle connections end at once (FATAL 57P01), busy ones when they become idle,
   * and whatever is left after `graceMs` is cut. Every session is sealed (`session.end`).
   */
  close(graceMs: number): Promise<void>;
}

const MAX_STARTUP = 10000;
const MAX_PASSWORD = 65536;

interface CancelTarget {
  readonly secret: number;
  readonly target: UpstreamTarget;
  readonly pid: number;
  readonly upstreamSecret: number;
}

/** Starts the PostgreSQL listener. Loads the SQL parser first: without it nothing could be judged. */
export async function startPostgresProxy(options: PostgresProxyOptions): Promise<PostgresProxy> {
  await loadSqlParser();
  const proxy = new PostgresProxyImpl(options);
  await proxy.listen();
  return proxy;
}

class PostgresProxyImpl implements PostgresProxy {
  readonly server: net.Server;
  address = '';
  port = 0;
  readonly tls: boolean;
  private readonly secureContext: tls.SecureContext | undefined;
  private readonly byDatabase = new Map<string, PostgresConnectionConfig>();
  private readonly cas: UpstreamCaCache;
  private readonly cancelKeys = new Map<number, CancelTarget>();
  private readonly live = new Set<ProxyConnection>();
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<GatewaySession>();
  /** Per connection name; compiled at start so a bad rule stops start-up. Absent: no masking. */
  private readonly masking = new Map<string, PreparedMasking>();
  private closing = false;
  private readonly metrics: PostgresMetrics;
  /** Start-up and protocol errors are the clients' doing and can come in floods: logged rate-limited. */
  private readonly errorLog: RateLimitedLog;

  constructor(private readonly options: PostgresProxyOptions) {
    this.metrics = options.metrics ?? NO_METRICS;
    this.cas = new UpstreamCaCache(options.pipeline.secrets);
    this.errorLog = new RateLimitedLog(options.logger);
    this.tls = options.tls !== undefined;
    this.secureContext = options.tls ? tls.createSecureContext({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }) : undefined;
    for (const c of options.connections) for (const db of c.databases ?? [c.name]) this.byDatabase.set(db, c);
    for (const c of options.connections) {
      const prepared = prepareMasking(c.masking ?? options.defaultMasking, { connection: c.name, extraDetectors: options.extraMaskingDetectors?.[c.name] });
      if (prepared !== undefined) this.masking.set(c.name, prepared);
    }
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  async listen(): Promise<void> {
    const bound = await listenTcp(this.server, this.options.listener.address, this.options.listener.port);
    this.address = bound.address;
    this.port = bound.port;
  }

  connections(): number {
    return this.live.size;
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    this.startup(socket).catch((e: unknown) => {
      this.options.logger.warn({ code: toGatehouseError(e, 'GH_ERR_INTERNAL').code }, 'postgres start-up failed');
      socket.destroy();
    });
  }

  /** A connection refused during start-up: counted, and logged (info: the client's doing) rate-limited. */
  private startupError(client: ClientInfo, code: string, connection = 'unknown', protocolError = false): void {
    this.metrics.connection(connection, 'refused');
    if (protocolError) this.metrics.protocolError(connection, 'startup');
    this.errorLog.log('info', `startup.${code}`, { code, connection, client: client.address }, 'postgres start-up refused');
  }

  private async startup(raw: net.Socket): Promise<void> {
    let client: ClientInfo = { address: raw.remoteAddress ?? 'unknown', port: raw.remotePort };
    const deadline = Date.now() + (this.options.startupTimeoutMs ?? 30000);
    let socket: net.Socket = raw;
    let reader = new StartupReader(raw, deadline);
    let encrypted = false;
    try {
      const first = await reader.peekByte();
      if (first === 0x16) {
        // Direct TLS (PostgreSQL 17 `sslnegotiation=direct`): a TLS ClientHello instead of SSLRequest.
        if (!this.secureContext) return this.fatal(raw, SQLSTATE.protocolViolation, 'gatehouse: this listener has no TLS certificate; direct TLS is not available');
        socket = await this.upgrade(raw, reader.detach(), true);
        reader = new StartupReader(socket, deadline);
        encrypted = true;
      }
      let params: Record<string, string> | undefined;
      while (params === undefined) {
        const packet = await reader.startupPacket();
        if (packet.code === SSL_REQUEST || packet.code === GSSENC_REQUEST) {
          if (encrypted || packet.body.length > 0) return this.fatal(socket, SQLSTATE.protocolViolation, 'gatehouse: unexpected encryption request');
          const rest = reader.detach();
          // Bytes sent after SSLRequest before the handshake would be read as if encrypted (CVE-2021-23214).
          if (rest.length > 0) return this.fatal(socket, SQLSTATE.protocolViolation, 'gatehouse: data received after the encryption request');
          if (packet.code === SSL_REQUEST && this.secureContext) {
            socket.write('S');
            socket = await this.upgrade(raw, Buffer.alloc(0), false);
            encrypted = true;
          } else socket.write('N');
          reader = new StartupReader(socket, deadline);
        } else if (packet.code === CANCEL_REQUEST) {
          reader.detach();
          await this.cancel(packet.body);
          socket.destroy();
          return;
        } else if (packet.code === PROTOCOL_3_0) {
          params = parseStartupParams(packet.body);
        } else {
          return this.fatal(socket, SQLSTATE.featureNotSupported, `gatehouse: unsupported frontend protocol ${packet.code >>> 16}.${packet.code & 0xffff}: the gateway speaks 3.0`);
        }
      }
      if (params.application_name) client = { ...client, userAgent: params.application_name.slice(0, 200) };
      if (!encrypted && !this.options.listener.allowPlaintext) {
        return this.fatal(socket, SQLSTATE.invalidAuthorization, 'gatehouse: TLS is required: connect with sslmode=require (the password is an OIDC token)');
      }
      const database = params.database ?? params.user ?? '';
      const connection = this.byDatabase.get(database);
      if (connection === undefined) return this.fatal(socket, SQLSTATE.invalidCatalogName, `gatehouse: database "${database}" is not served by this gateway`);
      const notAccepting = this.closing ? new GatehouseError('GH_ERR_SHUTTING_DOWN', 'the gateway is shutting down; retry on another replica') : this.options.pipeline.notAccepting();
      if (notAccepting !== undefined) return this.fatal(socket, SQLSTATE.cannotConnectNow, `gatehouse: the gateway is not accepting new connections: ${notAccepting.message} (${notAccepting.code})`);
      // Settings that change how the server reads SQL are pinned: refused before any password is asked for.
      let forwarded: Record<string, string>;
      try {
        forwarded = clientStartupParameters(params);
      } catch (e) {
        const err = toGatehouseError(e, 'GH_ERR_PG_PARAMETER_PINNED');
        this.startupError(client, err.code, connection.name);
        return this.fatal(socket, pgSqlstate('GH_ERR_PG_PARAMETER_PINNED', 'startup'), err.message);
      }

      socket.write(authRequest(3));
      const password = await reader.typedMessage(T.Password, MAX_PASSWORD);
      const nul = password.indexOf(0);
      const token = password.toString('utf8', 0, nul < 0 ? password.length : nul).trim();
      let principal;
      try {
        principal = await this.options.pipeline.authenticate(token === '' ? undefined : token, client, 'postgres', connection.name);
      } catch (e) {
        this.metrics.connection(connection.name, 'refused');
        const refused = pgLoginError(e, params.user ?? '');
        return this.fatal(socket, refused.sqlstate, refused.message);
      }
      await this.openProxied(socket, reader.detach(), connection, principal, client, params, forwarded, encrypted);
    } catch (e) {
      const failed = pgStartupError(e);
      this.startupError(client, failed.err.code, 'unknown', failed.err.code === 'GH_ERR_REQUEST_INVALID');
      if (!socket.destroyed) this.fatal(socket, failed.sqlstate, failed.message);
    }
  }

  private async openProxied(
    socket: net.Socket,
    clientRest: Buffer,
    connection: PostgresConnectionConfig,
    principal: Awaited<ReturnType<Pipeline['authenticate']>>,
    client: ClientInfo,
    params: Record<string, string>,
    forwarded: Record<string, string>,
    encrypted: boolean,
  ): Promise<void> {
    const pipeline = this.options.pipeline;
    const role = upstreamRoleFor(connection, principal);
    let upstreamParams: Record<string, string>;
    try {
      upstreamParams = upstreamStartupParameters(forwarded, role.readOnly);
    } catch (e) {
      return this.fatal(socket, pgSqlstate('GH_ERR_PG_PARAMETER_PINNED', 'startup'), toGatehouseError(e, 'GH_ERR_PG_PARAMETER_PINNED').message);
    }
    const watched = watchedParameters(role.readOnly);
    let session: GatewaySession;
    try {
      session = await pipeline.openSession(principal, connection, 'postgres', client);
    } catch (e) {
      const err = toGatehouseError(e, 'GH_ERR_RECORDING_FAILED');
      return this.fatal(socket, SQLSTATE.cannotConnectNow, `gatehouse: the session could not be opened (${err.code})`);
    }
    this.sessions.add(session);
    const up = connection.upstream;
    const upstreamName = `${up.host}:${up.port}/${up.database}`;
    let target: UpstreamTarget;
    let login;
    try {
      target = { connection, ca: await this.caFor(connection) };
      const password = role.password === undefined ? undefined : await pipeline.secrets.get(role.password).catch((e: unknown) => {
        throw new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `the upstream credential of connection "${connection.name}" could not be read`, { cause: e });
      });
      login = await loginUpstream(target, { user: role.user, password }, upstreamParams, watched);
    } catch (e) {
      const err = toGatehouseError(e, 'GH_ERR_UPSTREAM_UNAVAILABLE');
      await session.recordOutcome('pg.upstream_error', { upstream: upstreamName, code: err.code, message: err.message });
      await this.closeSession(session, 'upstream_unavailable');
      return this.fatal(socket, SQLSTATE.connectionFailure, `gatehouse: could not open connection "${connection.name}" upstream (${err.code}): ${err.message}`);
    }
    if (socket.destroyed) {
      login.socket.destroy();
      await this.closeSession(session, 'client_closed');
      return;
    }
    try {
      // Before any statement goes: stored by mode as a request event is, or the connection is refused.
      await session.recordRequest('pg.session', {
        upstream: upstreamName,
        upstreamUser: role.user,
        readOnly: role.readOnly,
        upstreamTls: login.tls,
        clientTls: encrypted,
        requested: { user: params.user ?? null, database: params.database ?? null, application_name: params.application_name ?? null },
        backendPid: login.backendPid,
      });
    } catch (e) {
      login.socket.destroy();
      await this.closeSession(session, 'recording_failed');
      return this.fatal(socket, SQLSTATE.cannotConnectNow, `gatehouse: the session could not be recorded (${toGatehouseError(e, 'GH_ERR_RECORDING_FAILED').code})`);
    }

    let rowMasker: RowMasker | undefined;
    const prepared = this.masking.get(connection.name);
    if (prepared !== undefined) {
      try {
        rowMasker = createRowMasker(prepared.resolved ?? (await prepared.resolve(pipeline.secrets)), prepared.config);
      } catch (e) {
        // Without its masking (e.g. the hash key cannot be read) the connection must not open.
        const err = toGatehouseError(e, 'GH_ERR_MASKING_FAILED');
        login.socket.destroy();
        await session.recordOutcome('masking.failed', { code: err.code, phase: 'setup', message: err.message });
        await this.closeSession(session, 'masking_unavailable');
        return this.fatal(socket, SQLSTATE.systemError, `gatehouse: masking for connection "${connection.name}" is unavailable (${err.code}); the connection is refused`);
      }
    }
    const key = this.newCancelKey({ target, pid: login.backendPid, upstreamSecret: login.backendSecret });
    socket.write(Buffer.concat([authRequest(0), login.parameterStatus, backendKeyData(key.pid, key.secret), readyForQuery(login.status)]));
    const proxied = new ProxyConnection(socket, login.socket, session, {
      sql: { unparsed: connection.unparsedStatements, maxStatementLength: connection.maxStatementLength, database: up.database, user: role.user, readOnly: role.readOnly },
      rowCap: connection.record.rows,
      valueCap: connection.record.valueBytes,
      strict: pipeline.recordingMode === 'strict',
      maxMessageBytes: connection.maxMessageBytes,
      logger: this.options.logger,
      masking: rowMasker,
      onActivity: this.options.onActivity,
      pinned: watched,
      observer: connectionObserver(this.metrics, this.errorLog, connection.name),
    }, login.status);
    this.metrics.connection(connection.name, 'opened');
    this.live.add(proxied);
    let expiry: { cancel(): void } | undefined;
    proxied.onClosed = (reason) => {
      expiry?.cancel();
      this.live.delete(proxied);
      this.cancelKeys.delete(key.pid);
      void this.closeSession(session, reason);
    };
    proxied.start(clientRest, login.rest);
    // The protocol cannot present a new token: the connection ends when its token expires, or at its maximum life.
    const deadline = sessionDeadline(Date.now(), connection.maxSessionSeconds, principal.expiresAt);
    expiry = deadline.arm(() => {
      this.options.logger.info({ code: 'GH_ERR_SESSION_EXPIRED', sessionId: session.id, reason: deadline.reason }, 'postgres connection ended at its session deadline');
      if (deadline.reason === 'token_expired') {
        proxied.terminate(pgSqlstate('GH_ERR_SESSION_EXPIRED', 'session'), `gatehouse: terminating connection: the token it logged in with expired (GH_ERR_SESSION_EXPIRED); connect again with a fresh token`, 'token_expired');
      } else {
        proxied.terminate(SQLSTATE.adminShutdown, `gatehouse: terminating connection: it reached its maximum life of ${connection.maxSessionSeconds} s (maxSessionSeconds, GH_ERR_SESSION_EXPIRED)`, 'max_life');
      }
    });
  }

  private async closeSession(session: GatewaySession, reason: string): Promise<void> {
    this.sessions.delete(session);
    await session.close(reason).catch(() => undefined);
  }

  private newCancelKey(t: Omit<CancelTarget, 'secret'>): { pid: number; secret: number } {
    let pid: number;
    do pid = randomInt(1, 0x7fffffff);
    while (this.cancelKeys.has(pid));
    const secret = randomInt(-0x80000000, 0x7fffffff);
    this.cancelKeys.set(pid, { ...t, secret });
    return { pid, secret };
  }

  /** A CancelRequest names the gateway's key; the upstream gets its own backend's key on a fresh connection. */
  private async cancel(body: Buffer): Promise<void> {
    if (body.length !== 8) return;
    const found = this.cancelKeys.get(body.readInt32BE(0));
    if (found === undefined || found.secret !== body.readInt32BE(4)) {
      this.options.logger.info({}, 'postgres cancel request with an unknown key ignored');
      return;
    }
    await sendCancel(found.target, found.pid, found.upstreamSecret).catch((e: unknown) => {
      this.options.logger.warn({ code: toGatehouseError(e, 'GH_ERR_UPSTREAM_UNAVAILABLE').code }, 'forwarding a postgres cancel request failed');
    });
  }

  private caFor(connection: PostgresConnectionConfig): Promise<string | undefined> {
    return this.cas.get(connection.upstream.tls.ca);
  }

  /** Direct TLS must negotiate ALPN "postgresql" (as PostgreSQL 17 requires), so no other protocol is confused for it. */
  private upgrade(raw: net.Socket, prefix: Buffer, direct: boolean): Promise<tls.TLSSocket> {
    return upgradeServerTls(raw, { secureContext: this.secureContext!, alpn: ['postgresql'], requireAlpn: direct ? 'postgresql' : undefined, prefix });
  }

  private fatal(socket: net.Socket, sqlstate: Sqlstate, text: string): void {
    if (socket.destroyed) return;
    socket.end(errorResponse('FATAL', sqlstate, text));
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  async close(graceMs: number): Promise<void> {
    this.closing = true;
    await closeTcpGracefully({
      server: this.server,
      connections: this.live,
      sockets: this.sockets,
      endWhenIdle: (c) => c.terminateGracefully(),
      cut: (c) => c.terminate(pgSqlstate('GH_ERR_SHUTTING_DOWN', 'session'), 'terminating connection: the gateway is shutting down'),
      graceMs,
    });
    await Promise.all([...this.sessions].map((s) => this.closeSession(s, 'shutdown')));
  }
}

/** Reads the start-up phase from a socket: untyped packets, then the typed password message. */
class StartupReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private ended = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly deadline: number,
  ) {
    socket.on('data', this.onData);
    socket.once('end', this.onEnd);
    socket.once('close', this.onEnd);
    socket.resume();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.buf.length > MAX_STARTUP + MAX_PASSWORD) this.socket.pause();
    this.waiting?.();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.waiting?.();
  };

  private async need(n: number): Promise<void> {
    while (this.buf.length < n) {
      if (this.ended) throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'the client closed the connection during start-up');
      const left = this.deadline - Date.now();
      if (left <= 0) throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'start-up timed out');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(timer);
          this.waiting = undefined;
          resolve();
        };
      });
    }
  }

  async peekByte(): Promise<number> {
    await this.need(1);
    return this.buf[0]!;
  }

  async startupPacket(): Promise<{ code: number; body: Buffer }> {
    await this.need(8);
    const len = this.buf.readInt32BE(0);
    if (len < 8 || len > MAX_STARTUP) throw new GatehouseError('GH_ERR_REQUEST_INVALID', `invalid start-up packet length ${len}`);
    await this.need(len);
    const code = this.buf.readInt32BE(4);
    const body = this.buf.subarray(8, len);
    this.buf = this.buf.subarray(len);
    return { code, body };
  }

  async typedMessage(type: number, max: number): Promise<Buffer> {
    await this.need(5);
    if (this.buf[0] !== type) throw new GatehouseError('GH_ERR_REQUEST_INVALID', `expected a password message, got message type ${this.buf[0]}`);
    const len = this.buf.readInt32BE(1);
    if (len < 4 || len > max) throw new GatehouseError('GH_ERR_REQUEST_INVALID', `invalid password message length ${len}`);
    await this.need(len + 1);
    const body = this.buf.subarray(5, len + 1);
    this.buf = this.buf.subarray(len + 1);
    return body;
  }

  /** Stops reading and returns the unread bytes. */
  detach(): Buffer {
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    return this.buf;
  }
}
