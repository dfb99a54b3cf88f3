/**
 * One finding of `gatehouse doctor`: what was checked, whether it holds, and, when it does not,
 * what to do about it. `skip` is for what is not configured here (not a failure: doctor checks
 * what is set up, and says how to set up the rest).
 */
export interface Check {
  readonly name: string;
  readonly status: 'ok' | 'fail' | 'skip';
  readonly detail: string;
  /** What to do; given for every failure. */
  readonly fix?: string;
}

export const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail });
export const fail = (name: string, detail: string, fix: string): Check => ({ name, status: 'fail', detail, fix });
export const skip = (name: string, detail: string, fix?: string): Check => ({ name, status: 'skip', detail, ...(fix && { fix }) });

const MARK = { ok: 'ok  ', fail: 'FAIL', skip: 'skip' } as const;

export function renderChecks(checks: readonly Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${MARK[c.status]}  ${c.name.padEnd(width)}  ${c.detail}`);
    if (c.fix) lines.push(`${' '.repeat(width + 8)}${c.status === 'fail' ? 'fix: ' : ''}${c.fix}`);
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  lines.push('', failed === 0 ? 'All checks passed.' : `${failed} check${failed === 1 ? '' : 's'} failed.`);
  return lines.join('\n');
}
