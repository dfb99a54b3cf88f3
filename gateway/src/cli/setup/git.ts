import { spawnSync } from 'node:child_process';
import { GatehouseError } from '../../errors';

/**
 * The git credential helper for the gateway's URLs, written with git itself (`git config`), so
 * git's own rules apply: `--global` follows GIT_CONFIG_GLOBAL, HOME and XDG_CONFIG_HOME, and a
 * given file is edited as git would.
 *
 * Two values under `credential.<gateway>.helper`: an empty one first, which empties the list of
 * helpers inherited from broader sections (a `credential.helper = store` would otherwise be asked
 * too and could write the token to disk), then `gatehouse git-credential`. A helper that is an
 * absolute path is run verbatim by git's shell (a bare name would become `git credential-<name>`).
 */
export interface GitCredentialPlan {
  readonly scope: string;
  readonly key: string;
  readonly before: readonly string[];
  readonly after: readonly string[];
}

export function gitCredentialKey(gateway: string): string {
  return `credential.${gateway}.helper`;
}

function scopeArgs(file: string | undefined): string[] {
  return file === undefined ? ['--global'] : ['--file', file];
}

export function planGitCredential(gateway: string, helper: string, file: string | undefined, env: NodeJS.ProcessEnv): GitCredentialPlan {
  const key = gitCredentialKey(gateway);
  const got = git(['config', ...scopeArgs(file), '--get-all', key], env, [0, 1]);
  const before = got.status === 1 ? [] : got.stdout.replace(/\n$/, '').split('\n');
  return { scope: file ?? 'git config --global', key, before, after: ['', helper] };
}

export function gitPlanChanged(plan: GitCredentialPlan): boolean {
  return plan.before.length !== plan.after.length || plan.before.some((v, i) => v !== plan.after[i]);
}

export function describeGitPlan(plan: GitCredentialPlan): string {
  if (!gitPlanChanged(plan)) return `= ${plan.scope}: ${plan.key} (already set up)`;
  return [`~ ${plan.scope}`, ...plan.before.map((v) => `- ${plan.key} = ${JSON.stringify(v)}`), ...plan.after.map((v) => `+ ${plan.key} = ${JSON.stringify(v)}`)].join('\n');
}

export function applyGitPlan(plan: GitCredentialPlan, file: string | undefined, env: NodeJS.ProcessEnv): void {
  if (!gitPlanChanged(plan)) return;
  const scope = scopeArgs(file);
  if (plan.before.length > 0) git(['config', ...scope, '--unset-all', plan.key], env, [0, 5]);
  for (const value of plan.after) git(['config', ...scope, '--add', plan.key, value], env, [0]);
}

function git(args: string[], env: NodeJS.ProcessEnv, okStatuses: number[]): { status: number; stdout: string } {
  const r = spawnSync('git', args, { env, encoding: 'utf8' });
  if (r.error) throw new GatehouseError('GH_ERR_CLIENT_MISSING', `cannot run git: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`);
  if (r.status === null || !okStatuses.includes(r.status)) throw new GatehouseError('GH_ERR_CLIENT_SETUP', `git ${args.slice(0, 3).join(' ')} failed: ${r.stderr.trim()}`);
  return { status: r.status, stdout: r.stdout };
}
