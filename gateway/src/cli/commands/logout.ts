import { parseArgs } from 'node:util';
import { GatehouseError } from '../../errors';
import type { CommandIO } from '../io';
import { cachedGateways, normalizeGateway, readDefaultGateway, removeLogins } from '../login/token-cache';

/**
 * `gatehouse logout [gateway] [--all]`: removes the cached tokens (of the default gateway without
 * an argument). Local only: the issuer's session and refresh token are not revoked yet.
 */
export async function logoutCommand(argv: string[], io: CommandIO, deps: { env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { all: { type: 'boolean', default: false } }, allowPositionals: true });
  const env = deps.env ?? process.env;
  if (positionals.length > 1 || (values.all && positionals.length > 0)) throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', 'usage: gatehouse logout [gateway] | --all');
  const gateways = values.all ? cachedGateways(env) : [positionals[0] !== undefined ? normalizeGateway(positionals[0]) : readDefaultGateway(env)].filter((g): g is string => g !== undefined);
  let removed = 0;
  for (const gateway of gateways) removed += removeLogins(gateway, env);
  io.err(removed > 0 ? `Logged out of ${gateways.join(', ')}.` : 'No cached login to remove.');
  return 0;
}
