export { createIdentityVerifier } from './verifier';
export type { DevIssuerTrust, GatewayIdentityVerifier, IdentityVerifierOptions, IssuerWarmUpResult } from './verifier';
export { identityVerifierFromConfig } from './from-config';
export type { VerifierRuntimeOptions } from './from-config';
export { assertDevIssuerAllowed, DEV_ISSUER, DEV_ISSUER_NAME, loadDevIssuer, mintDevToken } from './dev-issuer';
export type { DevIssuer, MintDevTokenOptions } from './dev-issuer';
export type { IdentityLogger } from './logger';
export type { Principal } from './principal';
