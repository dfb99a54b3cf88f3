import { readFileSync } from 'node:fs';
import { formatProblems, parseConfig } from '../../config/load';
import type { CommandIO } from '../io';

/** `gatehouse check-config FILE`: exit 0 when valid (warnings printed), 1 with every problem listed. */
export async function checkConfigCommand(args: string[], io: CommandIO): Promise<number> {
  const file = args[0];
  if (!file) {
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
  if (!result.ok) {
    io.err(formatProblems(file, result.problems));
    return 1;
  }
  for (const w of result.warnings) io.err(`warning: ${w}`);
  io.out(`${file}: valid (${result.config.mode} mode, ${result.config.connections.length} connection(s), ${result.config.identity.issuers.length} issuer(s))`);
  return 0;
}
