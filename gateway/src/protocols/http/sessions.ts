import type { Socket } from 'node:net';
import type { HttpConnectionConfig } from '../../config/schema';
import type { Principal } from '../../identity/principal';
import type { ClientInfo, GatewaySession, Pipeline } from '../../pipeline/types';
import { StreamExpiry } from './stream-expiry';
import type { ProxyLogger } from './types';

interface Entry {
  readonly key: string;
  readonly connectionName: string;
  readonly issuer: string;
  readonly subject: string;
  readonly socketKeyed: boolean;
  readonly opening: Promise<GatewaySession>;
  session: GatewaySession | undefined;
  inflight: number;
  lastUsed: number;
  /** When it opened (the clock of `now`): a session lives at most `maxLifeMs`. */
  readonly openedAt: number;
  /** Close as soon as the last in-flight request finishes (its socket went away, or it reached its maximum life). */
  closeWhenIdle: boolean;
  closeReason: string;
  closed: boolean;
  /** Its open streams, ended when the token each was authorized with expires. */
  readonly streams: StreamExpiry;
}

/** Held for the duration of one request; give it back with `release`. */
export interface SessionLease {
  readonly session: GatewaySession;
  readonly entry: unknown;
  /** The session's streams by token expiry (one timer per expiry, not per stream). */
  readonly streams: StreamExpiry;
}

export interface HttpSessionsOptions {
  readonly pipeline: Pipeline;
  readonly logger: ProxyLogger;
  /** Header-keyed sessions close after this long without a request. */
  readonly idleMs: number;
  /**
   * No session lives longer than this (config `recording.sessionMaxSeconds`): the next request
   * after it opens a new session, and the old one closes (reason `max_life`) once idle.
   * @default unlimited
   */
  readonly maxLifeMs?: number;
  readonly now: () => number;
}

/**
 * Groups HTTP requests into recorded sessions. A session belongs to one subject (issuer +
 * subject, so a refreshed token stays in its session) on one connection, and is keyed by the
 * client-declared session id when the client sends one (`x-gatehouse-session`, Claude Code's
 * `x-claude-code-session-id`), otherwise by the TCP connection: another subject or issuer on the
 * same session id or socket opens its own session. A session groups requests for the record and
 * never lends its principal: every request is judged under the principal of its own token (the
 * proxy passes it to authorize). Socket-keyed sessions close with their socket; header-keyed ones
 * after `idleMs` without traffic; any session after `maxLifeMs`. A session is never closed while
 * one of its requests is in flight.
 */
export class HttpSessions {
  private readonly entries = new Map<string, Entry>();
  private readonly socketIds = new WeakMap<Socket, number>();
  /** The socket's last socket-keyed entry: the keep-alive hot path skips building the key. */
  private readonly socketLast = new WeakMap<Socket, Entry>();
  private readonly socketEntries = new Map<number, Set<Entry>>();
  private nextSocketId = 1;

  constructor(private readonly options: HttpSessionsOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /** Synchronous while the session is already open (every request after a session's first). */
  acquire(principal: Principal, connection: HttpConnectionConfig, socket: Socket, client: ClientInfo, protocol = 'http'): SessionLease | Promise<SessionLease> {
    const clientSessionId = client.clientSessionId;
    if (clientSessionId === undefined) {
      const last = this.socketLast.get(socket);
      if (
        last !== undefined &&
        last.session !== undefined &&
        !last.closed &&
        !last.session.closed &&
        last.connectionName === connection.name &&
        last.subject === principal.subject &&
        last.issuer === principal.issuer &&
        !this.expired(last)
      ) {
        last.inflight++;
        last.lastUsed = this.options.now();
        return { session: last.session, entry: last, streams: last.streams };
      }
    }
    const socketId = clientSessionId === undefined ? this.socketId(socket) : 0;
    const key =
      `${connection.name}\u0000${principal.issuer}\u0000${principal.subject}\u0000` +
      (clientSessionId === undefined ? `s:${socketId}` : `h:${clientSessionId}`);
    let entry = this.entries.get(key);
    if (entry !== undefined && (entry.closed || entry.session?.closed === true)) {
      this.forget(entry);
      entry = undefined;
    }
    if (entry !== undefined && this.expired(entry)) {
      // Past its maximum life: it closes once its in-flight requests finish; this request opens a new one.
      this.retire(entry, 'max_life');
      entry = undefined;
    }
    if (entry === undefined) {
      const created: Entry = {
        key,
        connectionName: connection.name,
        issuer: principal.issuer,
        subject: principal.subject,
        socketKeyed: clientSessionId === undefined,
        // A connection has one dialect: the protocol never differs between requests of one key.
        opening: this.options.pipeline.openSession(principal, connection, protocol, client),
        session: undefined,
        inflight: 0,
        lastUsed: this.options.now(),
        openedAt: this.options.now(),
        closeWhenIdle: false,
        closeReason: 'client_disconnected',
        closed: false,
        streams: new StreamExpiry(),
      };
      entry = created;
      this.entries.set(key, created);
      if (created.socketKeyed) {
        let set = this.socketEntries.get(socketId);
        if (set === undefined) {
          set = new Set();
          this.socketEntries.set(socketId, set);
        }
        set.add(created);
        this.socketLast.set(socket, created);
      }
      created.opening.then(
        (s) => {
          created.session = s;
        },
        () => this.forget(created),
      );
    }
    entry.inflight++;
    entry.lastUsed = this.options.now();
    if (entry.session !== undefined) return { session: entry.session, entry, streams: entry.streams };
    return this.whenOpen(entry);
  }

  private async whenOpen(entry: Entry): Promise<SessionLease> {
    try {
      const session = await entry.opening;
      return { session, entry, streams: entry.streams };
    } catch (e) {
      entry.inflight--;
      throw e;
    }
  }

  release(lease: SessionLease): void {
    const entry = lease.entry as Entry;
    entry.inflight--;
    entry.lastUsed = this.options.now();
    if (entry.inflight === 0 && entry.closeWhenIdle) void this.closeEntry(entry, entry.closeReason);
  }

  private expired(entry: Entry): boolean {
    const max = this.options.maxLifeMs;
    return max !== undefined && this.options.now() - entry.openedAt >= max;
  }

  /** Takes an entry out of use: closed now when idle, else when its last request finishes. */
  private retire(entry: Entry, reason: string): void {
    if (entry.inflight === 0) {
      void this.closeEntry(entry, reason);
      return;
    }
    this.forget(entry);
    entry.closed = false; // still open for its in-flight requests; no new request finds it
    entry.closeWhenIdle = true;
    entry.closeReason = reason;
  }

  /** Closes header-keyed sessions idle for longer than the idle limit. */
  async closeIdle(): Promise<void> {
    const limit = this.options.now() - this.options.idleMs;
    const closing: Promise<void>[] = [];
    for (const entry of this.entries.values()) {
      if (entry.inflight !== 0) continue;
      if (!entry.socketKeyed && entry.lastUsed <= limit) closing.push(this.closeEntry(entry, 'idle'));
      else if (this.expired(entry)) closing.push(this.closeEntry(entry, 'max_life'));
    }
    await Promise.all(closing);
  }

  /** Closes every session (shutdown). */
  async closeAll(reason: string): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => this.closeEntry(e, reason)));
  }

  private socketId(socket: Socket): number {
    let id = this.socketIds.get(socket);
    if (id === undefined) {
      id = this.nextSocketId++;
      this.socketIds.set(socket, id);
      const sid = id;
      socket.once('close', () => this.socketClosed(sid));
    }
    return id;
  }

  private socketClosed(socketId: number): void {
    const set = this.socketEntries.get(socketId);
    this.socketEntries.delete(socketId);
    if (set === undefined) return;
    for (const entry of set) {
      if (entry.inflight === 0) void this.closeEntry(entry, 'client_disconnected');
      else entry.closeWhenIdle = true;
    }
  }

  private forget(entry: Entry): void {
    entry.closed = true;
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
  }

  private async closeEntry(entry: Entry, reason: string): Promise<void> {
    if (entry.closed) return;
    this.forget(entry);
    entry.streams.release();
    let session: GatewaySession;
    try {
      session = await entry.opening;
    } catch {
      return; // never opened: nothing to close
    }
    if (session.closed) return;
    try {
      await session.close(reason);
    } catch (e) {
      this.options.logger.warn({ err: e instanceof Error ? e.message : String(e), session: session.id }, 'closing an HTTP session failed');
    }
  }
}
