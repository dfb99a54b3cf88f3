import { parseArgs } from 'node:util';
import { loadConfigFile, validateOrThrow } from '../../config/load';
import type { GatehouseConfig } from '../../config/schema';
import { createLogger, type Logger } from '../../observability/logger';
import { startGateway, type RunningGateway } from '../../server/gateway';
import { defaultConfigPath } from '../config-path';
import type { CommandIO } from '../io';

/** Reads the configuration from --config, GATEHOUSE_CONFIG_YAML or GATEHOUSE_CONFIG (in that order). */
export function resolveConfig(configFlag: string | undefined): { config: GatehouseConfig; warnings: readonly string[]; origin: string } {
  if (configFlag) return { ...loadConfigFile(configFlag), origin: configFlag };
  if (process.env.GATEHOUSE_CONFIG_YAML) return { ...validateOrThrow(process.env.GATEHOUSE_CONFIG_YAML, 'GATEHOUSE_CONFIG_YAML'), origin: 'GATEHOUSE_CONFIG_YAML' };
  const path = defaultConfigPath();
  if (path) return { ...loadConfigFile(path), origin: path };
  throw new Error('no configuration: pass --config FILE, or set GATEHOUSE_CONFIG or GATEHOUSE_CONFIG_YAML (try `gatehouse dev` for a local quickstart)');
}

/** `gatehouse run`: serves until SIGTERM/SIGINT, then shuts down gracefully and exits 0. */
export async function runCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' } }, allowPositionals: false });
  const { config, warnings, origin } = resolveConfig(values.config);
  const logger = createLogger({ level: config.logging.level });
  for (const w of warnings) logger.warn({ origin }, w);
  const gateway = await startGateway(config, { logger });
  return serveUntilSignal(gateway, logger, io);
}

export async function serveUntilSignal(gateway: RunningGateway, logger: Logger, _io: CommandIO): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string, code: number) => {
      if (stopping) return;
      stopping = true;
      gateway
        .shutdown(signal === 'SIGTERM' || signal === 'SIGINT' ? 'shutdown' : signal)
        .then(() => resolve(code))
        .catch((e) => {
          logger.error({ err: String(e) }, 'shutdown failed');
          resolve(1);
        });
    };
    process.once('SIGTERM', () => stop('SIGTERM', 0));
    process.once('SIGINT', () => stop('SIGINT', 0));
    process.on('uncaughtException', (e) => {
      // A bug, not bad input (bad input is refused where it is parsed). Seal what we can, then exit
      // non-zero so the platform restarts the task.
      logger.fatal({ err: e instanceof Error ? e.stack : String(e) }, 'uncaught exception');
      stop('crash', 1);
    });
  });
}
