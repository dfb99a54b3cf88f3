import { parseArgs } from 'node:util';
import { loadConfigFile, validateOrThrow } from '../../config/load';
import { GatehouseError } from '../../errors';
import type { GatehouseConfig } from '../../config/schema';
import { createLogger, type Logger } from '../../observability/logger';
import { startGateway, type RunningGateway } from '../../server/gateway';
import { DEV_CONFIG_PATH, notDevDirectoryReason } from '../config-path';
import type { CommandIO } from '../io';

/**
 * Reads the configuration from --config, GATEHOUSE_CONFIG_YAML or GATEHOUSE_CONFIG (in that
 * order); with none of them, from ./.gatehouse/dev.yaml only inside a development directory
 * (config-path.ts defines it), else GH_ERR_CONFIG_MISSING.
 */
export function resolveConfig(configFlag: string | undefined): { config: GatehouseConfig; warnings: readonly string[]; origin: string } {
  if (configFlag) return { ...loadConfigFile(configFlag), origin: configFlag };
  if (process.env.GATEHOUSE_CONFIG_YAML) return { ...validateOrThrow(process.env.GATEHOUSE_CONFIG_YAML, 'GATEHOUSE_CONFIG_YAML'), origin: 'GATEHOUSE_CONFIG_YAML' };
  if (process.env.GATEHOUSE_CONFIG) return { ...loadConfigFile(process.env.GATEHOUSE_CONFIG), origin: process.env.GATEHOUSE_CONFIG };
  const missing = (why: string) =>
    new GatehouseError(
      'GH_ERR_CONFIG_MISSING',
      `no configuration: pass --config FILE, or set GATEHOUSE_CONFIG or GATEHOUSE_CONFIG_YAML; ${DEV_CONFIG_PATH} is used only in a development directory, and here ${why} (see \`gatehouse run --help\`; \`gatehouse dev\` makes one)`,
    );
  const reason = notDevDirectoryReason();
  if (reason !== undefined) throw missing(reason);
  const loaded = loadConfigFile(DEV_CONFIG_PATH);
  if (loaded.config.mode !== 'development') throw missing(`${DEV_CONFIG_PATH} is not a development configuration (mode: ${loaded.config.mode})`);
  return { ...loaded, origin: DEV_CONFIG_PATH };
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
