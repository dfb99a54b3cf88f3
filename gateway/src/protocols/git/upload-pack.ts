import { isObjectId, objectFormatOf, type ObjectFormat } from './object-id';
import { PktLineError, PktLineFramer, pktText, type PktLine } from './pkt-line';
import { refNameProblem } from './ref-name';

/**
 * A `git-upload-pack` request body, decoded enough to record what a fetch asks for (which objects
 * and refs, sizes, never contents). Protocol v2 (gitprotocol-v2(5)): `command=<name>`, capability
 * lines, a delimiter, the command's arguments, flush. Protocols v0/v1 (gitprotocol-pack(5)):
 * `want <oid> <capabilities>`, more wants, shallow/deepen/filter lines, flush, then haves and `done`.
 */
export interface UploadPackRequest {
  readonly version: 0 | 2;
  /** v2: the command (`fetch`, `ls-refs`, `object-info`, ...); v0/v1: always `fetch`. */
  readonly command: string;
  readonly capabilities: readonly string[];
  readonly objectFormat: ObjectFormat;
  readonly wants: readonly string[];
  /** v2 `want-ref` arguments. */
  readonly wantRefs: readonly string[];
  /** How many `have` lines (their ids are the client's, not worth recording). */
  readonly haves: number;
  readonly done: boolean;
  /** v2 `ls-refs` `ref-prefix` arguments. */
  readonly refPrefixes: readonly string[];
  /** `filter <spec>` (partial clone), when asked. */
  readonly filter?: string;
  /** `deepen <n>`, `deepen-since <t>` or `deepen-not <ref>` lines, as sent. */
  readonly deepen: readonly string[];
}

export type UploadPackDecoded = { readonly ok: true; readonly request: UploadPackRequest } | { readonly ok: false; readonly reason: string };

export interface UploadPackLimits {
  /** @default 100000 */
  readonly maxLines?: number;
}

/** Decodes a whole upload-pack request body; `version` is what the `Git-Protocol` header negotiated. */
export function decodeUploadPack(body: Buffer, version: 0 | 2, limits: UploadPackLimits = {}): UploadPackDecoded {
  const framer = new PktLineFramer();
  framer.feed(body);
  const packets: PktLine[] = [];
  const max = limits.maxLines ?? 100_000;
  try {
    for (let p = framer.read(); p !== undefined; p = framer.read()) {
      if (packets.length >= max) return { ok: false, reason: `more than ${max} lines` };
      packets.push(p);
    }
  } catch (e) {
    if (e instanceof PktLineError) return { ok: false, reason: e.message };
    throw e;
  }
  if (framer.rest().length > 0) return { ok: false, reason: 'the request ends inside a pkt-line' };
  return version === 2 ? decodeV2(packets) : decodeV0(packets);
}

interface Acc {
  wants: string[];
  wantRefs: string[];
  haves: number;
  done: boolean;
  refPrefixes: string[];
  filter?: string;
  deepen: string[];
}

const newAcc = (): Acc => ({ wants: [], wantRefs: [], haves: 0, done: false, refPrefixes: [], deepen: [] });

function decodeV2(packets: readonly PktLine[]): UploadPackDecoded {
  const first = packets[0];
  if (first?.type !== 'data') return fail('a v2 request must start with command=<name>');
  const head = pktText(first.payload);
  if (!head.startsWith('command=') || head.length === 'command='.length) return fail('a v2 request must start with command=<name>');
  const command = head.slice('command='.length);
  if (!/^[a-z][a-z0-9-]*$/.test(command)) return fail('a command name that is not a v2 command');
  let i = 1;
  const capabilities: string[] = [];
  for (; i < packets.length && packets[i].type === 'data'; i++) capabilities.push(pktText((packets[i] as { payload: Buffer }).payload));
  const format = objectFormatOf(capabilities);
  if (format === undefined) return fail('an unknown or repeated object-format capability');
  const acc = newAcc();
  const end = packets[i];
  if (end?.type === 'delim') {
    for (i++; i < packets.length && packets[i].type === 'data'; i++) {
      const problem = argument(pktText((packets[i] as { payload: Buffer }).payload), command, format, acc);
      if (problem !== undefined) return fail(problem);
    }
  }
  if (packets[i]?.type !== 'flush' || i !== packets.length - 1) return fail('a v2 request must end with one flush after its arguments');
  return { ok: true, request: { version: 2, command, capabilities, objectFormat: format, ...acc } };
}

/** One v2 argument; a problem, or undefined. Unknown arguments of known commands are refused. */
function argument(line: string, command: string, format: ObjectFormat, acc: Acc): string | undefined {
  const sp = line.indexOf(' ');
  const name = sp < 0 ? line : line.slice(0, sp);
  const value = sp < 0 ? '' : line.slice(sp + 1);
  if (command === 'ls-refs') {
    if (name === 'ref-prefix' && sp >= 0) return void acc.refPrefixes.push(value);
    if (sp < 0 && (name === 'peel' || name === 'symrefs' || name === 'unborn')) return undefined;
    return `an ls-refs argument this gateway does not know: ${JSON.stringify(name)}`;
  }
  if (command !== 'fetch') return undefined; // other commands (object-info, bundle-uri) are recorded by name only
  switch (name) {
    case 'want':
      if (!isObjectId(value, format)) return 'a want without an object id';
      return void acc.wants.push(value);
    case 'want-ref': {
      const p = refNameProblem(value);
      if (p !== undefined) return `want-ref: ${p}`;
      return void acc.wantRefs.push(value);
    }
    case 'have':
      if (!isObjectId(value, format)) return 'a have without an object id';
      acc.haves++;
      return undefined;
    case 'done':
      acc.done = true;
      return undefined;
    case 'filter':
      acc.filter = value;
      return undefined;
    case 'deepen':
    case 'deepen-since':
    case 'deepen-not':
      acc.deepen.push(line);
      return undefined;
    case 'shallow':
      return isObjectId(value, format) ? undefined : 'a shallow line without an object id';
    case 'thin-pack':
    case 'no-progress':
    case 'include-tag':
    case 'ofs-delta':
    case 'deepen-relative':
    case 'sideband-all':
    case 'wait-for-done':
      return sp < 0 ? undefined : `the fetch argument ${name} takes no value`;
    case 'packfile-uris':
      return undefined;
    default:
      return `a fetch argument this gateway does not know: ${JSON.stringify(name)}`;
  }
}

function decodeV0(packets: readonly PktLine[]): UploadPackDecoded {
  const acc = newAcc();
  let capabilities: string[] = [];
  let format: ObjectFormat = 'sha1';
  let flushes = 0;
  for (const [i, p] of packets.entries()) {
    if (p.type === 'flush') {
      flushes++;
      continue;
    }
    if (p.type !== 'data') return fail('a special packet v0 does not have');
    const line = pktText(p.payload);
    if (i === 0) {
      const m = /^want ([0-9a-f]+)(?: (.*))?$/.exec(line);
      if (m === null) return fail('a v0 request must start with a want');
      capabilities = (m[2] ?? '').split(' ').filter((c) => c !== '');
      const f = objectFormatOf(capabilities);
      if (f === undefined) return fail('an unknown or repeated object-format capability');
      format = f;
    }
    const sp = line.indexOf(' ');
    const name = sp < 0 ? line : line.slice(0, sp);
    const value = sp < 0 ? '' : line.slice(sp + 1);
    if (name === 'want' && flushes === 0) {
      const oid = i === 0 ? value.split(' ')[0] : value;
      if (!isObjectId(oid, format)) return fail('a want without an object id');
      acc.wants.push(oid);
    } else if (name === 'have' && flushes >= 1) {
      if (!isObjectId(value, format)) return fail('a have without an object id');
      acc.haves++;
    } else if (name === 'done' && sp < 0 && flushes >= 1) {
      acc.done = true;
    } else if (flushes === 0 && (name === 'shallow') && isObjectId(value, format)) {
      // a shallow client's boundary: recorded by nothing, checked for form
    } else if (flushes === 0 && (name === 'deepen' || name === 'deepen-since' || name === 'deepen-not')) {
      acc.deepen.push(line);
    } else if (flushes === 0 && name === 'filter') {
      acc.filter = value;
    } else {
      return fail(`a v0 line this gateway does not expect here: ${JSON.stringify(name)}`);
    }
  }
  if (acc.wants.length === 0) return fail('a v0 request without a want');
  return { ok: true, request: { version: 0, command: 'fetch', capabilities, objectFormat: format, ...acc } };
}

function fail(reason: string): UploadPackDecoded {
  return { ok: false, reason };
}
