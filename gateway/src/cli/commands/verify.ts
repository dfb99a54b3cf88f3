import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FsLogSink } from '../../recording/sinks/fs/fs-sink';
import { formatVerifyResult, verifyLog } from '../../recording/verify';
import type { CommandIO } from '../io';
import { loadConfigFile } from '../../config/load';
import { createSink } from '../../server/sinks';

/**
 * `gatehouse verify PATH [--trust-key FILE]... [--json]`: checks digests, segments and every
 * session's hash chain; names the first broken link. Exit 0 when intact, 1 when not, 2 on usage.
 */
export async function verifyCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { 'trust-key': { type: 'string', multiple: true }, json: { type: 'boolean', default: false }, config: { type: 'string' } },
    allowPositionals: true,
  });
  const path = positionals[0];
  if ((!path && !values.config) || positionals.length > 1 || (path && values.config)) {
    io.err('usage: gatehouse verify PATH | --config FILE  [--trust-key FILE]... [--json]');
    return 2;
  }
  if (path && (!existsSync(path) || !statSync(path).isDirectory())) {
    io.err(`gatehouse verify: ${path} is not a log directory`);
    return 2;
  }
  // --config verifies the configured log store wherever it is (a bucket, a container).
  const sink = path ? new FsLogSink(path) : await createSink(loadConfigFile(values.config!).config.recording.sink);
  const trustedKeys = (values['trust-key'] ?? []).map((file) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`cannot read trusted key ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  });
  const result = await verifyLog(sink, trustedKeys.length > 0 ? { trustedKeys } : {});
  if (values.json) io.out(JSON.stringify(result, null, 2));
  else io.out(formatVerifyResult(result));
  return result.ok ? 0 : 1;
}
