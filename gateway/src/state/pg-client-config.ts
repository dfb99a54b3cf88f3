import { readFileSync } from 'node:fs';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type pg from 'pg';
import { GatehouseError } from '../errors';
import { effectiveSslMode, parseStateUrl, stateConnectionProblems, type StateConnectionFields } from './connection-url';

/**
 * Turns the `state` section (its URL already resolved from a secret reference) into a `pg`
 * client configuration, field by field rather than as a connection string: `pg` lets a
 * connection string override every other option, which would drop a password function and the
 * TLS settings below.
 *
 * TLS follows the `pg` driver's own reading of `sslmode` (8.x): `disable` is plaintext,
 * `no-verify` encrypts without checks, every other mode verifies the chain and the name
 * (verify-full); `sslMode` replaces the URL's. `caCert` replaces the system roots; `serverName` is the name checked when the
 * certificate does not carry the URL's host (Cloud SQL over a private IP).
 */
export interface PgClientConfigInput extends StateConnectionFields {
  /** The resolved `postgres://` URL. */
  readonly url: string;
  /** The resolved PEM of `caCert`. */
  readonly caPem?: string;
  /** The password of each new connection (IAM tokens); replaces the URL's password. */
  readonly password?: () => Promise<string>;
  readonly applicationName?: string;
}

export function pgClientConfig(input: PgClientConfigInput): pg.ClientConfig {
  const problems = stateConnectionProblems(input);
  if (problems.length > 0) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', problems.map((p) => `state.${p.field}: ${p.message}`).join('; '), { details: { problems } });
  }
  let parsed;
  try {
    parsed = parseStateUrl(input.url);
  } catch (e) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', `state.url: ${(e as Error).message}`);
  }
  // Parameters the gateway does not interpret pass to the driver as `pg` itself would pass them.
  const passThrough: Record<string, string> = {};
  for (const [k, v] of parsed.params) {
    if (!['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl', 'host', 'options', 'application_name'].includes(k)) passThrough[k] = v;
  }
  const config: pg.ClientConfig & Record<string, unknown> = {
    ...passThrough,
    host: parsed.host === '' ? undefined : parsed.host,
    port: parsed.port,
    database: parsed.database === '' ? undefined : parsed.database,
    user: parsed.user === '' ? undefined : parsed.user,
    application_name: parsed.params.get('application_name') ?? input.applicationName ?? 'gatehouse',
  };
  if (input.password !== undefined) config.password = input.password;
  else if (parsed.password !== undefined) config.password = parsed.password;

  const options = [parsed.params.get('options'), input.schema !== undefined ? `-c search_path=${input.schema}` : undefined].filter((o) => o !== undefined && o !== '');
  if (options.length > 0) config.options = options.join(' ');

  const ssl = tlsOptions(parsed.params, input);
  if (ssl !== undefined) config.ssl = ssl;
  return config;
}

function tlsOptions(params: ReadonlyMap<string, string>, input: PgClientConfigInput): pg.ClientConfig['ssl'] {
  const sslmode = effectiveSslMode(params, input);
  const file = (name: string): string | undefined => {
    const path = params.get(name);
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', `state.url: cannot read ${name} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  if (sslmode === undefined) {
    const ssl = params.get('ssl');
    if (ssl === 'true' || ssl === '1') return true;
    if (ssl === 'no-verify') return { rejectUnauthorized: false };
    return undefined; // as before: plaintext unless PGSSLMODE says otherwise
  }
  if (sslmode === 'disable') return false;
  const cert = file('sslcert');
  const key = file('sslkey');
  const clientCert = { ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
  if (sslmode === 'no-verify') return { rejectUnauthorized: false, ...clientCert };
  const ca = input.caPem ?? file('sslrootcert');
  const serverName = input.serverName;
  return {
    rejectUnauthorized: true,
    ...(ca !== undefined ? { ca } : {}),
    ...clientCert,
    // The driver checks against the URL's host; a Cloud SQL certificate names the instance instead.
    ...(serverName !== undefined ? { checkServerIdentity: (_host: string, peer: PeerCertificate) => checkServerIdentity(serverName, peer) } : {}),
  };
}
