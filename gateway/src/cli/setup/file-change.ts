import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { GatehouseError } from '../../errors';

/**
 * One file `gatehouse setup` would write: its text before (undefined: the file does not exist) and
 * after. Planning is pure (read, compute); applying writes only when the text differs, so running
 * setup twice changes nothing the second time.
 */
export interface FileChange {
  readonly path: string;
  readonly before: string | undefined;
  readonly after: string;
  /** Mode of a file created here. @default 0o600 */
  readonly mode?: number;
}

export function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GatehouseError('GH_ERR_CLIENT_SETUP', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

export function changed(change: FileChange): boolean {
  return change.before !== change.after;
}

/**
 * Writes the new text atomically (temporary file, rename), keeping an existing file's mode; a new
 * file is private by default. A file edited meanwhile (its text no longer what was planned) is
 * left alone: setup never overwrites what it did not read.
 */
export function applyChange(change: FileChange): void {
  if (!changed(change)) return;
  if (readIfExists(change.path) !== change.before) {
    throw new GatehouseError('GH_ERR_CLIENT_SETUP', `${change.path} changed while setup ran: run it again`);
  }
  mkdirSync(dirname(change.path), { recursive: true, mode: 0o700 });
  let mode = change.mode ?? 0o600;
  if (change.before !== undefined) mode = statSync(change.path).mode & 0o7777;
  const tmp = `${change.path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, change.after, { mode, flag: 'wx' });
    chmodSync(tmp, mode); // the umask must not widen or narrow what was there
    renameSync(tmp, change.path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new GatehouseError('GH_ERR_CLIENT_SETUP', `cannot write ${change.path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/**
 * A unified-diff-like summary: the path, whether it is created, changed or unchanged, then the
 * removed (`-`) and added (`+`) lines with one line of context around each run.
 */
export function describeChange(change: FileChange): string {
  if (!changed(change)) return `= ${change.path} (already set up)`;
  const header = change.before === undefined ? `+ ${change.path} (new file)` : `~ ${change.path}`;
  return [header, ...lineDiff(change.before ?? '', change.after)].join('\n');
}

/** Changed lines of `a` → `b` (LCS; the files are a few hundred lines at most), with 1 line of context. */
export function lineDiff(a: string, b: string): string[] {
  const x = splitLines(a);
  const y = splitLines(b);
  const n = x.length;
  const m = y.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: { kind: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      ops.push({ kind: ' ', line: x[i]! });
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push({ kind: '-', line: x[i++]! });
    else ops.push({ kind: '+', line: y[j++]! });
  }
  const keep = ops.map((op, k) => op.kind !== ' ' || ops[k - 1]?.kind !== undefined && ops[k - 1]!.kind !== ' ' || ops[k + 1] !== undefined && ops[k + 1]!.kind !== ' ');
  const out: string[] = [];
  let skipped = false;
  ops.forEach((op, k) => {
    if (!keep[k]) {
      skipped = true;
      return;
    }
    if (skipped && out.length > 0) out.push('  ...');
    skipped = false;
    out.push(`${op.kind} ${op.line}`);
  });
  return out;
}

function splitLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
