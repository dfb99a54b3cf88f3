import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { GatehouseError } from '../errors';
import { packSources, type PackSelection } from './packs';
import type { PolicySource } from './policy-set';

/**
 * Collects the config's `policy` section into named sources for createPolicyEngine / checkPolicies:
 * the inline text first (named `inline`), then each file in order (named by its path as written,
 * so problems point where the user looks), then the selected rule packs (named `pack:<name>`).
 * Relative paths resolve against `baseDir`.
 */
export function readPolicySources(
  policy: { cedar?: string; files?: readonly string[]; packs?: readonly PackSelection[] },
  baseDir = process.cwd(),
): PolicySource[] {
  const sources: PolicySource[] = [];
  if (policy.cedar !== undefined) sources.push({ name: 'inline', text: policy.cedar });
  const unreadable: string[] = [];
  for (const file of policy.files ?? []) {
    try {
      sources.push({ name: file, text: readFileSync(isAbsolute(file) ? file : resolve(baseDir, file), 'utf8') });
    } catch (e) {
      const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : 'error';
      unreadable.push(`${file} (${code})`);
    }
  }
  if (unreadable.length > 0) {
    throw new GatehouseError('GH_ERR_CONFIG_UNREADABLE', `policy files cannot be read: ${unreadable.join(', ')}`, {
      details: { files: unreadable },
    });
  }
  sources.push(...packSources(policy.packs ?? []));
  return sources;
}
