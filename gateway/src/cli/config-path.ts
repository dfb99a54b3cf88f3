import { existsSync } from 'node:fs';

/** Where `gatehouse dev` writes its configuration; other commands find it there by default. */
export const DEV_CONFIG_PATH = './.gatehouse/dev.yaml';

/** `GATEHOUSE_CONFIG`, else the quickstart's configuration if it exists. */
export function defaultConfigPath(): string | undefined {
  if (process.env.GATEHOUSE_CONFIG) return process.env.GATEHOUSE_CONFIG;
  return existsSync(DEV_CONFIG_PATH) ? DEV_CONFIG_PATH : undefined;
}
