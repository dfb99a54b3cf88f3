import { spawn } from 'node:child_process';
import { GatehouseError } from '../../errors';
import type { CommandIO } from '../io';
import { tokenCommand } from './token';

export interface PsqlDeps {
  readonly env?: NodeJS.ProcessEnv;
  /** Where psql's own output goes. @default inherited (the terminal) */
  readonly stdio?: 'inherit' | 'pipe';
  /** Receives psql's stdout and stderr when stdio is `pipe` (tests). */
  readonly onOutput?: (stream: 'stdout' | 'stderr', data: Buffer) => void;
}

/**
 * `gatehouse psql [--gateway GW] [--psql PATH] [--] <psql arguments>`: runs psql with a current
 * token as its password. libpq has no password command, so the token goes into PGPASSWORD of the
 * child's environment only: never into a file, the shell's environment or psql's command line
 * (where `ps` would show it). A token is fetched once per run: psql connects once.
 */
export async function psqlCommand(argv: string[], io: CommandIO, deps: PsqlDeps = {}): Promise<number> {
  let gateway: string | undefined;
  let program = 'psql';
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (flag !== '--gateway' && flag !== '--psql') break;
    const value = inline ?? argv[++i];
    if (value === undefined) throw new GatehouseError('GH_ERR_CLIENT_SETUP', `${flag} needs a value`);
    if (flag === '--gateway') gateway = value;
    else program = value;
  }
  const psqlArgs = argv.slice(i);
  const env = deps.env ?? process.env;

  let token = '';
  const code = await tokenCommand(gateway === undefined ? [] : [gateway], { out: (line) => (token = line.trim()), err: (line) => io.err(line) }, { env });
  if (code !== 0 || token === '') return code || 1;

  const child = spawn(program, psqlArgs, { env: { ...env, PGPASSWORD: token }, stdio: deps.stdio === 'pipe' ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
  if (deps.stdio === 'pipe') {
    child.stdout?.on('data', (d: Buffer) => deps.onOutput?.('stdout', d));
    child.stderr?.on('data', (d: Buffer) => deps.onOutput?.('stderr', d));
  }
  // Ctrl-C reaches psql too (same process group): it cancels the running query; we must not die.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (e: NodeJS.ErrnoException) =>
        reject(new GatehouseError('GH_ERR_CLIENT_MISSING', e.code === 'ENOENT' ? `${program} is not installed (or not on PATH): install the PostgreSQL client, or pass --psql PATH` : `cannot start ${program}: ${e.code ?? e.message}`)),
      );
      child.once('close', (status, signal) => resolve(status ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1)));
    });
  } finally {
    process.off('SIGINT', ignore);
  }
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal];
}
