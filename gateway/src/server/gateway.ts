import { hostname } from 'node:os';
import { createAdminServer } from '../admin/server';
import { approvalsFromConfig, type ApprovalService } from '../approvals';
import { createGatewayMetrics, type GatewayMetrics } from '../admin/metrics';
import type { GatehouseConfig } from '../config/schema';
import { GatehouseError } from '../errors';
import type { Detector } from '../masking/detector';
import { identityVerifierFromConfig } from '../identity/from-config';
import type { Logger } from '../observability/logger';
import { GatewayPipeline } from '../pipeline/pipeline';
import { createHttpProxy, type HttpProxy } from '../protocols/http';
import { startPostgresProxy, type PostgresProxy } from '../protocols/postgres';
import { exportSession } from '../recording/reader';
import { GatehouseRecorder } from '../recording/recorder';
import type { LogSink } from '../recording/sinks/sink';
import { createConfiguredSecrets } from './secret-providers';
import { createSink } from './sinks';
import { createSessionIndex } from '../state/sql-session-index';
import { StateRecordingWitness } from '../state/recording-witness';
import { isMemoryPath } from '../state/store';
import { FileWitness, MultiWitness, type RecordingWitness } from '../recording/witness';
import { startRecordingSweeper } from './recording-sweeper';
import { listen, readPem, type Listener } from './listener';
import { devSigningKeyPath, loadDigestSigner } from './signing-key';
import { createBusyPoller } from './busy-poll';
import { preflight } from './preflight';
import { formatProblems } from '../config/load';
import { onParserEvent, rateLimitedParserLog } from '../protocols/postgres/sql/parser-events';

export interface RunningGateway {
  readonly http: Listener;
  readonly admin: Listener;
  /** The PostgreSQL listener, when `listeners.postgres` is configured. */
  readonly postgres?: PostgresProxy;
  readonly pipeline: GatewayPipeline;
  readonly recorder: GatehouseRecorder;
  readonly metrics: GatewayMetrics;
  readonly sink: LogSink;
  readonly instanceId: string;
  /** Present when `approvals.approverGroups` is set. */
  readonly approvals?: ApprovalService;
  /**
   * Graceful shutdown: stop accepting, let in-flight requests finish (up to the grace period),
   * close open sessions (`session.end`), flush and seal the record with a final digest.
   */
  shutdown(reason?: string): Promise<void>;
}

export interface StartOptions {
  readonly logger: Logger;
  /** Overrides `shutdownGraceSeconds` (tests). */
  readonly graceMs?: number;
  /** Extra masking detectors per connection name (embedding and tests; configuration cannot reach this). */
  readonly extraMaskingDetectors?: Readonly<Record<string, readonly Detector[]>>;
}

/** Builds every module from one validated configuration and starts the listeners. */
export async function startGateway(config: GatehouseConfig, options: StartOptions): Promise<RunningGateway> {
  const { logger } = options;
  const { secrets, close: closeSecrets } = await createConfiguredSecrets(config, logger);

  const devKeyPath = devSigningKeyPath(config);
  // Every check of the resources the configuration names, the same as `gatehouse check-config`:
  // all problems at once, before anything is built or listens.
  const checked = await preflight(config, { secrets, devSigningKeyPath: devKeyPath, logger });
  if (checked.problems.length > 0) {
    checked.policy?.close();
    await closeSecrets();
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', formatProblems('configuration', checked.problems), { details: { problems: checked.problems } });
  }
  const policy = checked.policy!;

  const verifier = await identityVerifierFromConfig(config, { logger });
  const sink = await createSink(config.recording.sink);
  const { signer, generated } = await loadDigestSigner(config, secrets, devKeyPath);
  if (!signer) throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'no digest signing key');
  if (generated) logger.warn({ path: devKeyPath }, 'generated a development signing key for digests');

  const index = createSessionIndex(config.state, { logger, resolveSecret: (ref) => secrets.get(ref) });
  await index.init();

  // The recording witness and leases live in the state database (every replica sees it).
  const stateWitness = new StateRecordingWitness(index.store);
  await stateWitness.init();
  const instanceId = config.instanceId ?? (await defaultInstanceId(config, stateWitness));
  const witness: RecordingWitness = config.recording.witnessFile ? new MultiWitness([stateWitness, new FileWitness(config.recording.witnessFile)]) : stateWitness;
  const metrics = createGatewayMetrics({ defaultLabels: { instance: instanceId } });
  const busyPoller = createBusyPoller({ windowMicroseconds: config.tuning.busyPollMicroseconds });
  if (config.tuning.busyPollMicroseconds > 0) metrics.watchBusyPolling(() => busyPoller.spunSeconds());

  // Approvals share the index's store (one database, one pool); none without approver groups.
  const approvals = approvalsFromConfig(config.approvals, {
    store: index.store,
    state: config.state,
    resolveSecret: (ref) => secrets.get(ref),
    logger,
    instanceId,
    recordingMode: config.recording.mode,
  });
  await approvals?.init();

  const recorder = new GatehouseRecorder({
    sink,
    mode: config.recording.mode,
    instanceId,
    clock: () => new Date(),
    nowMs: Date.now,
    signer,
    flushIntervalMs: config.recording.flushIntervalMs,
    maxBufferBytes: config.recording.maxBufferBytes,
    segmentMaxBytes: config.recording.segmentMaxBytes,
    segmentMaxAgeSeconds: config.recording.segmentMaxAgeSeconds,
    digestIntervalSeconds: config.recording.digestIntervalSeconds,
    onSegmentSealed: (s) => index.segmentSealed(s.key, s.sessions),
    logger,
    witness,
  });
  const sweeper = startRecordingSweeper({
    sink,
    signer,
    state: stateWitness,
    witness,
    instanceId,
    runId: recorder.runId,
    leaseSeconds: config.recording.leaseSeconds,
    logger,
  });

  const pipeline = new GatewayPipeline({
    mode: config.mode,
    verifier,
    policy,
    recorder,
    index,
    secrets,
    bodyCapBytes: config.recording.bodyCapBytes,
    logger,
    observer: metrics,
    review: approvals?.review,
  });

  const httpConnections = config.connections.filter((c) => c.kind === 'http');
  const proxy: HttpProxy = createHttpProxy({
    pipeline,
    connections: httpConnections,
    logger,
    metrics: {
      observeRequest: (connection, _method, status, seconds) => {
        metrics.requestCompleted('http', connection, status);
        if (status > 0) metrics.upstreamLatency(connection, seconds * 1000);
      },
    },
    sessionIdleSeconds: config.recording.sessionIdleSeconds,
    sessionMaxSeconds: config.recording.sessionMaxSeconds,
    // Connections without their own masking block take the top-level one (docs/masking.md).
    defaultMasking: config.masking,
    extraMaskingDetectors: options.extraMaskingDetectors,
    onActivity: busyPoller.touch,
  });

  let shuttingDown = false;
  const health = () => {
    const stats = recorder.stats();
    const ready = !shuttingDown && stats.healthy;
    return {
      live: true,
      ready,
      details: { recording: stats.healthy ? 'ok' : 'failing', shuttingDown, openSessions: pipeline.openSessions(), pendingBytes: stats.pendingBytes },
    };
  };
  const adminHandler = createAdminServer({
    index,
    verifier,
    adminGroups: config.admin.groups,
    readSession: async (id) => {
      const row = await index.get(id);
      if (!row) throw new GatehouseError('GH_ERR_NOT_FOUND', `no session ${id}`);
      // Events of a live session may sit in a segment that is not sealed yet, so the index's list
      // of sealed segments is not enough: read the whole log (bounded by its retention).
      await recorder.flush();
      return exportSession(sink, id);
    },
    metrics: metrics.registry,
    health,
    logger,
    onAuthFailure: (code) => metrics.authFailure(code, 'admin'),
    approvals,
  });

  const httpListener = await listen('http', config.listeners.http, proxy.handler, secrets);
  let adminListener: Listener;
  try {
    adminListener = await listen('admin', config.listeners.admin, adminHandler, secrets);
  } catch (e) {
    await httpListener.close(0);
    throw e;
  }
  let postgresListener: PostgresProxy | undefined;
  const pgListenerConfig = config.listeners.postgres;
  const parserObservers: (() => void)[] = [];
  if (pgListenerConfig) {
    // SQL the parser could not classify: counted, and logged at most once per reason every 10 s.
    parserObservers.push(onParserEvent((reason) => metrics.sqlParseFailure(reason)));
    parserObservers.push(
      onParserEvent(
        rateLimitedParserLog((reason, detail, suppressed) => {
          const line = { reason, ...(detail === undefined ? {} : { detail }), suppressedSinceLast: suppressed };
          if (reason === 'syntax_error') logger.debug(line, 'postgres: a statement did not parse');
          else logger.warn(line, 'postgres: a statement could not be classified');
        }),
      ),
    );
    try {
      const pgTls = pgListenerConfig.tls
        ? { cert: await readPem(pgListenerConfig.tls.cert, secrets), key: await readPem(pgListenerConfig.tls.key, secrets) }
        : undefined;
      postgresListener = await startPostgresProxy({
        pipeline,
        connections: config.connections.filter((c) => c.kind === 'postgres'),
        listener: pgListenerConfig,
        tls: pgTls,
        logger,
        defaultMasking: config.masking,
        extraMaskingDetectors: options.extraMaskingDetectors,
        onActivity: busyPoller.touch,
        metrics: metrics.postgres,
      });
    } catch (e) {
      await httpListener.close(0);
      await adminListener.close(0);
      throw e;
    }
  }
  logger.info(
    { instanceId, http: `${httpListener.tls ? 'https' : 'http'}://${httpListener.address}:${httpListener.port}`, admin: `${adminListener.tls ? 'https' : 'http'}://${adminListener.address}:${adminListener.port}`, recording: config.recording.mode, mode: config.mode },
    'gatehouse started',
  );

  const graceMs = options.graceMs ?? config.shutdownGraceSeconds * 1000;
  let shutdownPromise: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown') => {
    shutdownPromise ??= (async () => {
      shuttingDown = true;
      pipeline.drain();
      // Operations waiting for approval on this replica are cancelled (recorded) and answered now,
      // instead of holding the drain until the grace period ends.
      await approvals?.close();
      logger.info({ reason, graceMs }, 'draining');
      await Promise.all([httpListener.close(graceMs), postgresListener?.close(graceMs)]);
      await proxy.close();
      await pipeline.closeAll(reason);
      await sweeper.stop();
      await recorder.close();
      await index.close();
      verifier.close();
      await sink.close?.();
      await closeSecrets();
      await adminListener.close(1000);
      busyPoller.stop();
      for (const stop of parserObservers) stop();
      logger.info({ reason }, 'stopped: sessions sealed, final digest written');
    })();
    return shutdownPromise;
  };

  return { http: httpListener, admin: adminListener, postgres: postgresListener, pipeline, recorder, metrics, sink, instanceId, approvals, shutdown };
}

/**
 * Without `instanceId` in the config: an embedded (single-process) state store keeps a
 * persistent id, so a restarted gateway is the same instance and recovers its own crash tail;
 * replicas sharing a PostgreSQL state store (or an in-memory one) get host-pid, and a replica
 * that never comes back is recovered by the others' sweeper (recording-sweeper.ts).
 */
async function defaultInstanceId(config: GatehouseConfig, witness: StateRecordingWitness): Promise<string> {
  if (config.state.url === undefined && !isMemoryPath(config.state.embeddedPath)) return witness.localInstanceId();
  return `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40)}-${process.pid}`;
}
