/**
 * Frames the server's byte stream into messages for the gateway, without re-encoding it: bytes go
 * to the client as the ranges of the chunk they arrived in (one write per chunk), and only the
 * bodies the sink asks for are assembled. The sink may drop a message (the server's error for a
 * refused statement's stand-in) and put its own bytes in that place (`insert`).
 *
 * Pure apart from the sink: tests feed it byte by byte.
 */
export interface ServerFrameSink {
  /** Whether this message's body is needed; otherwise it is only forwarded. */
  wantsBody(type: number, length: number): boolean;
  /** Whether this message is dropped from the client's stream (decided at its header). */
  drops(type: number): boolean;
  /** One complete message; `end` is its end offset in the current chunk. May throw: the chunk is abandoned. */
  frame(type: number, body: Buffer, end: number): void;
  /** A header whose length is below 4: the stream cannot be framed any more. */
  malformed(): void;
  /** True once the connection is closed: framing stops. */
  readonly stopped: boolean;
}

const EMPTY = Buffer.alloc(0);

export class ServerFramer {
  private readonly hdr = Buffer.alloc(5);
  private hdrFill = 0;
  private type = 0;
  private remaining = 0;
  private collect = false;
  private parts: Buffer[] = [];
  private dropping = false;
  /** The chunk being framed, and how much of it is already queued for the client (or dropped). */
  private chunk: Buffer = EMPTY;
  private written = 0;
  /** Client-bound pieces of the current chunk, written once at its end. */
  private readonly out: Buffer[] = [];

  constructor(private readonly sink: ServerFrameSink) {}

  /**
   * Frames one chunk; returns what goes to the client for it (undefined when nothing), or
   * undefined when the sink stopped or found the stream malformed. Throws what the sink throws
   * (then nothing of the chunk is returned).
   */
  push(chunk: Buffer): Buffer | undefined {
    const sink = this.sink;
    this.chunk = chunk;
    this.written = 0;
    const n = chunk.length;
    let pos = 0;
    try {
      while (pos < n) {
        if (this.hdrFill < 5) {
          let type: number;
          let len: number;
          let held = 0;
          if (this.hdrFill === 0 && n - pos >= 5) {
            type = chunk[pos]!;
            len = chunk.readInt32BE(pos + 1);
            pos += 5;
          } else {
            // Header bytes held back from earlier chunks (never forwarded yet) count from here.
            held = pos === 0 ? this.hdrFill : 0;
            const take = Math.min(5 - this.hdrFill, n - pos);
            chunk.copy(this.hdr, this.hdrFill, pos, pos + take);
            this.hdrFill += take;
            pos += take;
            if (this.hdrFill < 5) break;
            type = this.hdr[0]!;
            len = this.hdr.readInt32BE(1);
          }
          if (len < 4) {
            // Whole messages before it still go (the sink's error follows them at a boundary).
            this.flushUpTo(Math.max(0, pos - (5 - held)));
            sink.malformed();
            return this.stop();
          }
          this.type = type;
          this.remaining = len - 4;
          this.collect = sink.wantsBody(type, len - 4);
          this.hdrFill = 5;
          this.dropping = sink.drops(type);
          if (this.dropping) {
            this.flushUpTo(Math.max(0, pos - (5 - held)));
            this.written = pos;
          } else if (held > 0) {
            this.out.push(Buffer.from(this.hdr.subarray(0, held)));
          }
          if (this.remaining === 0) {
            this.hdrFill = 0;
            this.dropping = false;
            sink.frame(type, EMPTY, pos);
            if (sink.stopped) return this.stop();
            continue;
          }
        }
        const take = Math.min(this.remaining, n - pos);
        let body: Buffer | undefined;
        if (this.collect) {
          if (take === this.remaining && this.parts.length === 0) body = chunk.subarray(pos, pos + take);
          else this.parts.push(Buffer.from(chunk.subarray(pos, pos + take)));
        }
        pos += take;
        this.remaining -= take;
        if (this.dropping) this.written = pos;
        if (this.remaining === 0) {
          this.hdrFill = 0;
          this.dropping = false;
          if (this.collect && body === undefined) {
            body = Buffer.concat(this.parts);
            this.parts = [];
          }
          sink.frame(this.type, body ?? EMPTY, pos);
          if (sink.stopped) return this.stop();
        }
      }
    } catch (e) {
      this.out.length = 0;
      this.chunk = EMPTY;
      throw e;
    }
    // A header split across chunks is held back until it is complete (it may start a message to drop).
    const tail = this.hdrFill > 0 && this.hdrFill < 5 ? Math.min(this.hdrFill, n) : 0;
    this.flushUpTo(n - tail);
    this.chunk = EMPTY;
    return this.take();
  }

  /** Queues the current chunk up to `end` for the client, so gateway bytes can follow at exactly this point. */
  flushUpTo(end: number): void {
    if (end > this.written) {
      this.out.push(this.chunk.subarray(this.written, end));
      this.written = end;
    }
  }

  /** Gateway bytes at the current point of the client's stream (after a flushUpTo, or in a dropped message's place). */
  insert(bytes: Buffer): void {
    this.out.push(bytes);
  }

  /** What is queued for the client, joined; the queue is emptied. */
  take(): Buffer | undefined {
    const out = this.out;
    if (out.length === 0) return undefined;
    const joined = out.length === 1 ? out[0]! : Buffer.concat(out);
    out.length = 0;
    return joined;
  }

  /**
   * Whether a gateway message may follow what was forwarded: false between chunks in the middle
   * of a message (part of it may already be with the client).
   */
  get atBoundary(): boolean {
    return !(this.hdrFill !== 0 && this.chunk === EMPTY);
  }

  private stop(): undefined {
    this.chunk = EMPTY;
    this.out.length = 0;
    return undefined;
  }
}
