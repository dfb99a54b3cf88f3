import { GatehouseError } from '../../errors';
import { encodePktLine, FLUSH_PKT, PktLineFramer, pktText } from './pkt-line';
import type { ReceivePackRequest, RefCommand } from './receive-pack';

/**
 * A non-atomic push forwarded without its refused commands. Git's receive-pack applies each ref
 * of such a push on its own, so the gateway does the same: the upstream receives the request with
 * exactly the allowed commands (so what runs upstream is what was judged), each kept byte for
 * byte, the capabilities moved onto the first kept command when the first one was refused, the
 * shallow lines and push options as sent, and the pack as sent (a pack carries objects, not ref
 * updates; objects only a refused ref needed arrive unreferenced). When every kept command is a
 * delete, no pack follows, as receive-pack expects of a delete-only list.
 */
export interface PartialPush {
  /** The commands forwarded, in the client's order. */
  readonly commands: readonly RefCommand[];
  /** The new command list (through its flush, and the push options' section when present). */
  readonly head: Buffer;
  /** Bytes of the whole request as forwarded. */
  readonly size: number;
  /** The request body as forwarded, from the body as received (its head skipped). */
  body(source: AsyncIterable<Buffer>): AsyncIterable<Buffer>;
}

/**
 * `headBytes` are the request's first `push.headLength` bytes (its command list as received),
 * `bodySize` the whole request's size. At least one command must be kept.
 */
export function partialPush(push: ReceivePackRequest, headBytes: Buffer, refused: Iterable<string>, bodySize: number): PartialPush {
  if (headBytes.length !== push.headLength) throw new GatehouseError('GH_ERR_INTERNAL', 'the push head to rewrite is not the one decoded');
  const drop = new Set(refused);
  const framer = new PktLineFramer();
  framer.feed(headBytes);
  const shallow: Buffer[] = [];
  const kept: Buffer[] = [];
  let caps: Buffer | undefined;
  let capsMoved = false;
  for (let p = framer.read(); ; p = framer.read()) {
    if (p === undefined) throw new GatehouseError('GH_ERR_INTERNAL', 'the push head ends inside its command list');
    if (p.type === 'flush') break;
    if (p.type !== 'data') throw new GatehouseError('GH_ERR_INTERNAL', 'a special packet in the push head');
    const payload = p.payload;
    if (caps === undefined && kept.length === 0 && pktText(payload).startsWith('shallow ')) {
      shallow.push(encodePktLine(payload));
      continue;
    }
    let line = payload;
    if (caps === undefined) {
      // The first command carries the capabilities after a NUL (and any LF after them).
      const nul = payload.indexOf(0);
      if (nul < 0) throw new GatehouseError('GH_ERR_INTERNAL', 'the first command of the push carries no capabilities');
      caps = payload.subarray(nul);
      line = payload.subarray(0, nul);
      capsMoved = true;
    }
    const ref = pktText(line).split(' ')[2];
    if (ref === undefined || drop.has(ref)) continue;
    if (capsMoved) {
      line = Buffer.concat([stripLf(line), caps]);
      capsMoved = false;
    }
    kept.push(encodePktLine(line));
  }
  // After the command list's flush: the push options' section, if any, as sent.
  const rest = framer.rest();
  const commands = push.commands.filter((c) => !drop.has(c.ref));
  if (commands.length === 0 || kept.length !== commands.length) throw new GatehouseError('GH_ERR_INTERNAL', 'the commands to forward do not match the push decoded');
  const head = Buffer.concat([...shallow, ...kept, FLUSH_PKT, rest]);
  const withPack = !push.deleteOnly && commands.some((c) => c.kind !== 'delete');
  const packBytes = withPack ? bodySize - push.headLength : 0;
  return {
    commands,
    head,
    size: head.length + packBytes,
    async *body(source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
      yield head;
      if (!withPack) return;
      let skip = push.headLength;
      for await (let chunk of source) {
        if (skip > 0) {
          if (chunk.length <= skip) {
            skip -= chunk.length;
            continue;
          }
          chunk = chunk.subarray(skip);
          skip = 0;
        }
        yield chunk;
      }
    },
  };
}

function stripLf(b: Buffer): Buffer {
  return b.length > 0 && b[b.length - 1] === 0x0a ? b.subarray(0, b.length - 1) : b;
}
