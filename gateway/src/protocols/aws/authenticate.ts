import type { Principal } from '../../identity';
import { verifyCallerCredential, type GatewayKeyring } from './credentials';
import { parseAuthorization, verifySignature, type SignedRequest, type VerifiedSignature } from './sigv4';

/** A request whose SigV4 signature verified with a gateway-issued caller credential. */
export interface AuthenticatedAwsRequest {
  readonly principal: Principal;
  readonly connection: string;
  readonly accessKeyId: string;
  readonly signature: VerifiedSignature;
  /** The caller credential's SigV4 secret (to check an aws-chunked body's chunk signatures). Never logged or recorded. */
  readonly secret: string;
}

export interface AuthenticateOptions {
  /** Milliseconds since epoch. @default the clock */
  readonly now?: number;
  /** The connection the request arrived on. @default not checked */
  readonly connection?: string;
  /** The region and service (signing name) the connection serves. @default any */
  readonly region?: string;
  readonly service?: string;
}

/**
 * The caller's authentication for AWS APIs: the request's SigV4 signature, checked with the secret
 * of the gateway-issued credential it names. Throws GH_ERR_AWS_* (a GatehouseError) on any failure.
 */
export function authenticateAwsRequest(keyring: GatewayKeyring, request: SignedRequest, options: AuthenticateOptions = {}): AuthenticatedAwsRequest {
  const now = options.now ?? Date.now();
  const parsed = parseAuthorization(request);
  const credential = verifyCallerCredential(keyring, parsed.accessKeyId, parsed.sessionToken, {
    now: Math.floor(now / 1000),
    ...(options.connection === undefined ? {} : { connection: options.connection }),
  });
  const signature = verifySignature(request, parsed, credential.secret, {
    now,
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.service === undefined ? {} : { service: options.service }),
  });
  return { principal: credential.principal, connection: credential.connection, accessKeyId: credential.accessKeyId, signature, secret: credential.secret };
}
