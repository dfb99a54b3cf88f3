import { createHash } from 'node:crypto';
import { Token } from 'cdktf';
import type { Construct } from 'constructs';

/**
 * A globally unique Azure resource name (storage accounts and key vaults share one namespace per
 * cloud): a readable stem and a short hash of the construct path, so two stacks never collide
 * and a re-synth never renames.
 */
export function uniqueName(scope: Construct, stem: string, maxLength: number): string {
  const hash = pathHash(scope);
  const clean = stem.toLowerCase().replace(/[^a-z0-9]/g, '');
  return `${clean.slice(0, maxLength - hash.length)}${hash}`;
}

/** Throws unless `value` is a token or matches `pattern`. */
export function checkName(owner: string, what: string, value: string, pattern: RegExp, expected: string): void {
  if (Token.isUnresolved(value)) return;
  if (!pattern.test(value)) throw new Error(`${owner}: ${what} must be ${expected}, got "${value}"`);
}

/** Eight hex digits that identify a construct's place in the tree. */
export function pathHash(scope: Construct): string {
  return createHash('sha256').update(scope.node.path).digest('hex').slice(0, 8);
}
