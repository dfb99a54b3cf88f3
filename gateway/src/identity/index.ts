export { createIdentityVerifier } from './verifier';
export type { DevIssuerTrust, IdentityVerifierOptions } from './verifier';
export { assertDevIssuerAllowed, DEV_ISSUER, DEV_ISSUER_NAME, loadDevIssuer, mintDevToken } from './dev-issuer';
export type { DevIssuer, MintDevTokenOptions } from './dev-issuer';
export type { IdentityLogger } from './logger';
export type { Principal } from './principal';
