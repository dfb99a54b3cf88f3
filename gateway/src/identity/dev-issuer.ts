import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import type { JWK } from 'jose';
import { GatehouseError } from '../errors';

/**
 * The local development issuer: a key pair on disk that mints tokens for the quickstart and
 * tests, so nobody needs an IdP to try Gatehouse. Its tokens are trusted only when the verifier
 * is given its public key, and never in production mode (`assertDevIssuerAllowed`).
 */

/** `iss` of every development token; not a URL, so it can never collide with a real issuer. */
export const DEV_ISSUER = 'urn:gatehouse:dev';
/** The `issuerName` principals from the development issuer carry. */
export const DEV_ISSUER_NAME = 'dev';
const DEV_ALGORITHM = 'EdDSA';
const KEY_FILE_VERSION = 1;
/** Development tokens live at most a week: long enough for a workday, short enough to expire. */
const MAX_DEV_TTL_SECONDS = 7 * 24 * 3600;

interface DevKeyFile {
  version: number;
  issuer: string;
  alg: string;
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
  createdAt: string;
}

export interface DevIssuer {
  readonly issuer: string;
  /** Public key (with `kid` and `alg`) to hand to `createIdentityVerifier({ devIssuer })`. */
  readonly publicJwk: JWK;
}

/** Throws GH_ERR_DEV_ISSUER_IN_PRODUCTION in production mode; call before trusting or minting dev tokens. */
export function assertDevIssuerAllowed(mode: 'development' | 'production'): void {
  if (mode !== 'development') {
    throw new GatehouseError(
      'GH_ERR_DEV_ISSUER_IN_PRODUCTION',
      'the local development issuer is refused in production mode; configure a real OIDC issuer or set mode: development',
    );
  }
}

/** The JWS algorithm a public JWK verifies (the dev issuer uses EdDSA; ES256 keys are accepted too). */
export function algorithmForJwk(jwk: JWK): string {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'the development issuer key must be an Ed25519 or P-256 key');
}

/** Reads the dev issuer's key file, creating the key pair on first use. */
export async function loadDevIssuer(keyPath: string): Promise<DevIssuer> {
  const file = await loadOrCreateKeyFile(keyPath);
  return { issuer: file.issuer, publicJwk: file.publicJwk };
}

export interface MintDevTokenOptions {
  readonly subject: string;
  readonly groups?: readonly string[];
  /** Must equal the gateway's `identity.devIssuer.audience`. @default 'gatehouse' */
  readonly audience?: string;
  /** @default 3600 */
  readonly ttlSeconds?: number;
  readonly keyPath: string;
  /** Display name (`preferred_username`). @default subject */
  readonly name?: string;
  /** Current time in milliseconds. @default Date.now */
  readonly now?: () => number;
  /**
   * Create the key pair when `keyPath` does not exist. The CLI passes false: a token signed by a
   * key no gateway trusts would only fail later, at the gateway, with a less helpful error.
   * @default true
   */
  readonly createKey?: boolean;
}

/** Mints a development token signed with the key at `keyPath` (created if missing, unless `createKey` is false). */
export async function mintDevToken(options: MintDevTokenOptions): Promise<string> {
  const ttlSeconds = options.ttlSeconds ?? 3600;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_DEV_TTL_SECONDS) {
    throw new GatehouseError('GH_ERR_REQUEST_INVALID', `development token lifetime must be 1 to ${MAX_DEV_TTL_SECONDS} seconds`);
  }
  if (options.subject === '') throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'development token needs a subject');
  const file = options.createKey === false ? await readExistingKeyFile(options.keyPath) : await loadOrCreateKeyFile(options.keyPath);
  const key = await importJWK(file.privateJwk, file.alg);
  const nowSeconds = Math.floor((options.now ?? Date.now)() / 1000);
  return new SignJWT({
    groups: [...(options.groups ?? [])],
    preferred_username: options.name ?? options.subject,
    kind: 'dev',
  })
    .setProtectedHeader({ alg: file.alg, kid: file.kid, typ: 'JWT' })
    .setIssuer(file.issuer)
    .setSubject(options.subject)
    .setAudience(options.audience ?? 'gatehouse')
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + ttlSeconds)
    .setJti(randomUUID())
    .sign(key);
}

/** Reads the dev issuer's key file; GH_ERR_DEV_ISSUER_UNAVAILABLE when it does not exist (never creates it). */
export async function readExistingDevIssuer(keyPath: string): Promise<DevIssuer> {
  const file = await readExistingKeyFile(keyPath);
  return { issuer: file.issuer, publicJwk: file.publicJwk };
}

async function readExistingKeyFile(keyPath: string): Promise<DevKeyFile> {
  try {
    return await readKeyFile(keyPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new GatehouseError(
      'GH_ERR_DEV_ISSUER_UNAVAILABLE',
      `no development issuer key at ${keyPath}: start the gateway first (\`gatehouse dev\`, or \`gatehouse run\` with identity.devIssuer.enabled), or pass --config with the configuration it runs`,
    );
  }
}

async function loadOrCreateKeyFile(keyPath: string): Promise<DevKeyFile> {
  try {
    return await readKeyFile(keyPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { publicKey, privateKey } = await generateKeyPair(DEV_ALGORITHM, { crv: 'Ed25519', extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const file: DevKeyFile = {
    version: KEY_FILE_VERSION,
    issuer: DEV_ISSUER,
    alg: DEV_ALGORITHM,
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: DEV_ALGORITHM },
    publicJwk: { ...publicJwk, kid, alg: DEV_ALGORITHM, use: 'sig' },
    createdAt: new Date().toISOString(),
  };
  await mkdir(dirname(keyPath), { recursive: true, mode: 0o700 });
  try {
    // 'wx': if another process created the file meanwhile, keep theirs rather than overwrite it.
    await writeFile(keyPath, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readKeyFile(keyPath);
    throw new GatehouseError('GH_ERR_CONFIG_UNREADABLE', `could not write the development issuer key file ${keyPath}`, { cause: error });
  }
  await chmod(keyPath, 0o600);
  return file;
}

async function readKeyFile(keyPath: string): Promise<DevKeyFile> {
  const info = await stat(keyPath);
  // Like ssh with private keys: a key others can read is not a key we sign with.
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new GatehouseError(
      'GH_ERR_CONFIG_INVALID',
      `the development issuer key file ${keyPath} is accessible to other users; run: chmod 600 ${keyPath}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(keyPath, 'utf8'));
  } catch (cause) {
    throw new GatehouseError('GH_ERR_CONFIG_UNREADABLE', `the development issuer key file ${keyPath} is not valid JSON`, { cause });
  }
  const file = parsed as Partial<DevKeyFile>;
  if (
    file.version !== KEY_FILE_VERSION ||
    typeof file.issuer !== 'string' ||
    typeof file.alg !== 'string' ||
    typeof file.kid !== 'string' ||
    typeof file.privateJwk !== 'object' ||
    typeof file.publicJwk !== 'object' ||
    file.publicJwk === null ||
    'd' in file.publicJwk
  ) {
    throw new GatehouseError('GH_ERR_CONFIG_UNREADABLE', `the development issuer key file ${keyPath} is not in the expected format`);
  }
  return file as DevKeyFile;
}
