import net from 'node:net';
import tls from 'node:tls';
import type { PostgresConnectionConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';
import { cancelRequest, message, parseErrorFields, passwordMessage, SSL_REQUEST, startupMessage, startupPacket, T } from './messages';
import { pinnedViolation } from './pinned';
import { md5Password, ScramClient } from './scram';

/** What logging in upstream yields: the open socket and what the client must be told. */
export interface UpstreamSession {
  readonly socket: net.Socket;
  /** ParameterStatus messages as sent by the server (forwarded to the client as they are). */
  readonly parameterStatus: Buffer;
  readonly backendPid: number;
  readonly backendSecret: number;
  /** Transaction status of the first ReadyForQuery. */
  readonly status: number;
  /** Bytes the server sent after its first ReadyForQuery (normally none). */
  readonly rest: Buffer;
  readonly tls: boolean;
}

export interface UpstreamTarget {
  readonly connection: PostgresConnectionConfig;
  /** Resolved CA (PEM) for verify-full, when configured. */
  readonly ca?: string;
}

/** Opens a TCP socket, negotiates TLS as configured (SSLRequest first, as libpq does). */
export async function openUpstreamSocket(target: UpstreamTarget, timeoutMs: number): Promise<{ socket: net.Socket; tls: boolean }> {
  const { host, port, tls: tlsConfig } = target.connection.upstream;
  const raw = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new GatehouseError('GH_ERR_UPSTREAM_TIMEOUT', `connecting to ${host}:${port} timed out`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.off('error', onError);
      resolve(s);
    });
    const onError = (e: Error): void => {
      clearTimeout(timer);
      reject(new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `cannot connect to ${host}:${port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    };
    s.once('error', onError);
  });
  raw.setNoDelay(true);
  if (tlsConfig.mode === 'disable') return { socket: raw, tls: false };
  try {
    raw.write(startupPacket(SSL_REQUEST));
    const answer = await readBytes(raw, 1, timeoutMs);
    if (answer[0] !== 0x53 /* S */) throw new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `${host}:${port} does not accept TLS (tls.mode is ${tlsConfig.mode})`);
    // Bytes after the answer, before the handshake, were not sent under TLS: refuse them as libpq does (CVE-2021-23222).
    if (raw.readableLength > 0) throw new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `${host}:${port} sent unexpected data after its TLS answer`);
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const verify = tlsConfig.mode === 'verify-full';
      const s = tls.connect({
        socket: raw,
        servername: net.isIP(tlsConfig.serverName ?? host) ? undefined : (tlsConfig.serverName ?? host),
        ca: target.ca,
        rejectUnauthorized: verify,
        checkServerIdentity: verify ? (_h, cert) => tls.checkServerIdentity(tlsConfig.serverName ?? host, cert) : () => undefined,
        minVersion: 'TLSv1.2',
      });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new GatehouseError('GH_ERR_UPSTREAM_TIMEOUT', `TLS with ${host}:${port} timed out`));
      }, timeoutMs);
      s.once('secureConnect', () => {
        clearTimeout(timer);
        s.off('error', onError);
        resolve(s);
      });
      const onError = (e: Error): void => {
        clearTimeout(timer);
        reject(new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `TLS with ${host}:${port} failed: ${e.message}`));
      };
      s.once('error', onError);
    });
    secure.setNoDelay(true);
    return { socket: secure, tls: true };
  } catch (e) {
    raw.destroy();
    throw e;
  }
}

/** Reads exactly `n` bytes from a socket (before the proxy takes it over). */
function readBytes(socket: net.Socket, n: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= n) {
        cleanup();
        socket.pause();
        if (got.length > n) socket.unshift(got.subarray(n));
        resolve(got.subarray(0, n));
      }
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `upstream connection failed: ${e.message}`));
    };
    const onClose = (): void => {
      cleanup();
      reject(new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', 'the upstream closed the connection during start-up'));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new GatehouseError('GH_ERR_UPSTREAM_TIMEOUT', 'the upstream did not answer in time'));
    }, timeoutMs);
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.resume();
  });
}

/** The brokered credential a session logs in with (roles.ts chooses it). */
export interface UpstreamCredential {
  readonly user: string;
  readonly password: string | undefined;
}

/**
 * Logs in upstream with the brokered credential: sends the startup message, answers the
 * authentication the server asks for (SCRAM-SHA-256, md5 or cleartext), and collects the
 * ParameterStatus and BackendKeyData messages up to the first ReadyForQuery. A ParameterStatus
 * reporting another value for a `watched` parameter (pinned.ts) fails the login.
 */
export async function loginUpstream(
  target: UpstreamTarget,
  credential: UpstreamCredential,
  params: Record<string, string>,
  watched: ReadonlyMap<string, string> = new Map(),
): Promise<UpstreamSession> {
  const up = target.connection.upstream;
  const { user, password } = credential;
  const deadline = Date.now() + up.connectTimeoutMs;
  const { socket, tls: secure } = await openUpstreamSocket(target, up.connectTimeoutMs);
  try {
    socket.write(startupMessage({ ...params, user, database: up.database }));
    const reader = new MessageReader(socket);
    const statusParts: Buffer[] = [];
    let scram: ScramClient | undefined;
    let pid = 0;
    let secret = 0;
    for (;;) {
      const msg = await reader.next(Math.max(1, deadline - Date.now()));
      const body = msg.body;
      if (msg.type === T.Authentication) {
        const code = body.readInt32BE(0);
        if (code === 0) continue;
        const pw = (): string => {
          if (password === undefined) throw new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `the upstream asks for a password, but connection "${target.connection.name}" has no upstream.password`);
          return password;
        };
        if (code === 3) socket.write(passwordMessage(Buffer.from(`${pw()}\0`, 'utf8')));
        else if (code === 5) socket.write(passwordMessage(Buffer.from(`${md5Password(user, pw(), body.subarray(4, 8))}\0`, 'utf8')));
        else if (code === 10) {
          const mechanisms = body.toString('utf8', 4).split('\0');
          if (!mechanisms.includes('SCRAM-SHA-256')) throw new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `the upstream offers no supported SASL mechanism (${mechanisms.filter(Boolean).join(', ')})`);
          scram = new ScramClient(pw());
          socket.write(message(T.Password, scram.initialResponse()));
        } else if (code === 11) {
          if (!scram) throw new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', 'unexpected SASL continue from the upstream');
          socket.write(message(T.Password, scram.continue(body.toString('utf8', 4))));
        } else if (code === 12) {
          if (!scram) throw new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', 'unexpected SASL final from the upstream');
          try {
            scram.finish(body.toString('utf8', 4));
          } catch (e) {
            throw new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `the upstream failed SCRAM verification: ${(e as Error).message}`);
          }
        } else throw new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `the upstream asks for an unsupported authentication method (${code})`);
      } else if (msg.type === T.ParameterStatus) {
        const changed = pinnedViolation(body, watched);
        if (changed !== undefined) {
          throw new GatehouseError('GH_ERR_PG_PARAMETER_CHANGED', `the upstream session started with ${changed.name} = "${changed.value}", but the gateway requires ${changed.name} = "${watched.get(changed.name)}"`);
        }
        statusParts.push(msg.raw);
      } else if (msg.type === T.BackendKeyData) {
        pid = body.readInt32BE(0);
        secret = body.readInt32BE(4);
      } else if (msg.type === T.ReadyForQuery) {
        const rest = reader.rest();
        return { socket, parameterStatus: Buffer.concat(statusParts), backendPid: pid, backendSecret: secret, status: body[0] ?? 0x49, rest, tls: secure };
      } else if (msg.type === T.ErrorResponse) {
        const e = parseErrorFields(body);
        throw new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `the upstream refused the gateway's login (${e.sqlstate}): ${e.message}`, { details: { sqlstate: e.sqlstate } });
      }
      // NoticeResponse and NegotiateProtocolVersion during start-up are not the client's business.
    }
  } catch (e) {
    socket.destroy();
    throw e;
  }
}

/** Sends a CancelRequest for an upstream backend on a fresh connection, as the protocol wants. */
export async function sendCancel(target: UpstreamTarget, pid: number, secret: number): Promise<void> {
  const { socket } = await openUpstreamSocket(target, target.connection.upstream.connectTimeoutMs);
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
    socket.end(cancelRequest(pid, secret));
    socket.resume();
    setTimeout(() => {
      socket.destroy();
      resolve();
    }, 5000).unref();
  });
}

interface RawMessage {
  readonly type: number;
  readonly body: Buffer;
  readonly raw: Buffer;
}

/** A small promise-based reader for the start-up exchange only (the hot path has its own framer). */
class MessageReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private failure: Error | undefined;

  constructor(private readonly socket: net.Socket) {
    socket.on('data', this.onData);
    socket.once('error', this.onError);
    socket.once('close', this.onClose);
    socket.resume();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.waiting?.();
  };
  private readonly onError = (e: Error): void => {
    this.failure = new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `upstream connection failed: ${e.message}`);
    this.waiting?.();
  };
  private readonly onClose = (): void => {
    this.failure ??= new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', 'the upstream closed the connection during login');
    this.waiting?.();
  };

  async next(timeoutMs: number): Promise<RawMessage> {
    for (;;) {
      if (this.buf.length >= 5) {
        const len = this.buf.readInt32BE(1);
        if (len < 4 || len > 1 << 24) throw new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', 'the upstream sent a malformed start-up message');
        if (this.buf.length >= len + 1) {
          const raw = this.buf.subarray(0, len + 1);
          this.buf = this.buf.subarray(len + 1);
          return { type: raw[0]!, body: raw.subarray(5), raw };
        }
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiting = undefined;
          reject(new GatehouseError('GH_ERR_UPSTREAM_TIMEOUT', 'logging in upstream timed out'));
        }, timeoutMs);
        this.waiting = () => {
          clearTimeout(timer);
          this.waiting = undefined;
          resolve();
        };
      });
    }
  }

  /** Detaches and returns the unread bytes. */
  rest(): Buffer {
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('error', this.onError);
    this.socket.off('close', this.onClose);
    return this.buf;
  }
}
