import { isObjectId, objectFormatOf, zeroId, type ObjectFormat } from './object-id';
import { PktLineError, PktLineFramer, pktText } from './pkt-line';
import { refNameProblem } from './ref-name';

/**
 * The head of a `git-receive-pack` request (gitprotocol-pack(5), "Reference Update Request"):
 *
 *   *PKT-LINE("shallow" SP oid)  PKT-LINE(old SP new SP ref NUL capabilities)  *PKT-LINE(old SP new SP ref)  flush
 *   [ *PKT-LINE(push-option) flush ]   (when the client asked for `push-options`)
 *   [ pack ]                           (absent when every command deletes)
 *
 * decoded as it streams in, so a push can be judged per ref before its pack is read. Signed pushes
 * (`push-cert`) are refused: their certificate would need its own judging.
 */

export type RefCommandKind = 'create' | 'delete' | 'update';

export interface RefCommand {
  readonly oldId: string;
  readonly newId: string;
  readonly ref: string;
  /** From the ids alone; whether an update fast-forwards takes the objects (ancestry). */
  readonly kind: RefCommandKind;
}

export interface ReceivePackRequest {
  readonly commands: readonly RefCommand[];
  /** The capabilities the client asked for, in its order. */
  readonly capabilities: readonly string[];
  readonly objectFormat: ObjectFormat;
  readonly atomic: boolean;
  /** `report-status-v2` when asked for, else `report-status`, else none (the client wants no report). */
  readonly report: 'report-status-v2' | 'report-status' | 'none';
  /** `side-band-64k` or `side-band` when asked for (the report then travels in band 1). */
  readonly sideBand: 'side-band-64k' | 'side-band' | 'none';
  readonly quiet: boolean;
  readonly pushOptions: readonly string[];
  /** Shallow boundaries the client announced. */
  readonly shallow: readonly string[];
  /** Every command deletes: no pack follows. */
  readonly deleteOnly: boolean;
  /** Bytes of the request before the pack (or its end when none follows). */
  readonly headLength: number;
}

export type ReceivePackState =
  | { readonly status: 'incomplete' }
  | { readonly status: 'complete'; readonly request: ReceivePackRequest }
  | { readonly status: 'invalid'; readonly reason: string };

export interface ReceivePackLimits {
  /** @default 10000 */
  readonly maxCommands?: number;
  /** @default 100 */
  readonly maxPushOptions?: number;
}

const INCOMPLETE: ReceivePackState = { status: 'incomplete' };

/** Decodes a receive-pack request head fed in chunks of any size. */
export class ReceivePackDecoder {
  private readonly framer = new PktLineFramer();
  private phase: 'commands' | 'options' = 'commands';
  private state: ReceivePackState = INCOMPLETE;
  private readonly commands: RefCommand[] = [];
  private readonly shallow: string[] = [];
  private readonly options: string[] = [];
  private capabilities: string[] = [];
  private format: ObjectFormat = 'sha1';
  private readonly refs = new Set<string>();
  private readonly maxCommands: number;
  private readonly maxPushOptions: number;

  constructor(limits: ReceivePackLimits = {}) {
    this.maxCommands = limits.maxCommands ?? 10_000;
    this.maxPushOptions = limits.maxPushOptions ?? 100;
  }

  /**
   * Feeds more of the request; returns the state reached (sticky once complete or invalid). Bytes
   * fed after the head is complete are kept for `rest()`.
   */
  feed(chunk: Buffer): ReceivePackState {
    if (this.state.status === 'invalid') return this.state;
    this.framer.feed(chunk);
    if (this.state.status === 'complete') return this.state;
    try {
      this.state = this.step();
    } catch (e) {
      if (!(e instanceof PktLineError)) throw e;
      this.state = { status: 'invalid', reason: e.message };
    }
    return this.state;
  }

  /** After `complete`: the bytes fed beyond the head (the start of the pack). */
  rest(): Buffer {
    return this.framer.rest();
  }

  private step(): ReceivePackState {
    for (;;) {
      const pkt = this.framer.read();
      if (pkt === undefined) return INCOMPLETE;
      if (this.phase === 'options') {
        if (pkt.type === 'flush') return this.finish();
        if (pkt.type !== 'data') return invalid('unexpected special packet among push options');
        if (this.options.length >= this.maxPushOptions) return invalid(`more than ${this.maxPushOptions} push options`);
        const option = pktText(pkt.payload);
        if (/[\x00\n]/.test(option)) return invalid('a push option must not contain NUL or LF');
        this.options.push(option);
        continue;
      }
      if (pkt.type === 'flush') {
        if (this.capabilities.includes('push-options') && this.commands.length > 0) {
          this.phase = 'options';
          continue;
        }
        return this.finish();
      }
      if (pkt.type !== 'data') return invalid('unexpected special packet in the command list');
      const problem = this.line(pkt.payload);
      if (problem !== undefined) return invalid(problem);
    }
  }

  /** One packet of the command list; a problem, or undefined. */
  private line(payload: Buffer): string | undefined {
    const nul = payload.indexOf(0);
    const first = this.commands.length === 0;
    if (nul >= 0 && !first) return 'capabilities after the first command';
    const text = pktText(nul >= 0 ? payload.subarray(0, nul) : payload);
    if (!Buffer.from(text, 'utf8').equals(nul >= 0 ? payload.subarray(0, nul) : stripLf(payload))) return 'a command that is not valid UTF-8';
    if (first && nul >= 0) {
      if (text === 'push-cert') return 'signed pushes (push-cert) are not supported';
      this.capabilities = pktText(payload.subarray(nul + 1)).split(' ').filter((c) => c !== '');
      const format = objectFormatOf(this.capabilities);
      if (format === undefined) return 'an unknown or repeated object-format capability';
      this.format = format;
    }
    if (first && nul < 0 && text.startsWith('shallow ')) {
      const oid = text.slice('shallow '.length);
      if (!isObjectId(oid, 'sha1') && !isObjectId(oid, 'sha256')) return 'a shallow line without an object id';
      this.shallow.push(oid);
      return undefined;
    }
    if (first && nul < 0) return 'the first command carries no capability list';
    const parts = text.split(' ');
    if (parts.length !== 3) return 'a command is not "old new ref"';
    const [oldId, newId, ref] = parts;
    if (!isObjectId(oldId, this.format) || !isObjectId(newId, this.format)) return `a command with an id that is not a ${this.format} object id`;
    if (this.shallow.some((s) => !isObjectId(s, this.format))) return `a shallow line with an id that is not a ${this.format} object id`;
    const refProblem = refNameProblem(ref);
    if (refProblem !== undefined) return `${refProblem}: ${JSON.stringify(ref)}`;
    if (this.refs.has(ref)) return `the ref ${ref} is updated twice`;
    const zero = zeroId(this.format);
    if (oldId === zero && newId === zero) return `the command for ${ref} neither creates nor deletes`;
    if (this.commands.length >= this.maxCommands) return `more than ${this.maxCommands} commands`;
    this.refs.add(ref);
    this.commands.push({ oldId, newId, ref, kind: oldId === zero ? 'create' : newId === zero ? 'delete' : 'update' });
    return undefined;
  }

  private finish(): ReceivePackState {
    const caps = this.capabilities;
    const deleteOnly = this.commands.every((c) => c.kind === 'delete');
    const request: ReceivePackRequest = {
      commands: this.commands,
      capabilities: caps,
      objectFormat: this.format,
      atomic: caps.includes('atomic'),
      ...negotiated(caps),
      quiet: caps.includes('quiet'),
      pushOptions: this.options,
      shallow: this.shallow,
      deleteOnly,
      headLength: this.framer.consumed,
    };
    return { status: 'complete', request };
  }
}

/** How the client wants its answer framed, from its capability list. */
function negotiated(caps: readonly string[]): Pick<ReceivePackRequest, 'report' | 'sideBand'> {
  return {
    report: caps.includes('report-status-v2') ? 'report-status-v2' : caps.includes('report-status') ? 'report-status' : 'none',
    sideBand: caps.includes('side-band-64k') ? 'side-band-64k' : caps.includes('side-band') ? 'side-band' : 'none',
  };
}

/**
 * How a push wants its answer framed, from the request's first bytes alone (its shallow lines and
 * first command, which carries the capabilities): for answering a push refused before its whole
 * command list was read. Undefined when those bytes do not hold a readable first command.
 */
export function peekPushFraming(bytes: Buffer): Pick<ReceivePackRequest, 'report' | 'sideBand'> | undefined {
  const framer = new PktLineFramer();
  framer.feed(bytes);
  try {
    for (let p = framer.read(); p !== undefined; p = framer.read()) {
      if (p.type !== 'data') return undefined;
      const line = pktText(p.payload);
      if (line.startsWith('shallow ')) continue;
      const nul = line.indexOf('\0');
      return nul < 0 ? undefined : negotiated(line.slice(nul + 1).split(' ').filter((c) => c !== ''));
    }
  } catch (e) {
    if (!(e instanceof PktLineError)) throw e;
  }
  return undefined;
}

function invalid(reason: string): ReceivePackState {
  return { status: 'invalid', reason };
}

function stripLf(b: Buffer): Buffer {
  return b.length > 0 && b[b.length - 1] === 0x0a ? b.subarray(0, b.length - 1) : b;
}

/**
 * Decodes a receive-pack request from the bytes read so far. `complete` says they are the whole
 * body: then a head that has not ended is invalid, and so is anything after a delete-only head.
 */
export function decodeReceivePack(bytes: Buffer, complete: boolean, limits?: ReceivePackLimits): ReceivePackState {
  const decoder = new ReceivePackDecoder(limits);
  const state = decoder.feed(bytes);
  if (state.status === 'incomplete' && complete) return invalid('the request ends inside its command list');
  if (state.status === 'complete' && complete && state.request.deleteOnly && decoder.rest().length > 0) return invalid('bytes after a delete-only command list');
  return state;
}
