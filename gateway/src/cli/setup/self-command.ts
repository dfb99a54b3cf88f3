import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { GatehouseError } from '../../errors';

/**
 * How client configuration calls this very program back (`apiKeyHelper`, `credential_process`, a
 * git credential helper): absolute paths, because those clients run it from their own working
 * directory, with their own PATH, and (Claude Code, the AWS SDKs) through a shell. A bundle run
 * with `node` becomes `'<node>' '<bundle>'`: it works without anything on PATH and survives a
 * switch of the default node (nvm) as long as that node stays installed.
 */
export function selfCommand(argv: readonly string[] = process.argv, execPath: string = process.execPath): string[] {
  const script = argv[1];
  if (script === undefined) throw new GatehouseError('GH_ERR_CLIENT_SETUP', 'cannot tell how gatehouse was started: pass --gatehouse "<command>"');
  const real = resolved(script);
  // A single-file executable (node --experimental-sea-config, bun build --compile): argv[1] is the user's first argument.
  if (!/\.(mjs|cjs|js|ts)$/.test(real)) return [execPath];
  // Anything else (a test runner, a REPL) is not gatehouse: calling it back would run something else.
  if (!/(gateway\.mjs|main\.(ts|js|mjs))$/.test(real)) {
    throw new GatehouseError('GH_ERR_CLIENT_SETUP', `gatehouse is running from ${real}, which clients cannot call back: pass --gatehouse "<absolute command>"`);
  }
  return [execPath, real];
}

/**
 * The fast token helper (gateway/bin/gatehouse-token, a POSIX shell script) shipped beside the
 * program `self` runs: `[node, …/dist/gateway.mjs]` or an executable. Undefined where there is none
 * (a single-file executable, a test runner, Windows): clients then call `gatehouse token` itself.
 */
export function fastTokenHelper(self: readonly string[], platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform === 'win32') return undefined;
  const program = self[self.length - 1];
  if (program === undefined || !isAbsolute(program)) return undefined;
  const helper = join(dirname(program), 'gatehouse-token');
  try {
    if (!statSync(helper).isFile()) return undefined;
    accessSync(helper, constants.X_OK);
    return helper;
  } catch {
    return undefined;
  }
}

/** A POSIX shell word: bare when it is safe, else single-quoted. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/** `--gatehouse "<command>"` as given: split on spaces only (give paths without spaces, or let setup find itself). */
export function parseGatehouseOption(value: string): string[] {
  const words = value.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0 || !isAbsolute(words[0]!)) {
    throw new GatehouseError('GH_ERR_CLIENT_SETUP', `--gatehouse must start with an absolute path (clients run it with their own PATH and working directory): got "${value}"`);
  }
  return words;
}

function resolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
