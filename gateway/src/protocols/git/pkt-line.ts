/**
 * Git's pkt-line framing (gitprotocol-common(5)): a 4-hex-digit length that counts itself, then
 * the payload. `0000` flush, `0001` delimiter and `0002` response-end carry no payload; `0003` is
 * invalid; the longest packet is 65520 bytes (65516 of payload).
 *
 * The framer is fed arbitrary chunks (down to one byte at a time) and yields whole packets; it
 * never reads past the packet asked for, so a caller can stop at the end of a command list and
 * take what follows (the pack) raw with `rest()`.
 */

export const MAX_PKT_LEN = 65520;

export type PktLine =
  | { readonly type: 'data'; readonly payload: Buffer }
  | { readonly type: 'flush' }
  | { readonly type: 'delim' }
  | { readonly type: 'response-end' };

/** Malformed framing: the client's bytes cannot be read as pkt-lines. */
export class PktLineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PktLineError';
  }
}

const HEX = /^[0-9a-fA-F]{4}$/;

export class PktLineFramer {
  private buf: Buffer = Buffer.alloc(0);
  private off = 0;
  /** Bytes consumed by the packets read so far (the offset of `rest()` in the whole stream). */
  consumed = 0;

  feed(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const pending = this.buf.subarray(this.off);
    this.buf = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    this.off = 0;
  }

  /** The next whole packet, or undefined when more bytes are needed. Throws PktLineError on bad framing. */
  read(): PktLine | undefined {
    const avail = this.buf.length - this.off;
    if (avail < 4) return undefined;
    const head = this.buf.toString('latin1', this.off, this.off + 4);
    if (!HEX.test(head)) throw new PktLineError(`bad pkt-line length ${JSON.stringify(head)}`);
    const len = parseInt(head, 16);
    if (len === 0 || len === 1 || len === 2) {
      this.advance(4);
      return len === 0 ? { type: 'flush' } : len === 1 ? { type: 'delim' } : { type: 'response-end' };
    }
    if (len === 3) throw new PktLineError('pkt-line length 0003 is invalid');
    if (len > MAX_PKT_LEN) throw new PktLineError(`pkt-line length ${len} exceeds ${MAX_PKT_LEN}`);
    if (avail < len) return undefined;
    const payload = Buffer.from(this.buf.subarray(this.off + 4, this.off + len));
    this.advance(len);
    return { type: 'data', payload };
  }

  /** The bytes fed but not read as packets. */
  rest(): Buffer {
    return this.buf.subarray(this.off);
  }

  private advance(n: number): void {
    this.off += n;
    this.consumed += n;
  }
}

/** A data packet's text with one trailing LF removed (senders SHOULD end text lines with LF). */
export function pktText(payload: Buffer): string {
  const end = payload.length > 0 && payload[payload.length - 1] === 0x0a ? payload.length - 1 : payload.length;
  return payload.toString('utf8', 0, end);
}

/** Encodes one data packet. */
export function encodePktLine(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const len = body.length + 4;
  if (len > MAX_PKT_LEN) throw new RangeError(`pkt-line payload of ${body.length} bytes is too long`);
  return Buffer.concat([Buffer.from(len.toString(16).padStart(4, '0'), 'latin1'), body]);
}

export const FLUSH_PKT = Buffer.from('0000', 'latin1');
export const DELIM_PKT = Buffer.from('0001', 'latin1');
