import pg from 'pg';
import type { StateLogger } from '../state/store';
import { APPROVAL_CHANNEL } from './schema';

/**
 * A dedicated PostgreSQL connection that LISTENs for approval changes, so a waiting operation
 * wakes as soon as any replica decides, without polling the database hot. It reconnects with
 * backoff; after a reconnect it reports `resync` because notifications sent while it was away
 * are lost (the waiters then re-read, and their slow safety poll covers the gap anyway).
 */
export interface ApprovalListenerHandlers {
  /** An approval changed (its id). */
  changed(id: string): void;
  /** Notifications may have been missed: re-read everything being waited on. */
  resync(): void;
}

export interface ApprovalListener {
  close(): Promise<void>;
}

export interface PgApprovalListenerOptions {
  /**
   * How to connect: a plain `postgres://` URL, or the state store's own `pg` client
   * configuration (TLS, token password), from `StateStore.clientConfig()`.
   */
  readonly url: string | pg.ClientConfig;
  readonly logger: StateLogger;
  readonly handlers: ApprovalListenerHandlers;
  /** First reconnect delay; doubles up to `maxBackoffMs`. @default 500 */
  readonly backoffMs?: number;
  /** @default 10000 */
  readonly maxBackoffMs?: number;
}

export function startPgApprovalListener(options: PgApprovalListenerOptions): ApprovalListener {
  const { logger, handlers } = options;
  const base = options.backoffMs ?? 500;
  const max = options.maxBackoffMs ?? 10000;
  let closed = false;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let attempt = 0;
  let everConnected = false;

  const schedule = () => {
    if (closed || timer !== undefined) return;
    const delay = Math.min(max, base * 2 ** Math.min(attempt, 10));
    attempt++;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, delay);
    timer.unref();
  };

  const connect = async () => {
    if (closed) return;
    const target = typeof options.url === 'string' ? { connectionString: options.url } : options.url;
    const c = new pg.Client({ ...target, application_name: 'gatehouse-approvals', connectionTimeoutMillis: 5000, keepAlive: true });
    let dropped = false;
    const drop = (why: string) => {
      if (dropped) return;
      dropped = true;
      if (client === c) client = undefined;
      c.removeAllListeners('notification');
      void c.end().catch(() => undefined);
      if (!closed) {
        logger.warn({ reason: why }, 'approval listener lost its connection; reconnecting');
        schedule();
      }
    };
    // Errors on an idle connection are emitted, not thrown: unhandled they would crash the process.
    c.on('error', (e) => drop(redact(e.message)));
    c.on('end', () => drop('connection ended'));
    c.on('notification', (msg) => {
      if (msg.channel === APPROVAL_CHANNEL && msg.payload) handlers.changed(msg.payload);
    });
    try {
      await c.connect();
      await c.query(`listen ${APPROVAL_CHANNEL}`);
    } catch (e) {
      drop(redact((e as Error).message));
      return;
    }
    if (closed) {
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    attempt = 0;
    if (everConnected) handlers.resync();
    everConnected = true;
  };

  void connect();
  return {
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      const c = client;
      client = undefined;
      if (c !== undefined) {
        c.removeAllListeners('end');
        await c.end().catch(() => undefined);
      }
    },
  };
}

function redact(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/)[^@\s/]*@/gi, '$1***@');
}
