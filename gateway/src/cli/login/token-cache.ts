import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { GatehouseError } from '../../errors';

/**
 * The per-user token cache: one file per gateway and issuer under
 * `$XDG_CONFIG_HOME/gatehouse/tokens` (default `~/.config/gatehouse/tokens`), the directory 0700,
 * each file 0600 and replaced atomically (write a temporary file, rename), so a reader never sees
 * half a token and another user never sees one at all.
 *
 * Loaded by `gatehouse token` on every use: only Node built-ins here, nothing heavy.
 */
export interface CachedLogin {
  readonly version: 1;
  /** The gateway's origin, as given to `gatehouse login` (normalized). */
  readonly gateway: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** The credential presented to the gateway (an ID token: `aud` is the client id). */
  readonly idToken: string;
  /** The ID token's `exp`, in seconds since the epoch. */
  readonly expiresAt: number;
  readonly refreshToken?: string;
  /** When this entry was written, ms since the epoch: the newest wins when a gateway changed issuer. */
  readonly savedAt: number;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says a relative value is invalid and must be ignored.
  const base = xdg && xdg.startsWith('/') ? xdg : join(env.HOME || homedir(), '.config');
  return join(base, 'gatehouse');
}

export function tokensDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'tokens');
}

/** `https://GW.example:443/x/` → `https://gw.example`: one spelling per gateway. */
export function normalizeGateway(input: string): string {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? input : `https://${input}`);
  } catch {
    throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', `"${input}" is not a gateway URL (e.g. https://gatehouse.example.com)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', `"${input}" is not an http(s) URL`);
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}`;
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

function fileName(gateway: string, issuer: string): string {
  return `${hash(gateway)}-${hash(issuer)}.json`;
}

/** Writes a login; `makeDefault` (a new login, not a refresh) also makes it `gatehouse token`'s default. */
export function saveLogin(entry: Omit<CachedLogin, 'version' | 'savedAt'>, env: NodeJS.ProcessEnv = process.env, makeDefault = true): string {
  const dir = tokensDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode applies only to directories it creates and is masked by the umask: enforce it.
  chmodSync(dir, 0o700);
  chmodSync(configDir(env), 0o700);
  const path = join(dir, fileName(entry.gateway, entry.issuer));
  const body: CachedLogin = { version: 1, ...entry, savedAt: Date.now() };
  writeAtomically(path, JSON.stringify(body));
  // The newest login is the one `gatehouse token` serves: the fast helper's entry follows it.
  writeTokenEntry(body, env);
  if (makeDefault) writeDefaultGateway(entry.gateway, env);
  return path;
}

/** Writes a 0600 file by writing a temporary one and renaming it: a reader sees all or nothing. */
function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // `wx`: never follow or reuse an existing file at the temporary name.
    writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * The fast helper's entry for a gateway (gateway/bin/gatehouse-token reads it without Node): its
 * file name is the gateway with `:` as `+` and `/` as `_`, which a POSIX shell computes without
 * starting a process. Only gateways spelled with `[A-Za-z0-9.:/-]` (no IPv6 brackets, no `_` or
 * `+` that would make two gateways share a name) and at most 200 characters get one; the others
 * always take the Node path. Undefined for those.
 */
export function tokenEntryName(gateway: string): string | undefined {
  if (gateway.length > 200 || !/^https?:\/\/[A-Za-z0-9.:/-]+$/.test(gateway)) return undefined;
  return `${gateway.replace(/:/g, '+').replace(/\//g, '_')}.tok`;
}

/** What the fast helper reads: a header line, the expiry in seconds since the epoch, the token. */
function tokenEntryText(login: Pick<CachedLogin, 'idToken' | 'expiresAt'>): string | undefined {
  // The helper prints only what it can check for shape: an integer expiry and a JWT's characters.
  if (!Number.isSafeInteger(login.expiresAt) || login.expiresAt < 0 || !/^[A-Za-z0-9._-]+$/.test(login.idToken)) return undefined;
  return `gatehouse-token 1\n${login.expiresAt}\n${login.idToken}\n`;
}

function writeTokenEntry(login: Pick<CachedLogin, 'gateway' | 'idToken' | 'expiresAt'>, env: NodeJS.ProcessEnv): void {
  const name = tokenEntryName(login.gateway);
  if (name === undefined) return;
  const path = join(tokensDir(env), name);
  const text = tokenEntryText(login);
  if (text === undefined) rmSync(path, { force: true });
  else writeAtomically(path, text);
}

/**
 * Makes the fast helper's entry match a login `gatehouse token` just served from the JSON cache:
 * written when missing (a login from before the helper existed), replaced when it differs or is
 * not a 0600 regular file of this user's (the helper refuses those and would always fall back).
 * Best effort: the entry only makes the next call faster, so a failure here never costs the token.
 */
export function ensureTokenEntry(login: CachedLogin, env: NodeJS.ProcessEnv = process.env): void {
  const name = tokenEntryName(login.gateway);
  const text = tokenEntryText(login);
  if (name === undefined || text === undefined) return;
  const path = join(tokensDir(env), name);
  try {
    const info = lstatSync(path);
    const mine = typeof process.getuid !== 'function' || info.uid === process.getuid();
    if (info.isFile() && mine && (info.mode & 0o777) === 0o600 && readFileSync(path, 'utf8') === text) return;
  } catch {
    // missing: written below
  }
  try {
    writeAtomically(path, text);
  } catch {
    // Best effort (see above): the Node path keeps working without the entry.
  }
}

/** The newest cached login for a gateway, or undefined. */
export function readLogin(gateway: string, env: NodeJS.ProcessEnv = process.env): CachedLogin | undefined {
  const dir = tokensDir(env);
  let best: CachedLogin | undefined;
  for (const file of entriesFor(gateway, env)) {
    let entry: CachedLogin;
    try {
      entry = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CachedLogin;
    } catch {
      continue; // unreadable or foreign: ignored, `login` replaces it
    }
    if (entry.version !== 1 || entry.gateway !== gateway || typeof entry.idToken !== 'string') continue;
    if (!best || entry.savedAt > best.savedAt) best = entry;
  }
  return best;
}

/** Removes every cached login for a gateway; returns how many files were removed. */
export function removeLogins(gateway: string, env: NodeJS.ProcessEnv = process.env): number {
  const dir = tokensDir(env);
  const files = entriesFor(gateway, env);
  for (const file of files) rmSync(join(dir, file), { force: true });
  const entry = tokenEntryName(gateway);
  if (entry !== undefined) rmSync(join(dir, entry), { force: true });
  if (readDefaultGateway(env) === gateway) rmSync(join(configDir(env), 'default-gateway'), { force: true });
  return files.length;
}

/** Every gateway with a cached login. */
export function cachedGateways(env: NodeJS.ProcessEnv = process.env): string[] {
  const dir = tokensDir(env);
  const out = new Set<string>();
  for (const file of listDir(dir)) {
    if (!file.endsWith('.json')) continue;
    try {
      out.add((JSON.parse(readFileSync(join(dir, file), 'utf8')) as CachedLogin).gateway);
    } catch {
      /* ignored */
    }
  }
  return [...out];
}

/** The gateway of the last `gatehouse login`: what `gatehouse token` uses without an argument. */
export function readDefaultGateway(env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    const value = readFileSync(join(configDir(env), 'default-gateway'), 'utf8').trim();
    return value || undefined;
  } catch {
    return undefined;
  }
}

function writeDefaultGateway(gateway: string, env: NodeJS.ProcessEnv): void {
  writeAtomically(join(configDir(env), 'default-gateway'), `${gateway}\n`);
}

/**
 * Runs `fn` holding the gateway's refresh lock: a lock file created exclusively (O_EXCL), waited
 * for up to `waitMs`, and taken over when older than `staleMs` (a process that died holding it).
 */
export async function withRefreshLock<T>(gateway: string, env: NodeJS.ProcessEnv, fn: () => Promise<T>, waitMs = 20_000, staleMs = 30_000): Promise<T> {
  const dir = tokensDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lock = join(dir, `${hash(gateway)}.lock`);
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let age = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      if (age > staleMs) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new GatehouseError('GH_ERR_NOT_LOGGED_IN', `another gatehouse process has been refreshing the login for ${gateway} for too long (${lock})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function entriesFor(gateway: string, env: NodeJS.ProcessEnv): string[] {
  const prefix = `${hash(gateway)}-`;
  return listDir(tokensDir(env)).filter((f) => f.startsWith(prefix) && f.endsWith('.json'));
}

function listDir(dir: string): string[] {
  try {
    if (!statSync(dir).isDirectory()) return [];
    return readdirSync(dir);
  } catch {
    return [];
  }
}
