import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { WellKnownDocument } from '../../server/well-known';
import { jwtExpiry } from '../login/ambient';
import { awsConfigPath } from '../setup/aws';
import { claudeRoutingProblems, claudeSettingsPath } from '../setup/claude-code';
import { readIfExists } from '../setup/file-change';
import { gitCredentialKey } from '../setup/git';
import { readIniSection } from '../setup/ini-section';
import { fail, ok, skip, type Check } from './check';

/**
 * The clients' own configuration, as each client would read it, and a run of the command each
 * would run to get its credential (apiKeyHelper, credential_process): a helper pointing at a node
 * or bundle that moved fails here, not in the middle of someone's session.
 */
const HELPER_TIMEOUT_MS = 30_000;

/** Claude Code: user settings, then the project's, then its local file (later wins, as in Claude Code). */
export function checkClaudeCode(gateway: string, doc: WellKnownDocument, env: NodeJS.ProcessEnv, cwd: string, expectedBaseUrl: string | undefined): Check {
  const name = 'claude-code';
  const files = [claudeSettingsPath('user', env, cwd), claudeSettingsPath('project', env, cwd), join(cwd, '.claude', 'settings.local.json')];
  let merged: Record<string, unknown> = {};
  const used: string[] = [];
  for (const file of files) {
    const text = readIfExists(file);
    if (text === undefined) continue;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return fail(name, `${file} is not valid JSON: Claude Code ignores it`, 'fix the file, or move it away and run gatehouse setup claude-code');
    }
    used.push(file);
    merged = { ...merged, ...parsed, env: { ...((merged.env as object) ?? {}), ...((parsed.env as object) ?? {}) } };
  }
  const baseUrl = (merged.env as Record<string, unknown> | undefined)?.ANTHROPIC_BASE_URL ?? env.ANTHROPIC_BASE_URL;
  const helper = merged.apiKeyHelper;
  const mentionsGateway = (typeof baseUrl === 'string' && baseUrl.startsWith(gateway)) || (typeof helper === 'string' && helper.includes(gateway));
  if (!mentionsGateway) {
    const offered = doc.connections.some((c) => c.kind === 'http' && c.llm === 'anthropic');
    return skip(name, 'not set up for this gateway', offered ? `to use Claude Code through it: gatehouse setup claude-code ${gateway}` : undefined);
  }
  if (expectedBaseUrl === undefined) return fail(name, 'Claude Code points at this gateway, which publishes no Anthropic connection', "ask the gateway's operator for an llm: anthropic connection");
  const problems = claudeRoutingProblems(merged, env, expectedBaseUrl);
  if (problems.length > 0) return fail(name, `${problems.join('; ')} (from ${used.join(', ') || 'the environment'})`, `gatehouse setup claude-code ${gateway} (and unset the variables named)`);
  const run = runShell(helper as string, env);
  if (run.status !== 0 || jwtExpiry(run.stdout.trim()) === null) {
    return fail(name, `apiKeyHelper (${helper as string}) did not print a token: ${run.stderr.trim().split('\n').pop() || `exit ${run.status}`}`, `gatehouse setup claude-code ${gateway} rewrites it with this gatehouse's path`);
  }
  return ok(name, `routes through ${expectedBaseUrl}, apiKeyHelper prints a token, no direct vendor traffic`);
}

/** git: the helper list for the gateway's URLs, as git resolves it from here (all scopes). */
export function checkGit(gateway: string, env: NodeJS.ProcessEnv, cwd: string): Check {
  const name = 'git';
  const r = spawnSync('git', ['config', '--get-all', gitCredentialKey(gateway)], { env, cwd, encoding: 'utf8' });
  if (r.error) return skip(name, 'git is not installed');
  const values = r.status === 0 ? r.stdout.replace(/\n$/, '').split('\n') : [];
  const helper = values.filter((v) => v !== '').pop();
  if (!helper) return skip(name, 'no credential helper for this gateway', `to use git through it: gatehouse setup git ${gateway}`);
  if (!/\bgit-credential\b/.test(helper)) return fail(name, `the credential helper for ${gateway} is "${helper}", not gatehouse git-credential`, `gatehouse setup git ${gateway}`);
  const program = helper.split(/\s+/)[0]!.replace(/^'|'$/g, '');
  if (program.startsWith('/') && !existsSync(program)) return fail(name, `the credential helper runs ${program}, which does not exist`, `gatehouse setup git ${gateway}`);
  if (values.indexOf('') !== 0) return fail(name, 'other credential helpers are asked for this gateway too (they could store the token)', `gatehouse setup git ${gateway}`);
  return ok(name, `credential helper for ${gateway}: ${helper}`);
}

/** AWS: every profile whose credential_process names this gateway, run as the CLI would (none: no checks). */
export function checkAws(gateway: string, env: NodeJS.ProcessEnv): Check[] {
  const path = awsConfigPath(env);
  const text = readIfExists(path);
  const profiles = [...(text ?? '').matchAll(/^\s*\[(profile [^\]]+|default)\]\s*$/gm)].map((m) => m[1]!.trim());
  const checks: Check[] = [];
  for (const section of profiles) {
    const entries = readIniSection(text, section);
    const processCommand = entries?.get('credential_process');
    if (!processCommand || !processCommand.includes(gateway)) continue;
    const name = `aws ${section.replace(/^profile /, '')}`;
    const run = runShell(processCommand, env);
    let parsed: { Version?: unknown; AccessKeyId?: unknown } = {};
    try {
      parsed = JSON.parse(run.stdout) as typeof parsed;
    } catch {
      /* reported below */
    }
    if (run.status !== 0 || parsed.Version !== 1 || typeof parsed.AccessKeyId !== 'string') {
      checks.push(fail(name, `credential_process did not print credentials: ${run.stderr.trim().split('\n').pop() || `exit ${run.status}`}`, `gatehouse setup aws ${gateway} (and gatehouse login ${gateway})`));
    } else if (!entries!.get('endpoint_url')?.startsWith(gateway)) {
      checks.push(fail(name, `endpoint_url is ${entries!.get('endpoint_url') ?? 'unset'}: requests would go to AWS directly with credentials only the gateway accepts`, `gatehouse setup aws ${gateway}`));
    } else {
      checks.push(ok(name, `credential_process prints credentials; endpoint ${entries!.get('endpoint_url')}`));
    }
  }
  return checks;
}

function runShell(command: string, env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('/bin/sh', ['-c', command], { env, encoding: 'utf8', timeout: HELPER_TIMEOUT_MS });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? r.error.message : '') };
}
