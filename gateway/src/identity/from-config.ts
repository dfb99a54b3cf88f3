import type { GatehouseConfig } from '../config/schema';
import { GatehouseError } from '../errors';
import { assertDevIssuerAllowed, loadDevIssuer } from './dev-issuer';
import type { IdentityLogger } from './logger';
import { createIdentityVerifier } from './verifier';
import type { DevIssuerTrust, GatewayIdentityVerifier, IdentityVerifierOptions } from './verifier';

export type VerifierRuntimeOptions = Pick<
  IdentityVerifierOptions,
  'fetch' | 'now' | 'logger' | 'unknownKeyRefetchSeconds' | 'fetchTimeoutMs'
>;

/**
 * The verifier the gateway runs with, built from the validated configuration: the configured
 * issuers, plus the local development issuer when `identity.devIssuer.enabled` (refused with
 * GH_ERR_DEV_ISSUER_IN_PRODUCTION in production mode; its key pair is created on first use).
 */
export async function identityVerifierFromConfig(
  config: Pick<GatehouseConfig, 'mode' | 'identity'>,
  runtime: VerifierRuntimeOptions = {},
): Promise<GatewayIdentityVerifier> {
  const { issuers, devIssuer } = config.identity;
  let devTrust: DevIssuerTrust | undefined;
  if (devIssuer.enabled) {
    assertDevIssuerAllowed(config.mode);
    const dev = await loadDevIssuer(devIssuer.keyPath);
    devTrust = { ...dev, audience: devIssuer.audience };
    warn(runtime.logger, { keyPath: devIssuer.keyPath }, 'the local development issuer is trusted: anyone who can read its key file can mint tokens');
  }
  if (issuers.length === 0 && devTrust === undefined) {
    if (config.mode === 'production') {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'no trusted issuers are configured (identity.issuers): every token would be refused', {
        details: { path: 'identity.issuers' },
      });
    }
    warn(runtime.logger, {}, 'no trusted issuers are configured: every token will be refused');
  }
  return createIdentityVerifier({ ...runtime, issuers, devIssuer: devTrust, mode: config.mode });
}

function warn(logger: IdentityLogger | undefined, fields: Record<string, unknown>, message: string): void {
  logger?.warn(fields, message);
}
