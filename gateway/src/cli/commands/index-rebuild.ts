import { parseArgs } from 'node:util';
import type { GatehouseConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';
import { createSecretProvider } from '../../secrets';
import { createSink } from '../../server/sinks';
import { rebuildSessionIndex } from '../../state/index-rebuild';
import { createSessionIndex } from '../../state/sql-session-index';
import { isMemoryPath } from '../../state/store';
import { adminUrlOf } from '../admin-client';
import type { CommandIO } from '../io';
import { resolveConfig } from './run';

/**
 * `gatehouse index rebuild`: refills the session index (sessions, segment keys and, with
 * `state.indexEvents`, the per-event search rows) from the log store, the source of truth: after
 * turning `state.indexEvents` on, after an index outage dropped rows, or onto a new state database.
 * Idempotent (state/index-rebuild.ts). The embedded store belongs to the process that opened it,
 * so with it the gateway must be stopped first; a PostgreSQL store can be rebuilt while replicas run.
 */
export async function indexCommand(argv: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({ args: rest, options: { config: { type: 'string' }, quiet: { type: 'boolean', default: false } }, allowPositionals: false });
  if (sub !== 'rebuild') {
    io.err('usage: gatehouse index rebuild [--config FILE] [--quiet]   (see gatehouse index --help)');
    return 2;
  }
  const { config } = resolveConfig(values.config);
  if (isMemoryPath(config.state.embeddedPath) && config.state.url === undefined) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'state.embeddedPath is in memory: there is no index to rebuild outside the running gateway');
  }
  if (config.state.url === undefined && (await gatewayAnswers(config))) {
    throw new GatehouseError('GH_ERR_STATE_UNAVAILABLE', `the embedded state store ${config.state.embeddedPath} belongs to the gateway answering at ${adminUrlOf(config)}: stop it, then rebuild`);
  }
  // The same choice as the gateway (server/gateway.ts): event rows only when they are indexed at all.
  const indexEvents = config.state.indexEvents ?? config.state.url !== undefined;
  const secrets = createSecretProvider({ mode: config.mode });
  const index = createSessionIndex(config.state, { resolveSecret: (ref) => secrets.get(ref), indexEvents });
  const sink = await createSink(config.recording.sink);
  try {
    let lastPercent = -1;
    const report = await rebuildSessionIndex(sink, index, (_key, done, total) => {
      const percent = Math.floor((done * 100) / total);
      if (!values.quiet && (percent >= lastPercent + 10 || done === total)) {
        lastPercent = percent;
        io.err(`index rebuild: ${done}/${total} segments`);
      }
    });
    io.out(
      `rebuilt the session index from ${report.segments} segment${report.segments === 1 ? '' : 's'}: ${report.sessions} session${report.sessions === 1 ? '' : 's'}, ${report.events} event${report.events === 1 ? '' : 's'}` +
        (indexEvents ? ' (event rows indexed for the text and decision filters)' : ' (event rows not indexed: state.indexEvents is off)'),
    );
    return 0;
  } finally {
    await index.close();
    await sink.close?.();
  }
}

async function gatewayAnswers(config: GatehouseConfig): Promise<boolean> {
  try {
    const res = await fetch(new URL('/healthz', adminUrlOf(config)), { signal: AbortSignal.timeout(1500) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}
