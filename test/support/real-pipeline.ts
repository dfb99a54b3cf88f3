import type { ConnectionConfig } from '../../gateway/src/config/schema';
import { connectionSchema, issuerSchema } from '../../gateway/src/config/schema';
import type { Principal } from '../../gateway/src/identity/principal';
import { createIdentityVerifier, type GatewayIdentityVerifier } from '../../gateway/src/identity/verifier';
import { silentLogger } from '../../gateway/src/observability/logger';
import { GatewayPipeline, type ReviewHandler } from '../../gateway/src/pipeline/pipeline';
import type { PolicyEngine } from '../../gateway/src/pipeline/types';
import { createPolicyEngine } from '../../gateway/src/policy/engine';
import type { AuditEvent } from '../../gateway/src/recording/events';
import { readSessionEvents } from '../../gateway/src/recording/reader';
import { GatehouseRecorder } from '../../gateway/src/recording/recorder';
import { FsLogSink } from '../../gateway/src/recording/sinks/fs/fs-sink';
import { createSecretProvider } from '../../gateway/src/secrets';
import { createSessionIndex, type SqlSessionIndex } from '../../gateway/src/state/sql-session-index';
import { startTestIssuer, type TestIssuer } from './oidc-issuer';
import { InstrumentedSink, makeTempDir, recorderOptions } from './recording-helpers';

/**
 * The real GatewayPipeline with real parts around it, for tests of the seam itself and of the
 * protocols that drive it: an OIDC issuer (oidc-provider) behind the real verifier, the Cedar
 * engine, the recorder on a filesystem sink (wrapped so a test can make the log store fail), and
 * the session index on embedded PGlite. Nothing is a double.
 */
export interface RealPipeline {
  readonly pipeline: GatewayPipeline;
  readonly recorder: GatehouseRecorder;
  /** The log store; set `failWith` to make writes fail (ENOSPC and friends). */
  readonly sink: InstrumentedSink;
  readonly index: SqlSessionIndex;
  readonly issuer: TestIssuer;
  readonly verifier: GatewayIdentityVerifier;
  /** An HTTP connection named `conn` (policy sees its name). */
  readonly connection: ConnectionConfig;
  token(groups?: string[], sub?: string): Promise<string>;
  principal(groups?: string[], sub?: string): Promise<Principal>;
  /** Flushes the recorder and reads one session's events back from the log store. */
  events(sessionId: string): Promise<AuditEvent[]>;
  close(): Promise<void>;
}

/**
 * What tests of one file share: the issuer and the session index (embedded PGlite takes seconds
 * to start, so once per file, not per test). Sessions have unique ids, so tests do not collide.
 */
export interface PipelineWorld {
  readonly issuer: TestIssuer;
  readonly index: SqlSessionIndex;
  close(): Promise<void>;
}

export async function startPipelineWorld(): Promise<PipelineWorld> {
  const index = createSessionIndex({ embeddedPath: 'memory://' });
  await index.init();
  const issuer = await startTestIssuer();
  return {
    issuer,
    index,
    close: async () => {
      await index.close();
      await issuer.close();
    },
  };
}

export interface RealPipelineOptions {
  readonly world: PipelineWorld;
  /** Cedar policies. */
  readonly policy: string;
  readonly recordingMode?: 'strict' | 'buffered';
  readonly review?: ReviewHandler;
  /** Wraps the policy engine (e.g. one whose engine throws). */
  readonly policyEngine?: (engine: PolicyEngine) => PolicyEngine;
}

export async function startRealPipeline(options: RealPipelineOptions): Promise<RealPipeline> {
  const connection = connectionSchema.parse({ name: 'conn', kind: 'http', upstream: 'http://127.0.0.1:9', route: { pathPrefix: '/conn' }, credential: { type: 'none' } }) as ConnectionConfig;
  const { dir, cleanup } = await makeTempDir('gh-pipeline-');
  const { issuer, index } = options.world;
  const verifier = createIdentityVerifier({ issuers: [issuerSchema.parse({ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'] })] });
  const engine = createPolicyEngine({ policies: options.policy });
  const sink = new InstrumentedSink(new FsLogSink(dir));
  const recorder = new GatehouseRecorder(recorderOptions(sink, { mode: options.recordingMode ?? 'strict' }));
  const pipeline = new GatewayPipeline({
    mode: 'development',
    verifier,
    policy: options.policyEngine ? options.policyEngine(engine) : engine,
    recorder,
    index,
    secrets: createSecretProvider({ mode: 'development', env: {} }),
    bodyCapBytes: 4096,
    logger: silentLogger(),
    review: options.review,
  });
  const token = (groups: string[] = ['developers'], sub = 'alice') => issuer.mintToken({ sub, groups });
  return {
    pipeline,
    recorder,
    sink,
    index,
    issuer,
    verifier,
    connection,
    token,
    principal: async (groups, sub) => verifier.verify(await token(groups, sub)),
    events: async (sessionId) => {
      sink.failWith = undefined;
      await recorder.flush();
      return readSessionEvents(sink, sessionId);
    },
    close: async () => {
      sink.failWith = undefined;
      await pipeline.closeAll('test_end');
      await recorder.close().catch(() => undefined);
      // The world's index outlives this pipeline: let its pending updates land first.
      verifier.close();
      await cleanup();
    },
  };
}
