import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

import type { IamTokenSource } from './iam-token';
import { tokenUnavailable } from './iam-token';

/**
 * Amazon RDS IAM database authentication (`state.iamAuth: aws-rds`): the password of each new
 * connection is an authentication token, a SigV4-presigned `rds-db:connect` request for the
 * database user, valid 15 minutes, that the gateway signs itself with its platform credentials
 * (the ECS task role, through the SDK's default provider chain). No password is stored anywhere.
 *
 * The token is the presigned URL without `https://`: `<host>:<port>/?Action=connect&DBUser=<user>
 * &X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=...&X-Amz-Expires=900&...&X-Amz-Signature=...`
 * ("Connecting to your DB instance using IAM authentication", docs.aws.amazon.com/AmazonRDS/latest/
 * UserGuide/UsingWithRDS.IAMDBAuth.Connecting.html; the reference implementation is
 * `@aws-sdk/rds-signer`'s `Signer.getAuthToken`, whose output the tests reproduce byte for byte).
 * RDS accepts it only over SSL ("IAM database authentication for MariaDB, MySQL, and PostgreSQL",
 * UsingWithRDS.IAMDBAuth.html); the gateway sends it only with verify-full (connection-url.ts).
 *
 * Signing is local (a few HMACs), so a token is made for every new connection rather than cached:
 * it is used within milliseconds of its signing, so neither its 15-minute life nor an expiring
 * role session can make it stale.
 */

/** What the token is bound to: RDS checks each against the login. */
export interface RdsAuthTarget {
  /** The endpoint the client connects to (the cluster or instance endpoint, as in state.url). */
  readonly host: string;
  readonly port: number;
  /** The database user (a role granted `rds_iam`). */
  readonly user: string;
  readonly region: string;
}

export interface AwsCredentialIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

export type AwsCredentialProvider = () => Promise<AwsCredentialIdentity>;

/** An RDS token's life: the most `X-Amz-Expires` RDS honours for it (UsingWithRDS.IAMDBAuth.html: "15 minutes"). */
export const RDS_TOKEN_LIFETIME_SECONDS = 900;

/** What the signer hashes (@smithy/types' SourceData). */
type SourceData = string | ArrayBuffer | ArrayBufferView;

/** node:crypto as the signer's hash (SHA-256; HMAC-SHA-256 when given a key). */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
  reset(): void {
    throw new Error('not supported');
  }
}

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

/** RFC 3986 escaping as the SDK's query builder does it (also `!'()*`). */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** One token for `target`, signed with `credentials` at `signingDate`. */
export async function rdsAuthToken(target: RdsAuthTarget, credentials: AwsCredentialIdentity, signingDate: Date): Promise<string> {
  const signer = new SignatureV4({ service: 'rds-db', region: target.region, credentials, sha256: NodeSha256 });
  const presigned = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname: target.host,
      port: target.port,
      path: '/',
      query: { Action: 'connect', DBUser: target.user },
      headers: { host: `${target.host}:${target.port}` },
    },
    { expiresIn: RDS_TOKEN_LIFETIME_SECONDS, signingDate },
  );
  const query = presigned.query ?? {};
  const parts = Object.keys(query)
    .sort()
    .map((k) => `${escapeUri(k)}=${escapeUri(String(query[k]))}`);
  return `${target.host}:${target.port}/?${parts.join('&')}`;
}

export interface RdsTokenSourceOptions {
  /** @default the SDK's default chain (environment, ECS container credentials, web identity, IMDS) */
  readonly credentials?: AwsCredentialProvider;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A token per call (per new connection); a credential failure is GH_ERR_STATE_TOKEN_UNAVAILABLE. */
export function createRdsTokenSource(target: RdsAuthTarget, options: RdsTokenSourceOptions = {}): IamTokenSource {
  const now = options.now ?? Date.now;
  let chain: AwsCredentialProvider | undefined = options.credentials;
  return {
    async token() {
      try {
        if (chain === undefined) {
          // Loaded on first use only; the chain caches the task role's credentials and refreshes
          // them before they expire.
          const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
          chain = defaultProvider() as AwsCredentialProvider;
        }
        const credentials = await chain();
        return await rdsAuthToken(target, credentials, new Date(now()));
      } catch (e) {
        throw tokenUnavailable('aws-rds', e);
      }
    },
  };
}
