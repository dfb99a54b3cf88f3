/**
 * The public API of `@gatehouse/gateway` (its package.json `exports`): what a program may import
 * to check a gateway configuration before it deploys it (a platform team's CI, a stack that
 * renders the configuration). The command itself is the package's `gatehouse` bin.
 *
 * Every type named here is declared in this file or in modules without dependencies, so the
 * published declarations need no other package (gateway/build-package.mjs refuses to pack them
 * otherwise) and the package has no dependencies: the bundle is self-contained.
 */
import { parseConfig } from './config/load';

export { ERROR_CODES, GatehouseError, isGatehouseError, type ErrorCode } from './errors';
export { VERSION } from './cli/usage';

/** One problem in a configuration, with its dotted path (e.g. `connections.0.upstream`). */
export interface ConfigCheckProblem {
  readonly path: string;
  readonly message: string;
  /** 1-based line in the YAML source, when known. */
  readonly line?: number;
}

/** What `checkConfig` found: the same schema and cross-field rules `gatehouse check-config` runs. */
export interface ConfigCheck {
  readonly ok: boolean;
  /** Every problem at once; empty when `ok`. */
  readonly problems: readonly ConfigCheckProblem[];
  /** Development shortcuts and other accepted-but-unsafe settings; empty unless `ok`. */
  readonly warnings: readonly string[];
}

/**
 * Validates a YAML configuration without touching files, secrets or the network (the resource
 * checks of `gatehouse check-config FILE` need the deployment's secrets and are left out).
 */
export function checkConfig(source: string): ConfigCheck {
  const result = parseConfig(source);
  return result.ok ? { ok: true, problems: [], warnings: result.warnings } : { ok: false, problems: result.problems, warnings: [] };
}
