import { parseArgs } from 'node:util';
import type { Readable } from 'node:stream';
import { GatehouseError } from '../../errors';
import type { CommandIO } from '../io';
import { normalizeGateway, readDefaultGateway } from '../login/token-cache';
import { tokenCommand } from './token';

/** The user name Git sends with the token (the gateway reads the password; the name is a label). */
export const DEFAULT_GIT_USERNAME = 'gatehouse';

/** Git never sends more than a few hundred bytes; anything far beyond is not Git. */
const MAX_INPUT_BYTES = 64 * 1024;

export interface GitCredentialDeps {
  readonly env?: NodeJS.ProcessEnv;
  /** Seconds since the epoch. */
  readonly now?: () => number;
  /** What Git writes to the helper. @default process.stdin */
  readonly stdin?: Readable | string;
}

/**
 * `gatehouse git-credential [GATEWAY] [token options] get|store|erase`: Git's credential helper
 * protocol (gitcredentials(7)), configured as `credential.https://GW.helper "!gatehouse
 * git-credential"`. Git writes `key=value` lines (protocol, host, path, …) and a blank line;
 * for `get` the helper answers `username=` and `password=` with a current token from the same
 * source `gatehouse token` uses (the login cache, refreshed near expiry; or a workload's token).
 *
 * It answers only for the gateway's own scheme and host: for any other host it prints nothing,
 * which tells Git to ask its next helper, so a token never goes to another server even when the
 * helper is configured for every host. `store` and `erase` change nothing: the token's cache
 * belongs to `gatehouse login`/`logout`, and a refused request is no reason to drop a login.
 * Failures exit 1 with a message on stderr that never holds the token.
 */
export async function gitCredentialCommand(argv: string[], io: CommandIO, deps: GitCredentialDeps = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      username: { type: 'string', default: DEFAULT_GIT_USERNAME },
      'min-valid': { type: 'string' },
      ambient: { type: 'boolean', default: false },
      'token-file': { type: 'string' },
      'token-env': { type: 'string' },
      audience: { type: 'string' },
      dev: { type: 'boolean', default: false },
      sub: { type: 'string' },
      groups: { type: 'string' },
      config: { type: 'string' },
    },
    allowPositionals: true,
  });
  // Git appends the operation to the configured command line.
  const operation = positionals.at(-1);
  if (operation !== 'get' && operation !== 'store' && operation !== 'erase') {
    throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', 'expected get, store or erase as the last argument (Git adds it: configure "!gatehouse git-credential [GATEWAY]")');
  }
  if (positionals.length > 2) throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', 'give at most one gateway');
  if (/[\r\n\0=]/.test(values.username)) throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', '--username must be one line without "="');
  const request = parseCredentialRequest(await readInput(deps.stdin ?? process.stdin));
  if (operation !== 'get') return 0;

  const env = deps.env ?? process.env;
  const workload = values.ambient || values.dev || values['token-file'] !== undefined || values['token-env'] !== undefined;
  const named = positionals.length === 2 ? positionals[0]! : undefined;
  // A workload's token has no cached gateway to answer for: it must be named.
  if (named === undefined && workload) throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', 'name the gateway (gatehouse git-credential GATEWAY …): the helper answers for that host only');
  const gateway = named !== undefined ? normalizeGateway(named) : readDefaultGateway(env);
  if (!gateway) throw new GatehouseError('GH_ERR_NOT_LOGGED_IN', 'not logged in: run gatehouse login <gateway-url>');
  if (!sameOrigin(gateway, request)) return 0;

  const tokenArgs: string[] = [];
  if (values.dev) {
    tokenArgs.push('--dev');
    if (values.sub !== undefined) tokenArgs.push('--sub', values.sub);
    if (values.groups !== undefined) tokenArgs.push('--groups', values.groups);
    if (values.config !== undefined) tokenArgs.push('--config', values.config);
  } else {
    if (values.ambient) tokenArgs.push('--ambient');
    if (values.audience !== undefined) tokenArgs.push('--audience', values.audience);
    if (values['token-file'] !== undefined) tokenArgs.push('--token-file', values['token-file']);
    if (values['token-env'] !== undefined) tokenArgs.push('--token-env', values['token-env']);
    if (values['min-valid'] !== undefined) tokenArgs.push('--min-valid', values['min-valid']);
    if (!workload) tokenArgs.push(gateway);
  }
  const printed: string[] = [];
  const code = await tokenCommand(tokenArgs, { out: (l) => printed.push(l), err: (l) => io.err(l) }, { env, now: deps.now });
  if (code !== 0) return code;
  const token = printed.join('\n').trim();
  // One line, or Git would read the rest as more attributes.
  if (token === '' || /[\r\n\0]/.test(token)) throw new GatehouseError('GH_ERR_TOKEN_MALFORMED', 'the token source did not give one token on one line');
  const lines = [`username=${values.username}`, `password=${token}`];
  // Git 2.41+ will not keep the token (in another helper's store) past its expiry.
  const exp = jwtExpiry(token);
  if (exp !== undefined) lines.push(`password_expiry_utc=${exp}`);
  io.out(lines.join('\n'));
  return 0;
}

export interface CredentialRequest {
  readonly protocol?: string;
  readonly host?: string;
  readonly path?: string;
}

/** Git's `key=value` lines up to a blank line; `url=` is split into its parts; unknown keys are ignored. */
export function parseCredentialRequest(text: string): CredentialRequest {
  const out: { protocol?: string; host?: string; path?: string } = {};
  for (const line of text.split('\n')) {
    const l = line.replace(/\r$/, '');
    if (l === '') break;
    const eq = l.indexOf('=');
    if (eq <= 0) continue;
    const key = l.slice(0, eq);
    const value = l.slice(eq + 1);
    if (key === 'protocol' || key === 'host' || key === 'path') out[key] = value;
    else if (key === 'url') {
      try {
        const u = new URL(value);
        out.protocol = u.protocol.replace(/:$/, '');
        out.host = u.host;
        out.path = u.pathname.replace(/^\//, '');
      } catch {
        /* not a URL: protocol and host decide */
      }
    }
  }
  return out;
}

/** Whether Git asks for the gateway's own scheme and host (port included: Git sends `host:port` when it is not the default). */
function sameOrigin(gateway: string, request: CredentialRequest): boolean {
  if (request.protocol === undefined || request.host === undefined) return false;
  let asked: URL;
  try {
    asked = new URL(`${request.protocol}://${request.host}/`);
  } catch {
    return false;
  }
  const gw = new URL(gateway);
  return asked.protocol === gw.protocol && asked.host === gw.host;
}

/** The `exp` of a JWT, read without verifying (the gateway verifies); undefined for anything else. */
function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isSafeInteger(exp) && exp > 0 ? exp : undefined;
  } catch {
    return undefined;
  }
}

async function readInput(input: Readable | string): Promise<string> {
  if (typeof input === 'string') return input;
  let text = '';
  for await (const chunk of input) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    if (text.length > MAX_INPUT_BYTES) throw new GatehouseError('GH_ERR_MESSAGE_TOO_LARGE', 'the credential request is too large');
    // Git ends its request with a blank line (and closes the pipe); either ends the read.
    if (text.startsWith('\n') || text.includes('\n\n')) break;
  }
  return text;
}
