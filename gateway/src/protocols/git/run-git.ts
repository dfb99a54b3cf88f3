import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { GatehouseError, isGatehouseError } from '../../errors';

/**
 * Runs the system `git` with a deadline and bounded input and output, for judging pushes. Any
 * failure to finish in bounds rejects with GH_ERR_GIT_INSPECTION_FAILED (or GH_ERR_MESSAGE_TOO_LARGE
 * for input over its cap): the caller fails closed. Never a shell; arguments are passed as given,
 * and credentials travel only in `env` (never in argv, which other processes can read).
 */
export interface RunGitOptions {
  readonly cwd?: string;
  /** Added to a clean environment (PATH, HOME from this process; no user or system git config). */
  readonly env?: Readonly<Record<string, string>>;
  readonly stdin?: Buffer | Readable;
  /** Bytes of stdin allowed through; more rejects. @default unbounded */
  readonly maxInputBytes?: number;
  /** @default 1 MiB */
  readonly maxOutputBytes?: number;
  /** @default 30000 */
  readonly timeoutMs?: number;
  /** Exit codes that are answers, not failures (`merge-base --is-ancestor` exits 1 for no). @default [0] */
  readonly okCodes?: readonly number[];
  /**
   * Receives stdout as it arrives instead of collecting it (the result's stdout is then empty;
   * maxOutputBytes still applies): for output read once, such as a push's patches.
   */
  readonly onStdout?: (chunk: Buffer) => void;
  /** Aborting kills git and rejects (GH_ERR_GIT_INSPECTION_FAILED): the consumer has seen enough. */
  readonly signal?: AbortSignal;
}

export interface RunGitResult {
  readonly code: number;
  readonly stdout: Buffer;
}

export function runGit(args: readonly string[], options: RunGitOptions = {}): Promise<RunGitResult> {
  const maxOut = options.maxOutputBytes ?? 1 << 20;
  const okCodes = options.okCodes ?? [0];
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
    ...options.env,
  };
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let failure: GatehouseError | undefined;
    const fail = (e: GatehouseError): void => {
      if (failure !== undefined) return;
      failure = e;
      child.kill('SIGKILL');
    };
    const onAbort = (): void => fail(new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', `git ${args[0]} was stopped`));
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => fail(new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', `git ${args[0]} did not finish within ${options.timeoutMs ?? 30_000} ms`)), options.timeoutMs ?? 30_000);
    child.stdout.on('data', (c: Buffer) => {
      outBytes += c.length;
      if (outBytes > maxOut) return fail(new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', `git ${args[0]} wrote more than ${maxOut} bytes`));
      if (failure !== undefined) return;
      if (options.onStdout === undefined) out.push(c);
      else {
        try {
          options.onStdout(c);
        } catch (e) {
          // The consumer's own error (e.g. GH_ERR_MASKING_FAILED) keeps its code; anything else is
          // wrapped without its cause, which could quote what was being read.
          fail(isGatehouseError(e) ? e : new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', `the output of git ${args[0]} could not be read`));
        }
      }
    });
    child.stderr.on('data', (c: Buffer) => {
      if (err.length < 4096) err += c.toString('utf8');
    });
    child.stdin.on('error', () => undefined); // the child may exit before reading everything: its exit code says why
    child.on('error', (e) => fail(new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', `git could not be started: ${e.message}`)));
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (failure !== undefined) return reject(failure);
      if (code === null || !okCodes.includes(code)) return reject(new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', `git ${args[0]} failed (exit ${code ?? 'signal'})`, { details: { stderr: err.slice(0, 1024) } }));
      resolve({ code, stdout: Buffer.concat(out) });
    });
    const stdin = options.stdin;
    if (stdin === undefined) child.stdin.end();
    else if (Buffer.isBuffer(stdin)) {
      if (options.maxInputBytes !== undefined && stdin.length > options.maxInputBytes) fail(tooLarge(options.maxInputBytes));
      else child.stdin.end(stdin);
    } else {
      let inBytes = 0;
      stdin.on('data', (c: Buffer) => {
        inBytes += c.length;
        if (options.maxInputBytes !== undefined && inBytes > options.maxInputBytes) {
          stdin.unpipe(child.stdin);
          fail(tooLarge(options.maxInputBytes));
        }
      });
      stdin.on('error', () => fail(new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', 'the pushed pack could not be read')));
      stdin.pipe(child.stdin);
    }
  });
}

function tooLarge(max: number): GatehouseError {
  return new GatehouseError('GH_ERR_MESSAGE_TOO_LARGE', `the pushed pack is larger than ${max} bytes`);
}
