import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FsLogSink } from '../../recording/sinks/fs/fs-sink';
import { fetchTrustedKey, isManagedKeyReference } from '../../recording/signers/trusted-key';
import { formatVerifyResult, verifyLog, type TrustedKey, type WitnessedHead } from '../../recording/verify';
import { FileWitness } from '../../recording/witness';
import { StateRecordingWitness } from '../../state/recording-witness';
import { createStateStore } from '../../state/store';
import type { CommandIO } from '../io';
import { loadConfigFile } from '../../config/load';
import { createSink } from '../../server/sinks';
import { COMMAND_HELP } from '../usage';

const USAGE = 'usage: gatehouse verify PATH | --config FILE  [--trust-key FILE|KEY]... [--key-endpoint URL] [--witness STATE] [--allow-unsealed-tail] [--json]';

/**
 * `gatehouse verify PATH [--trust-key FILE|KEY]... [--witness STATE] [--allow-unsealed-tail] [--json]`.
 * A `--trust-key` of `aws-kms:…`, `azure-kv-key:…` or `gcp-kms:…` is fetched from its service with
 * the caller's credentials and pinned to that exact key version.
 * Exit 0 when the log is proven complete and intact, 1 when not, 2 on usage.
 */
export async function verifyCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'trust-key': { type: 'string', multiple: true },
      'key-endpoint': { type: 'string' },
      json: { type: 'boolean', default: false },
      config: { type: 'string' },
      witness: { type: 'string' },
      'allow-unsealed-tail': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    io.out(COMMAND_HELP.verify);
    return 0;
  }
  const path = positionals[0];
  if ((!path && !values.config) || positionals.length > 1 || (path && values.config)) {
    io.err(USAGE);
    return 2;
  }
  if (path && (!existsSync(path) || !statSync(path).isDirectory())) {
    io.err(`gatehouse verify: ${path} is not a log directory`);
    return 2;
  }
  // --config verifies the configured log store wherever it is (a bucket, a container).
  const sink = path ? new FsLogSink(path) : await createSink(loadConfigFile(values.config!).config.recording.sink);
  const trustedKeys: Array<string | TrustedKey> = [];
  for (const spec of values['trust-key'] ?? []) {
    if (isManagedKeyReference(spec)) {
      try {
        trustedKeys.push(await fetchTrustedKey(spec, values['key-endpoint'] !== undefined ? { endpoint: values['key-endpoint'] } : {}));
      } catch (e) {
        io.err(`gatehouse verify: cannot fetch the trusted key ${spec}: ${(e as Error).message}`);
        return 2;
      }
      continue;
    }
    try {
      trustedKeys.push(readFileSync(spec, 'utf8'));
    } catch (e) {
      throw new Error(`cannot read trusted key ${spec}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  let witness: Map<string, WitnessedHead> | undefined;
  if (values.witness !== undefined) {
    try {
      witness = await readWitness(values.witness);
    } catch (e) {
      io.err(`gatehouse verify: cannot read the witness ${redactUrl(values.witness)}: ${(e as Error).message}`);
      return 2;
    }
  }
  const result = await verifyLog(sink, {
    ...(trustedKeys.length > 0 ? { trustedKeys } : {}),
    ...(witness ? { witness } : {}),
    allowUnsealedTail: values['allow-unsealed-tail'],
  });
  if (values.json) io.out(JSON.stringify(result, null, 2));
  else io.out(formatVerifyResult(result));
  return result.ok ? 0 : 1;
}

/** A postgres:// URL or an embedded state directory (the state database), else a witness file. */
async function readWitness(spec: string): Promise<Map<string, WitnessedHead>> {
  const isUrl = /^postgres(ql)?:\/\//i.test(spec);
  if (!isUrl && !existsSync(spec)) throw new Error('no such file or directory');
  if (isUrl || statSync(spec).isDirectory()) {
    const store = createStateStore(isUrl ? { url: spec, embeddedPath: 'memory' } : { embeddedPath: spec });
    try {
      return await new StateRecordingWitness(store, { readOnly: true }).heads();
    } finally {
      await store.close();
    }
  }
  return new FileWitness(spec).heads();
}

function redactUrl(s: string): string {
  return s.replace(/(postgres(?:ql)?:\/\/)[^@\s/]*@/gi, '$1***@');
}
