import { parseArgs } from 'node:util';
import { GatehouseError } from '../../errors';
import type { CommandIO } from '../io';
import { browserAvailable, codeFlow, deviceFlow, discoverIssuer, openBrowser, type LoginTokens } from '../login/oidc-flows';
import { fetchWellKnown } from '../login/gateway-document';
import { normalizeGateway, saveLogin } from '../login/token-cache';

export interface LoginDeps {
  readonly env?: NodeJS.ProcessEnv;
  /** Replaces the system browser (tests drive the sign-in page with HTTP requests). */
  readonly openBrowser?: (url: string) => Promise<boolean>;
  readonly fetch?: typeof fetch;
}

/**
 * `gatehouse login <gateway-url>`: reads the gateway's `/.well-known/gatehouse`, signs in at the
 * issuer it names (code + PKCE in a browser, or the device grant with `--device` or without a
 * display), and caches the tokens for `gatehouse token`.
 */
export async function loginCommand(argv: string[], io: CommandIO, deps: LoginDeps = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { device: { type: 'boolean', default: false }, browser: { type: 'boolean', default: false }, timeout: { type: 'string', default: '300' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', 'usage: gatehouse login <gateway-url> [--device]');
  if (values.device && values.browser) throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', '--device and --browser exclude each other');
  const env = deps.env ?? process.env;
  const gateway = normalizeGateway(positionals[0]);
  const doc = await fetchWellKnown(gateway, deps.fetch ?? fetch);
  if (!doc.login.configured) throw new GatehouseError('GH_ERR_LOGIN_NOT_CONFIGURED', `${gateway} does not offer login: ${doc.login.reason}`);
  const client = { issuer: doc.login.issuer, clientId: doc.login.clientId, scopes: doc.login.scopes };
  const config = await discoverIssuer(client);
  const say = { say: (line: string) => io.err(line) };

  const useDevice = values.device || (!values.browser && !deps.openBrowser && !browserAvailable(env));
  let tokens: LoginTokens;
  if (useDevice) {
    if (!config.serverMetadata().device_authorization_endpoint) {
      throw new GatehouseError('GH_ERR_LOGIN_FAILED', `the issuer ${client.issuer} offers no device authorization: run gatehouse login where a browser can open`);
    }
    tokens = await deviceFlow(config, client, say);
  } else {
    tokens = await codeFlow(config, client, say, { openBrowser: deps.openBrowser ?? ((url) => openBrowser(url, env)), timeoutSeconds: Number(values.timeout) });
  }
  const path = saveLogin({ gateway, issuer: client.issuer, clientId: client.clientId, scopes: client.scopes, ...tokens }, env);
  io.err(`Logged in to ${gateway} (token cached in ${path}${tokens.refreshToken ? ', refreshed automatically' : '; no refresh token, so log in again when it expires'}).`);
  return 0;
}
