import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from './fast-metrics';
import type { PipelineObserver } from '../pipeline/pipeline';
import type { Decision } from '../policy/decision';

/**
 * The gateway's Prometheus metrics, behind typed helpers so callers never spell a metric or label
 * name. Every label takes values from a bounded set (configured connection names, protocol names,
 * error codes, HTTP statuses): never a user, token, path or request id.
 *
 * It is also the pipeline's observer (`PipelineObserver`), so the integrator passes it as is.
 */
export interface GatewayMetrics extends PipelineObserver {
  readonly registry: Registry;
  /** One operation answered: `status` is the HTTP status or the protocol's closest equivalent. */
  requestCompleted(protocol: string, connection: string, status: number | string): void;
  decision(effect: Decision['effect'], connection: string): void;
  /** A refused token, by GatehouseError code (`GH_ERR_TOKEN_EXPIRED`) and protocol (`http`, `admin`). */
  authFailure(code: string, protocol: string): void;
  /** How long storing one event took, in milliseconds; `ok: false` also counts a failure. */
  recorded(latencyMs: number, ok: boolean): void;
  /** An event that could not be stored, by GatehouseError code. */
  recordingFailure(code: string): void;
  sessionOpened(protocol: string): void;
  sessionClosed(protocol: string): void;
  /** Time from sending upstream to the response headers, in milliseconds. */
  upstreamLatency(connection: string, latencyMs: number): void;
  /**
   * A SQL text the parser could not classify, by reason: `syntax_error`, `too_complex` (refused
   * before parsing), `crash` (a parser instance trapped and was replaced), `unavailable`.
   */
  sqlParseFailure(reason: string): void;
  /**
   * Exports `gatehouse_busy_poll_seconds_total`, read from `spunSeconds` at each scrape: the time
   * the event loop was kept from sleeping (config `tuning.busyPollMicroseconds`). Real work done in
   * those windows counts too, so it bounds the CPU the spinning cost from above.
   */
  watchBusyPolling(spunSeconds: () => number): void;
  /**
   * Exports the recorder's counts of events it accepted but never stored
   * (`gatehouse_recording_events_lost_total`, also in the next digest's `lostEvents`) and of
   * failed witness writes (`gatehouse_recording_witness_failures_total`).
   */
  watchRecorder(stats: () => { readonly eventsLost: number; readonly witnessFailures: number }): void;
  /** The PostgreSQL listener's metrics (protocols/postgres/metrics.ts `PostgresMetrics`). */
  readonly postgres: {
    connection(connection: string, outcome: 'opened' | 'refused'): void;
    statements(connection: string, decision: 'allowed' | 'refused'): { value: number };
    parseFailures(connection: string): { value: number };
    protocolError(connection: string, side: 'client' | 'server' | 'startup'): void;
    bytes(connection: string, from: 'client' | 'server'): { value: number };
  };
}

export interface GatewayMetricsOptions {
  /** Also export Node process metrics (CPU, memory, event loop lag, GC). @default true */
  readonly processMetrics?: boolean;
  /** Labels on every metric, e.g. `{ instance: 'gw-1' }`. */
  readonly defaultLabels?: Readonly<Record<string, string>>;
}

const LATENCY_BUCKETS_RECORDING = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const LATENCY_BUCKETS_UPSTREAM = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createGatewayMetrics(options: GatewayMetricsOptions = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.defaultLabels !== undefined) registry.setDefaultLabels({ ...options.defaultLabels });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' });

  // Per-operation metrics use the fast primitives (no label hashing per update).
  const requests = new FastCounter('gatehouse_requests_total', 'Operations answered, by protocol, connection and status.', ['protocol', 'connection', 'status'], registry);
  const decisions = new FastCounter('gatehouse_decisions_total', 'Policy decisions, by effect and connection.', ['effect', 'connection'], registry);
  const authFailures = new Counter({
    name: 'gatehouse_auth_failures_total',
    help: 'Refused tokens, by error code and protocol.',
    labelNames: ['code', 'protocol'] as const,
    registers: [registry],
  });
  const recordingLatency = new FastHistogram(
    'gatehouse_recording_latency_seconds',
    'Time to store one recorded event (durable acknowledgement in strict mode).',
    undefined,
    LATENCY_BUCKETS_RECORDING,
    registry,
  );
  const recordingFailures = new Counter({
    name: 'gatehouse_recording_failures_total',
    help: 'Events that could not be stored (the operation they describe was refused), by error code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const openSessions = new Gauge({
    name: 'gatehouse_open_sessions',
    help: 'Sessions open on this replica, by protocol.',
    labelNames: ['protocol'] as const,
    registers: [registry],
  });
  const upstreamLatency = new FastHistogram(
    'gatehouse_upstream_latency_seconds',
    'Time from forwarding upstream to the response headers, by connection.',
    'connection',
    LATENCY_BUCKETS_UPSTREAM,
    registry,
  );

  const pgConnections = new FastCounter('gatehouse_postgres_connections_total', 'PostgreSQL client connections, by connection and outcome (opened, refused during start-up).', ['connection', 'outcome'], registry);
  const pgStatements = new FastCounter('gatehouse_postgres_statements_total', 'PostgreSQL statements judged, by connection and decision (allowed, refused).', ['connection', 'decision'], registry);
  const pgParseFailures = new FastCounter('gatehouse_postgres_parse_failures_total', 'SQL texts the parser could not (or would not) read, by connection.', ['connection'], registry);
  const pgProtocolErrors = new FastCounter('gatehouse_postgres_protocol_errors_total', 'Malformed or oversized PostgreSQL messages, by connection and side (client, server, startup).', ['connection', 'side'], registry);
  const pgBytes = new FastCounter('gatehouse_postgres_bytes_total', 'Bytes received on proxied PostgreSQL connections, by connection and side (client, server).', ['connection', 'from'], registry);

  const sqlParserEvents = new Counter({
    name: 'gatehouse_postgres_parser_events_total',
    help: 'SQL texts the PostgreSQL parser could not classify, by reason (syntax_error, too_complex, crash, unavailable); per connection: gatehouse_postgres_parse_failures_total.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });

  return {
    registry,
    sqlParseFailure(reason) {
      sqlParserEvents.inc({ reason });
    },
    postgres: {
      connection: (connection, outcome) => pgConnections.inc([connection, outcome]),
      statements: (connection, decision) => pgStatements.cell([connection, decision]),
      parseFailures: (connection) => pgParseFailures.cell([connection]),
      protocolError: (connection, side) => pgProtocolErrors.inc([connection, side]),
      bytes: (connection, from) => pgBytes.cell([connection, from]),
    },
    requestCompleted(protocol, connection, status) {
      requests.inc([protocol, connection, typeof status === 'number' ? statusText(status) : status]);
    },
    decision(effect, connection) {
      decisions.inc([effect, connection]);
    },
    authFailure(code, protocol) {
      authFailures.inc({ code, protocol });
    },
    recorded(latencyMs, ok) {
      recordingLatency.observe('', Math.max(0, latencyMs) / 1000);
      if (!ok) recordingFailures.inc({ code: 'GH_ERR_RECORDING_FAILED' });
    },
    recordingFailure(code) {
      recordingFailures.inc({ code });
    },
    sessionOpened(protocol) {
      openSessions.inc({ protocol });
    },
    sessionClosed(protocol) {
      openSessions.dec({ protocol });
    },
    upstreamLatency(connection, latencyMs) {
      upstreamLatency.observe(connection, Math.max(0, latencyMs) / 1000);
    },
    watchRecorder(stats) {
      const counter = (name: string, help: string, read: () => number) => {
        let reported = 0;
        new Counter({
          name,
          help,
          registers: [registry],
          collect() {
            const total = read();
            if (total > reported) this.inc(total - reported);
            reported = Math.max(reported, total);
          },
        });
      };
      counter('gatehouse_recording_events_lost_total', 'Events accepted (in buffered mode: already acknowledged) that were never stored.', () => stats().eventsLost);
      counter('gatehouse_recording_witness_failures_total', 'Digests whose head could not be written to the witness (verify reports WITNESS_BEHIND).', () => stats().witnessFailures);
    },
    watchBusyPolling(spunSeconds) {
      let reported = 0;
      new Counter({
        name: 'gatehouse_busy_poll_seconds_total',
        help: 'Time the event loop was kept polling instead of sleeping (tuning.busyPollMicroseconds).',
        registers: [registry],
        collect() {
          const total = spunSeconds();
          if (total > reported) this.inc(total - reported);
          reported = Math.max(reported, total);
        },
      });
    },
  };
}

/** Status codes as label values without a string allocation per request for the common ones. */
const STATUS_TEXT = new Map<number, string>();
function statusText(status: number): string {
  let text = STATUS_TEXT.get(status);
  if (text === undefined) {
    text = String(status);
    if (STATUS_TEXT.size < 1000) STATUS_TEXT.set(status, text);
  }
  return text;
}
