import { readFileSync } from 'node:fs';
import { formatProblems, parseConfig, soundSections, type ConfigProblem } from '../../config/load';
import type { GatehouseConfig } from '../../config/schema';
import { preflight } from '../../server/preflight';
import { createConfiguredSecrets } from '../../server/secret-providers';
import { devSigningKeyPath } from '../../server/signing-key';
import type { CommandIO } from '../io';

/**
 * `gatehouse check-config FILE`: exit 0 when valid (warnings printed), 1 with every problem listed.
 * Runs the schema and cross-field rules, then the same resource checks `gatehouse run` makes
 * before it listens (server/preflight.ts), and reports all problems in one list.
 */
export async function checkConfigCommand(args: string[], io: CommandIO): Promise<number> {
  const file = args[0];
  if (!file || args.length > 1 || file.startsWith('-')) {
    io.err('usage: gatehouse check-config FILE');
    return 2;
  }
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (e) {
    io.err(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    return 1;
  }
  const result = parseConfig(source);
  const config = result.ok ? result.config : result.config;
  const problems: ConfigProblem[] = result.ok ? [] : [...result.problems];
  if (config !== undefined) {
    problems.push(...(await resourceProblems(config)));
  } else {
    // The schema refused some sections: check the resources of the sound ones in this pass too.
    const partial = soundSections(source);
    if (partial !== undefined) {
      for (const p of await resourceProblems(partial.config)) if (partial.sound.has(p.path.split('.')[0]!)) problems.push(p);
    }
  }
  if (problems.length > 0 || config === undefined) {
    io.err(formatProblems(file, problems));
    return 1;
  }
  for (const w of result.ok ? result.warnings : []) io.err(`warning: ${w}`);
  io.out(`${file}: valid (${config.mode} mode, ${config.connections.length} connection(s), ${config.identity.issuers.length} issuer(s))`);
  return 0;
}

/** Everything `run` checks before it listens, beyond the schema (server/preflight.ts). */
async function resourceProblems(config: GatehouseConfig): Promise<ConfigProblem[]> {
  const { secrets, close } = await createConfiguredSecrets(config);
  try {
    const checked = await preflight(config, { secrets, devSigningKeyPath: devSigningKeyPath(config) });
    checked.policy?.close();
    return [...checked.problems];
  } finally {
    await close();
  }
}
