/** Who is calling: the verified result of an OIDC token. Never holds the token itself. */
export interface Principal {
  /** `iss` of the verified token. */
  readonly issuer: string;
  /** Name of the trusted issuer entry in the config that verified it. */
  readonly issuerName: string;
  /** `sub` of the verified token. */
  readonly subject: string;
  /** Display name for humans (email, preferred_username or sub). */
  readonly name: string;
  /** Groups from the configured groups claim plus groups granted by subject rules. */
  readonly groups: readonly string[];
  /** `human` for interactive users, `workload` for CI jobs and services, `dev` for the local development issuer. */
  readonly kind: 'human' | 'workload' | 'dev';
  /** Token expiry, seconds since epoch. */
  readonly expiresAt?: number;
  /** `jti` or a hash of the token: correlates requests made with one token without storing it. */
  readonly tokenId: string;
}
