import { hostname } from 'node:os';
import { createAdminServer } from '../admin/server';
import { createAdminAudit } from '../admin/audit';
import { consoleFromConfig } from '../admin/console/from-config';
import { consoleListenerHandler } from '../admin/console/listener-handler';
import { SqlSessionSearch } from '../state/session-search';
import { approvalsFromConfig, type ApprovalService } from '../approvals';
import { createGatewayMetrics, type GatewayMetrics } from '../admin/metrics';
import type { GatehouseConfig } from '../config/schema';
import { GatehouseError } from '../errors';
import type { Detector } from '../masking/detector';
import { identityVerifierFromConfig } from '../identity/from-config';
import type { Logger } from '../observability/logger';
import { GatewayPipeline } from '../pipeline/pipeline';
import type { PolicyEngine } from '../pipeline/types';
import type { PostgresProxy } from '../protocols/postgres';
import { StartedProtocols } from '../protocols/kit/module';
import { httpModule, postgresModule, PROTOCOL_MODULES } from '../protocols/registry';
import { exportSession } from '../recording/reader';
import { GatehouseRecorder } from '../recording/recorder';
import type { LogSink } from '../recording/sinks/sink';
import { createConfiguredSecrets } from './secret-providers';
import { createSink } from './sinks';
import { createSessionIndex } from '../state/sql-session-index';
import { StateRecordingWitness } from '../state/recording-witness';
import { isMemoryPath } from '../state/store';
import { FileWitness, MultiWitness, type RecordingWitness } from '../recording/witness';
import { createSessionPageService, pricesWith } from '../admin/console/session-page';
import { terminalChannels } from '../protocols/ssh/terminal-replay';
import { startRecordingSweeper } from './recording-sweeper';
import { listen, type Listener } from './listener';
import { devSigningKeyPath, loadDigestSigner } from './signing-key';
import { createBusyPoller } from './busy-poll';
import { preflight } from './preflight';
import { StateReadiness } from './state-readiness';
import { WellKnownPublisher, withWellKnown } from './well-known';
import { formatProblems } from '../config/load';

export interface RunningGateway {
  readonly http: Listener;
  readonly admin: Listener;
  /** The console's own listener, when `listeners.console` is configured. */
  readonly console?: Listener;
  /** The PostgreSQL listener, when `listeners.postgres` is configured. */
  readonly postgres?: PostgresProxy;
  /** Every started protocol (protocols/registry.ts). */
  readonly protocols: StartedProtocols;
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
  /** Wraps the policy engine the pipeline judges with (embedding and tests, e.g. one that fails; configuration cannot reach this). */
  readonly policyEngine?: (engine: PolicyEngine) => PolicyEngine;
  /** First delay between attempts to prepare a state database that was not ready at start (tests). @default 1000, doubling to 30000 */
  readonly stateRetryMs?: number;
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

  const index = createSessionIndex(config.state, { logger, resolveSecret: (ref) => secrets.get(ref), indexEvents: config.state.indexEvents ?? config.state.url !== undefined });
  // The recording witness and leases live in the state database (every replica sees it).
  const stateWitness = new StateRecordingWitness(index.store);
  const embeddedState = config.state.url === undefined;
  if (embeddedState) {
    // In-process: nothing outside the gateway prepares it, so a failure here is the start's.
    await index.init();
    await stateWitness.init();
  }
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
  // A PostgreSQL server may not be prepared yet (its role is made by a bootstrap job that can run
  // after this replica starts): then the gateway serves not ready and refuses traffic until it is.
  const stateReadiness = new StateReadiness({
    prepare: async () => {
      await index.init();
      await stateWitness.init();
      await approvals?.init();
    },
    logger,
    retryMs: options.stateRetryMs,
    maxRetryMs: options.stateRetryMs === undefined ? undefined : options.stateRetryMs * 4,
  });
  if (embeddedState) await stateReadiness.prepareOrThrow();
  else await stateReadiness.start();

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
  metrics.watchRecorder(() => recorder.stats());
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
    policy: options.policyEngine ? options.policyEngine(policy) : policy,
    recorder,
    index,
    secrets,
    bodyCapBytes: config.recording.bodyCapBytes,
    logger,
    observer: metrics,
    review: approvals?.review,
    admission: () => stateReadiness.refusal(),
  });

  let shuttingDown = false;
  const health = () => {
    const stats = recorder.stats();
    const state = stateReadiness.status();
    const ready = !shuttingDown && stats.healthy && state.state === 'ok';
    return {
      live: true,
      ready,
      details: { recording: stats.healthy ? 'ok' : 'failing', state: state.state, ...(state.code !== undefined && { stateCode: state.code }), shuttingDown, openSessions: pipeline.openSessions(), pendingBytes: stats.pendingBytes },
    };
  };
  const readSession = async (id: string): Promise<object> => {
    const row = await index.get(id);
    if (!row) throw new GatehouseError('GH_ERR_NOT_FOUND', `no session ${id}`);
    // Events of a live session may sit in a segment that is not sealed yet, so the index's list
    // of sealed segments is not enough: read the whole log (bounded by its retention).
    await recorder.flush();
    return exportSession(sink, id);
  };
  const audit = createAdminAudit(recorder);
  // The session page verifies each session against this gateway's own signing key and the witness
  // (after a key rotation, digests signed by the old key show as untrusted: fail closed).
  const sessionPages = createSessionPageService({ sink, witness, trustedKeys: [signer.publicKeyPem], prices: pricesWith(config.console.prices), terminalsOf: terminalChannels });
  const consoleHandler = await consoleFromConfig(config, { secrets, verifier, search: new SqlSessionSearch(index), index, readSession, approvals, audit, logger, sessionPages });
  const adminHandler = createAdminServer({
    index,
    verifier,
    adminGroups: config.admin.groups,
    readSession,
    metrics: metrics.registry,
    health,
    logger,
    onAuthFailure: (code) => metrics.authFailure(code, 'admin'),
    audit,
    approvals,
    // On its own listener when `listeners.console` is set; then the admin listener has no console.
    console: config.listeners.console === undefined ? consoleHandler : undefined,
  });

  const wellKnown = new WellKnownPublisher(config);
  // Every configured protocol, from the registry: started whole or not at all.
  const protocols = await StartedProtocols.start(PROTOCOL_MODULES, {
    wellKnown,
    config,
    pipeline,
    secrets,
    logger,
    metrics,
    onActivity: busyPoller.touch,
    extraMaskingDetectors: options.extraMaskingDetectors,
  });
  // What clients need to connect: each module bound its own part while starting.
  wellKnown.publish();
  let adminListener: Listener;
  let consoleListener: Listener | undefined;
  try {
    adminListener = await listen('admin', config.listeners.admin, withWellKnown(wellKnown, adminHandler), secrets);
    if (config.listeners.console !== undefined && consoleHandler !== undefined) {
      consoleListener = await listen('console', config.listeners.console, consoleListenerHandler(consoleHandler, logger), secrets).catch(async (e: unknown) => {
        await adminListener.close(0);
        throw e;
      });
    }
  } catch (e) {
    await protocols.close(0);
    throw e;
  }
  const httpListener = protocols.get(httpModule);
  if (httpListener === undefined) {
    // The schema requires listeners.http; a configuration that got past it without one fails here, closed.
    await Promise.all([protocols.close(0), adminListener.close(0), consoleListener?.close(0)]);
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'listeners.http is required: the HTTP module did not start');
  }
  logger.info(
    {
      instanceId,
      ...protocols.endpoints(),
      admin: `${adminListener.tls ? 'https' : 'http'}://${adminListener.address}:${adminListener.port}`,
      ...(consoleListener === undefined ? {} : { console: `${consoleListener.tls ? 'https' : 'http'}://${consoleListener.address}:${consoleListener.port}` }),
      recording: config.recording.mode, mode: config.mode },
    'gatehouse started',
  );

  const graceMs = options.graceMs ?? config.shutdownGraceSeconds * 1000;
  let shutdownPromise: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown') => {
    shutdownPromise ??= (async () => {
      shuttingDown = true;
      stateReadiness.stop();
      pipeline.drain();
      // Operations waiting for approval on this replica are cancelled (recorded) and answered now,
      // instead of holding the drain until the grace period ends.
      await approvals?.close();
      logger.info({ reason, graceMs }, 'draining');
      await protocols.close(graceMs);
      await pipeline.closeAll(reason);
      await sweeper.stop();
      await recorder.close();
      await index.close();
      verifier.close();
      await sink.close?.();
      await closeSecrets();
      await adminListener.close(1000);
      await consoleListener?.close(1000);
      busyPoller.stop();
      logger.info({ reason }, 'stopped: sessions sealed, final digest written');
    })();
    return shutdownPromise;
  };

  return { http: httpListener, admin: adminListener, console: consoleListener, postgres: protocols.get(postgresModule), protocols, pipeline, recorder, metrics, sink, instanceId, approvals, shutdown };
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

