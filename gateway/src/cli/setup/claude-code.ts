import { homedir } from 'node:os';
import { join } from 'node:path';
import { GatehouseError } from '../../errors';
import { readIfExists, type FileChange } from './file-change';

/**
 * Claude Code's settings for a gateway: every request to the gateway's Anthropic connection, the
 * token from `gatehouse token` through `apiKeyHelper` (re-run before the token expires), and no
 * traffic of its own to its vendor (bootstrap, feature flags, telemetry would otherwise go around
 * the gateway).
 */
export const HELPER_TTL_MS = 5 * 60 * 1000;

/**
 * Variables that outrank `apiKeyHelper` or route elsewhere (Claude Code's precedence: cloud
 * providers, then ANTHROPIC_AUTH_TOKEN, then ANTHROPIC_API_KEY, then apiKeyHelper): removed from
 * the settings' `env`, and reported by `doctor` when set in the shell.
 */
export const OVERRIDING_VARIABLES: readonly string[] = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'CLAUDE_CODE_USE_BEDROCK',
  'CLAUDE_CODE_USE_VERTEX',
  'CLAUDE_CODE_USE_FOUNDRY',
  'CLAUDE_CODE_OAUTH_TOKEN',
];

export interface ClaudeCodeSettings {
  /** ANTHROPIC_BASE_URL: the gateway's Anthropic connection. */
  readonly baseUrl: string;
  /** The shell command printing a current token. */
  readonly apiKeyHelper: string;
}

/** `$CLAUDE_CONFIG_DIR/settings.json`, default `~/.claude/settings.json`; `.claude/settings.json` of `cwd` for a project. */
export function claudeSettingsPath(scope: 'user' | 'project', env: NodeJS.ProcessEnv, cwd: string): string {
  if (scope === 'project') return join(cwd, '.claude', 'settings.json');
  return join(env.CLAUDE_CONFIG_DIR || join(env.HOME || homedir(), '.claude'), 'settings.json');
}

/** The settings keys Gatehouse owns, as they must be after setup. */
export function wantedEnv(settings: ClaudeCodeSettings): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: settings.baseUrl,
    CLAUDE_CODE_API_KEY_HELPER_TTL_MS: String(HELPER_TTL_MS),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  };
}

/** Merges the gateway's settings into an existing settings file, every other key kept as it was. */
export function planClaudeCode(path: string, settings: ClaudeCodeSettings): FileChange {
  const before = readIfExists(path);
  let current: Record<string, unknown> = {};
  if (before !== undefined && before.trim() !== '') {
    try {
      current = JSON.parse(before) as Record<string, unknown>;
    } catch {
      throw new GatehouseError('GH_ERR_CLIENT_SETUP', `${path} is not valid JSON: fix or move it, then run setup again`);
    }
    if (current === null || typeof current !== 'object' || Array.isArray(current)) throw new GatehouseError('GH_ERR_CLIENT_SETUP', `${path} does not hold a JSON object`);
  }
  const env = current.env ?? {};
  if (env === null || typeof env !== 'object' || Array.isArray(env)) throw new GatehouseError('GH_ERR_CLIENT_SETUP', `"env" in ${path} is not an object`);
  const nextEnv: Record<string, unknown> = { ...(env as Record<string, unknown>) };
  for (const name of OVERRIDING_VARIABLES) delete nextEnv[name];
  Object.assign(nextEnv, wantedEnv(settings));
  const next = { ...current, apiKeyHelper: settings.apiKeyHelper, env: nextEnv };
  const after = `${JSON.stringify(next, null, 2)}\n`;
  // An unchanged object keeps the file exactly as it was (its own formatting): setup is idempotent.
  const same = before !== undefined && before.trim() !== '' && JSON.stringify(current) === JSON.stringify(next);
  return { path, before, after: same ? before : after };
}

/**
 * What Claude Code would do with these settings, as far as routing goes: the problems that would
 * send its traffic or its credential somewhere other than the gateway. Used by `doctor`.
 */
export function claudeRoutingProblems(settings: Record<string, unknown>, shellEnv: NodeJS.ProcessEnv, expectedBaseUrl: string): string[] {
  const problems: string[] = [];
  const env = (settings.env && typeof settings.env === 'object' ? settings.env : {}) as Record<string, unknown>;
  const effective = (name: string): unknown => env[name] ?? shellEnv[name];
  if (effective('ANTHROPIC_BASE_URL') !== expectedBaseUrl) problems.push(`ANTHROPIC_BASE_URL is ${JSON.stringify(effective('ANTHROPIC_BASE_URL') ?? null)}, not ${expectedBaseUrl}`);
  if (String(effective('CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC') ?? '') !== '1') problems.push('CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC is not 1: Claude Code would contact its vendor directly, around the gateway');
  if (typeof settings.apiKeyHelper !== 'string' || !/\btoken\b/.test(settings.apiKeyHelper)) problems.push('apiKeyHelper does not call gatehouse token');
  for (const name of OVERRIDING_VARIABLES) {
    if (effective(name) !== undefined && effective(name) !== '') problems.push(`${name} is set${env[name] !== undefined ? ' in the settings' : ' in your environment'}: it outranks apiKeyHelper or routes elsewhere; unset it`);
  }
  return problems;
}
