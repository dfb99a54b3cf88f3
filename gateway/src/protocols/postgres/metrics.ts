import type { Logger } from '../../observability/logger';

/** A counter the hot path bumps in place (admin/fast-metrics.ts hands out the series). */
export interface CounterCell {
  value: number;
}

/**
 * What the PostgreSQL listener reports (admin/metrics.ts implements it as Prometheus metrics).
 * Label values are bounded: configured connection names (or `unknown` before one is chosen), and
 * the fixed words in the signatures.
 */
export interface PostgresMetrics {
  /** A client connection that reached proxying (`opened`) or was refused during start-up (`refused`). */
  connection(connection: string, outcome: 'opened' | 'refused'): void;
  /** Statements judged: `allowed` (forwarded) or `refused` (answered by the gateway). */
  statements(connection: string, decision: 'allowed' | 'refused'): CounterCell;
  /** SQL texts the parser could not read (or would not: too long). */
  parseFailures(connection: string): CounterCell;
  /** A malformed or oversized message: from the client, the server, or during start-up. */
  protocolError(connection: string, side: 'client' | 'server' | 'startup'): void;
  /** Byte counters per connection and direction (`client` = received from clients, `server` = from the upstream). */
  bytes(connection: string, from: 'client' | 'server'): CounterCell;
}

export const NO_METRICS: PostgresMetrics = {
  connection: () => undefined,
  statements: () => ({ value: 0 }),
  parseFailures: () => ({ value: 0 }),
  protocolError: () => undefined,
  bytes: () => ({ value: 0 }),
};

/**
 * Logs at most `burst` lines per key per window; the first line after a quiet-down says how many
 * were left out. A client that sends garbage in a loop cannot flood the log.
 */
export class RateLimitedLog {
  private readonly windows = new Map<string, { start: number; count: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly burst = 10,
    private readonly windowMs = 60000,
    private readonly now: () => number = Date.now,
  ) {}

  log(level: 'info' | 'warn', key: string, fields: Record<string, unknown>, message: string): void {
    const t = this.now();
    let w = this.windows.get(key);
    if (w === undefined || t - w.start >= this.windowMs) {
      const suppressed = w?.suppressed ?? 0;
      if (this.windows.size > 1000) this.windows.clear();
      w = { start: t, count: 0, suppressed: 0 };
      this.windows.set(key, w);
      if (suppressed > 0) fields = { ...fields, suppressed };
    }
    if (w.count >= this.burst) {
      w.suppressed++;
      return;
    }
    w.count++;
    this.logger[level](fields, message);
  }
}

/** What one proxied connection reports: its connection's metrics and the shared rate-limited log. */
export interface ConnectionObserver {
  readonly allowed: CounterCell;
  readonly refused: CounterCell;
  readonly parseFailures: CounterCell;
  protocolError(side: 'client' | 'server', code: string, sessionId: string): void;
  readonly fromClient: CounterCell;
  readonly fromServer: CounterCell;
}

export function connectionObserver(metrics: PostgresMetrics, log: RateLimitedLog, connection: string): ConnectionObserver {
  return {
    allowed: metrics.statements(connection, 'allowed'),
    refused: metrics.statements(connection, 'refused'),
    parseFailures: metrics.parseFailures(connection),
    protocolError: (side, code, sessionId) => {
      metrics.protocolError(connection, side);
      // A client's malformed message is the client's problem (info); the server's is ours (warn).
      log.log(side === 'client' ? 'info' : 'warn', `protocol.${side}`, { code, connection, sessionId }, `postgres protocol error from the ${side}`);
    },
    fromClient: metrics.bytes(connection, 'client'),
    fromServer: metrics.bytes(connection, 'server'),
  };
}
