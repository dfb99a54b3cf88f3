import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, type GatehouseConfig } from '../../gateway/src/config/schema';
import { silentLogger } from '../../gateway/src/observability/logger';
import { startGateway, type RunningGateway, type StartOptions } from '../../gateway/src/server/gateway';

/**
 * A whole gateway in-process (real identity, policy, recorder, fs sink, state store, HTTP proxy,
 * admin API) on loopback ports chosen by the OS, with its files in a temporary directory.
 */
export interface TestGateway {
  readonly gateway: RunningGateway;
  readonly config: GatehouseConfig;
  readonly dir: string;
  readonly logDir: string;
  readonly url: string;
  readonly adminUrl: string;
  /** Graceful shutdown (idempotent), then removes the directory unless `keep`. */
  stop(options?: { keep?: boolean }): Promise<void>;
}

export type ConfigOverrides = (dir: string) => Record<string, unknown>;

export async function startTestGateway(overrides: ConfigOverrides, startOptions: Partial<StartOptions> = {}): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'gh-gw-'));
  const logDir = join(dir, 'log');
  const base: Record<string, unknown> = {
    mode: 'development',
    instanceId: 'test-gw',
    listeners: {
      http: { address: '127.0.0.1', port: 0, allowPlaintext: true },
      admin: { address: '127.0.0.1', port: 0, allowPlaintext: true },
    },
    recording: { mode: 'strict', sink: { type: 'fs', path: logDir }, digestIntervalSeconds: 3600 },
    state: { embeddedPath: 'memory' },
    logging: { level: 'silent' },
  };
  const merged = deepMerge(base, overrides(dir));
  const config = configSchema.parse(merged);
  const gateway = await startGateway(config, { logger: silentLogger(), graceMs: 2000, ...startOptions });
  let stopped = false;
  return {
    gateway,
    config,
    dir,
    logDir,
    url: `http://127.0.0.1:${gateway.http.port}`,
    adminUrl: `http://127.0.0.1:${gateway.admin.port}`,
    async stop(options = {}) {
      if (!stopped) {
        stopped = true;
        await gateway.shutdown('test');
      }
      if (!options.keep) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `b` over `a`, objects merged key by key (arrays and values replaced). */
export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
