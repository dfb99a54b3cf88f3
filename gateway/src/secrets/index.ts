export { createSecretProvider, DEFAULT_SECRET_CACHE_TTL_MS } from './secret-store';
export type { SecretStore, SecretStoreOptions } from './secret-store';
export type { FetchedSecret, SchemeProvider } from './scheme-provider';
export { envSchemeProvider } from './env-provider';
export { fileSchemeProvider } from './file-provider';
export type { FileSchemeOptions } from './file-provider';
export { parseSecretReference, secretUnavailable } from './reference';
export type { SecretReference } from './reference';
