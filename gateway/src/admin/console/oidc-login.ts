import * as client from 'openid-client';
import { GatehouseError, isGatehouseError } from '../../errors';
import type { Principal } from '../../identity/principal';
import type { IdentityVerifier } from '../../pipeline/types';
import type { LoginState } from './cookies';

/**
 * Logging people in: OAuth 2.0 authorization code with PKCE (S256), state and nonce, through
 * openid-client. The ID token is then verified again by the gateway's own IdentityVerifier (same
 * issuer rules, audiences and groups claim as every other token), which yields the Principal.
 */
export interface OidcLoginOptions {
  /** The issuer URL exactly as configured (`identity.issuers[].issuer`). */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  /** `${externalUrl}/console/callback`. */
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly verifier: IdentityVerifier;
}

export class OidcLogin {
  private configuration: Promise<client.Configuration> | undefined;

  constructor(private readonly options: OidcLoginOptions) {}

  /** The issuer's authorization URL and what the callback must check. */
  async start(returnTo: string): Promise<{ url: string; login: LoginState }> {
    const config = await this.config();
    const codeVerifier = client.randomPKCECodeVerifier();
    const login: LoginState = { state: client.randomState(), nonce: client.randomNonce(), codeVerifier, returnTo };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.options.redirectUri,
      scope: this.options.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state: login.state,
      nonce: login.nonce,
    });
    return { url: url.href, login };
  }

  /** Exchanges the code (checking state, nonce and PKCE) and verifies the ID token into a Principal. */
  async finish(callbackUrl: URL, login: LoginState): Promise<Principal> {
    const config = await this.config();
    let idToken: string | undefined;
    try {
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: login.codeVerifier, expectedState: login.state, expectedNonce: login.nonce, idTokenExpected: true });
      idToken = tokens.id_token;
    } catch (e) {
      throw new GatehouseError('GH_ERR_TOKEN_CLAIMS', `the login did not complete: ${describe(e)}`, { cause: e });
    }
    if (idToken === undefined) throw new GatehouseError('GH_ERR_TOKEN_MISSING', 'the issuer returned no ID token');
    try {
      return await this.options.verifier.verify(idToken);
    } catch (e) {
      throw isGatehouseError(e) ? e : new GatehouseError('GH_ERR_TOKEN_MALFORMED', 'the ID token could not be verified', { cause: e });
    }
  }

  private config(): Promise<client.Configuration> {
    this.configuration ??= (async () => {
      const { issuer, clientId, clientSecret } = this.options;
      const auth = clientSecret === undefined ? client.None() : client.ClientSecretBasic(clientSecret);
      // http:// issuers pass configuration checks only in development mode (config/load.ts).
      const insecure = /^http:/i.test(issuer);
      return client.discovery(new URL(issuer), clientId, clientSecret === undefined ? { token_endpoint_auth_method: 'none' } : undefined, auth, insecure ? { execute: [client.allowInsecureRequests] } : undefined);
    })().catch((e: unknown) => {
      this.configuration = undefined; // retry discovery on the next login
      throw new GatehouseError('GH_ERR_ISSUER_UNAVAILABLE', `the console's issuer could not be discovered: ${describe(e)}`, { cause: e });
    });
    return this.configuration;
  }
}

/** The error's code and message (openid-client's carry the OAuth error), never a token. */
function describe(e: unknown): string {
  if (e instanceof client.AuthorizationResponseError || e instanceof client.ResponseBodyError) return `${e.error}${e.error_description ? `: ${e.error_description}` : ''}`;
  const err = e as { code?: string; message?: string };
  return `${err.code ?? ''} ${String(err.message ?? e).slice(0, 200)}`.trim();
}
