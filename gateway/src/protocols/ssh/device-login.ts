import * as oidc from 'openid-client';
import { GatehouseError, isGatehouseError } from '../../errors';

/**
 * The gateway's side of the OAuth device authorization grant (RFC 8628) for SSH clients without a
 * registered key (docs/ssh.md, "Signing in with a device code"): the gateway is the device. It asks
 * the issuer for a user code, shows the verification URL and code in a keyboard-interactive
 * prompt, and polls the token endpoint until the person approved, refused, or the code expired.
 * The ID token it receives is then verified by the gateway's own verifier like every caller's
 * token (pipeline.authenticate): nothing here decides who the caller is.
 */
export interface DeviceLoginOptions {
  /** The issuer URL exactly as configured (`identity.issuers[].issuer`). */
  readonly issuer: string;
  readonly clientId: string;
  /** For a confidential client; a public client (no secret) otherwise. */
  readonly clientSecret?: string;
  readonly scopes: readonly string[];
  /** Longest wait for the approval, in ms; the issuer's code lifetime cuts it shorter. */
  readonly timeoutMs: number;
}

/** A started device authorization: what to show the person, and the wait for their approval. */
export interface DeviceAuthorization {
  readonly verificationUri: string;
  /** The URL with the code filled in, when the issuer offers one. */
  readonly verificationUriComplete?: string;
  readonly userCode: string;
  /** Seconds until the code expires (the issuer's lifetime or the gateway's bound, the shorter). */
  readonly expiresIn: number;
  /**
   * Polls the token endpoint (at the issuer's interval) until the person approved: the ID token.
   * Rejects with GH_ERR_SSH_DEVICE_DENIED, GH_ERR_SSH_DEVICE_EXPIRED or GH_ERR_SSH_DEVICE_FAILED,
   * or, at once, with the signal's reason when `signal` aborts (the client went away); no request
   * is sent to the issuer after that.
   */
  idToken(signal: AbortSignal): Promise<string>;
}

export class DeviceLogin {
  private configuration: Promise<oidc.Configuration> | undefined;

  constructor(private readonly options: DeviceLoginOptions) {}

  /** Asks the issuer for a device code. Rejects with GH_ERR_ISSUER_UNAVAILABLE or GH_ERR_SSH_DEVICE_FAILED. */
  async start(): Promise<DeviceAuthorization> {
    const config = await this.config();
    let started: oidc.DeviceAuthorizationResponse;
    try {
      started = await oidc.initiateDeviceAuthorization(config, { scope: this.options.scopes.join(' ') });
    } catch (e) {
      throw new GatehouseError('GH_ERR_SSH_DEVICE_FAILED', `the issuer refused the device authorization request: ${describe(e)}`, { cause: e });
    }
    const timeoutMs = Math.min(this.options.timeoutMs, started.expires_in * 1000);
    return {
      verificationUri: started.verification_uri,
      ...(started.verification_uri_complete !== undefined && { verificationUriComplete: started.verification_uri_complete }),
      userCode: started.user_code,
      expiresIn: Math.round(timeoutMs / 1000),
      idToken: (signal) => poll(config, started, timeoutMs, signal),
    };
  }

  private config(): Promise<oidc.Configuration> {
    this.configuration ??= (async () => {
      const { issuer, clientId, clientSecret } = this.options;
      const auth = clientSecret === undefined ? oidc.None() : oidc.ClientSecretPost(clientSecret);
      // http:// issuers pass configuration checks only in development mode (config/load.ts).
      const insecure = /^http:/i.test(issuer);
      const config = await oidc.discovery(new URL(issuer), clientId, clientSecret === undefined ? { token_endpoint_auth_method: 'none' } : undefined, auth, insecure ? { execute: [oidc.allowInsecureRequests] } : undefined);
      if (config.serverMetadata().device_authorization_endpoint === undefined) {
        throw new GatehouseError('GH_ERR_SSH_DEVICE_FAILED', `the issuer ${issuer} offers no device authorization endpoint (device_authorization_endpoint in its discovery)`);
      }
      return config;
    })().catch((e: unknown) => {
      this.configuration = undefined; // discovered again on the next sign-in
      if (isGatehouseError(e)) throw e;
      throw new GatehouseError('GH_ERR_ISSUER_UNAVAILABLE', `the device sign-in issuer could not be discovered: ${describe(e)}`, { cause: e });
    });
    return this.configuration;
  }
}

async function poll(config: oidc.Configuration, started: oidc.DeviceAuthorizationResponse, timeoutMs: number, signal: AbortSignal): Promise<string> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const stop = AbortSignal.any([signal, deadline]);
  let tokens: Awaited<ReturnType<typeof oidc.pollDeviceAuthorizationGrant>>;
  try {
    // openid-client waits the issuer's `interval` (5 s when it names none) between requests, adds
    // 5 s on slow_down, and throws on expired_token and access_denied. Aborted, it sends no further
    // request (it checks the signal before each one and aborts one in flight) but notices only
    // at the end of its current 5 s wait step: the race ends the sign-in at once.
    const polling = oidc.pollDeviceAuthorizationGrant(config, started, undefined, { signal: stop });
    polling.catch(() => undefined); // settles after the race when aborted: never unhandled
    tokens = await Promise.race([polling, abortedBy(stop)]);
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    const error = (e as { error?: string }).error;
    if (deadline.aborted || error === 'expired_token') throw new GatehouseError('GH_ERR_SSH_DEVICE_EXPIRED', 'the code expired before the sign-in was approved: connect again for a new code', { cause: e });
    if (error === 'access_denied') throw new GatehouseError('GH_ERR_SSH_DEVICE_DENIED', 'the sign-in was denied at the issuer', { cause: e });
    throw new GatehouseError('GH_ERR_SSH_DEVICE_FAILED', `the device sign-in failed: ${describe(e)}`, { cause: e });
  }
  if (!tokens.id_token) throw new GatehouseError('GH_ERR_SSH_DEVICE_FAILED', 'the issuer returned no ID token (is "openid" among listeners.ssh.deviceLogin.scopes?)');
  return tokens.id_token;
}

/** Rejects with the signal's reason as soon as it aborts. */
function abortedBy(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** The OAuth error and description, or the error's message: never a token. */
function describe(e: unknown): string {
  const { error, error_description: description } = e as { error?: unknown; error_description?: unknown };
  if (typeof error === 'string') return typeof description === 'string' && description !== '' ? `${error}: ${description}` : error;
  return e instanceof Error ? e.message.slice(0, 200) : String(e).slice(0, 200);
}
