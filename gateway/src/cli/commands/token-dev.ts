import { userInfo } from 'node:os';
import { loadConfigFile } from '../../config/load';
import { assertDevIssuerAllowed, mintDevToken } from '../../identity/dev-issuer';
import { defaultConfigPath } from '../config-path';
import type { CommandIO } from '../io';

export interface DevTokenOptions {
  readonly sub?: string;
  readonly groups: string;
  readonly ttl: string;
  readonly config?: string;
  readonly name?: string;
}

/**
 * `gatehouse token --dev`: prints a token from the local development issuer (a module of its own so
 * configuration and jose stay off the cached-token path). Refused when the configuration it would serve runs in production mode or has the development issuer disabled,
 * and when the issuer's key file does not exist yet (GH_ERR_DEV_ISSUER_UNAVAILABLE): a gateway
 * creates it when it starts, and a token from a key this command made up would be refused there.
 */
export async function devTokenCommand(values: DevTokenOptions, io: CommandIO): Promise<number> {
  let keyPath = './.gatehouse/dev-issuer.json';
  let audience = 'gatehouse';
  const configPath = values.config ?? defaultConfigPath();
  if (configPath) {
    const { config } = loadConfigFile(configPath);
    assertDevIssuerAllowed(config.mode);
    if (!config.identity.devIssuer.enabled) {
      io.err(`${configPath}: identity.devIssuer is not enabled, so the gateway would refuse a development token`);
      return 1;
    }
    keyPath = config.identity.devIssuer.keyPath;
    audience = config.identity.devIssuer.audience;
  }
  const ttlSeconds = Number(values.ttl);
  const token = await mintDevToken({
    subject: values.sub ?? safeUserName(),
    name: values.name,
    groups: values.groups.split(',').map((g) => g.trim()).filter(Boolean),
    ttlSeconds,
    audience,
    keyPath,
    createKey: false,
  });
  io.out(token);
  return 0;
}

function safeUserName(): string {
  try {
    return userInfo().username || 'developer';
  } catch {
    return 'developer';
  }
}
