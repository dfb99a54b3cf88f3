import { ByteQueue } from './byte-queue';
import { T } from './messages';

/** What goes upstream for a message the sink looked at: itself (true), nothing (false), or these bytes instead. */
export type Action = boolean | Buffer;

/**
 * The client → server direction's framer. Received bytes are queued (byte-queue.ts: a message is
 * joined once, when complete) and processed in order: every message but COPY data and Flush (which
 * stream through) is handed to the sink whole, and forwarded bytes are collected and written
 * upstream once per processing turn, as ranges of what arrived. When the sink's answer must wait
 * (an approval, a durable record) processing stops there, later bytes are held in order (the
 * client is paused beyond `holdMax`), and processing resumes when the answer comes.
 *
 * Pure apart from the sink: tests feed it byte by byte.
 */
export interface ClientFrameSink {
  /** A whole message (type and body); the answer says what goes upstream for it. */
  message(type: number, body: Buffer): Action | Promise<Action>;
  /** Bytes for the server (one call per processing turn). */
  forward(bytes: Buffer): void;
  /** The Sync that ends a run skipped after a refusal: the server answers it. */
  discardedSync(): void;
  /** Terminate: forwarded, then the connection ends. */
  terminated(): void;
  /** A header the stream cannot be framed past. */
  malformed(detail: string): void;
  /** A message over `maxMessageBytes`, refused at its header before it is read. */
  tooLarge(type: number, bytes: number): void;
  /** The sink threw or its answer failed: nothing of this turn is forwarded. */
  failed(e: unknown): void;
  /** Called after each complete processing turn (the connection may now be idle). */
  settled(): void;
  /** Held bytes passed `holdMax` while an answer is awaited (`true`: pause the client), or the wait ended (`false`: the client may resume). */
  holding(on: boolean): void;
  readonly stopped: boolean;
}

/** COPY data (and Flush) stream through without being assembled. */
const PASSTHROUGH = new Uint8Array(256);
for (const t of [T.CopyData, T.CopyDone, T.CopyFail, T.Flush]) PASSTHROUGH[t] = 1;

export class ClientFramer {
  private readonly queue = new ByteQueue();
  /** Queued bytes processing needs before it can make progress (a whole message, or a header). */
  private need = 0;
  /** Bytes of a streamed-through message still to come. */
  private passRemaining = 0;
  private discarding = false;
  private waiting = false;
  private holdingOn = false;
  private readonly out: Buffer[] = [];

  constructor(
    private readonly sink: ClientFrameSink,
    private readonly maxMessageBytes: number,
    private readonly holdMax: number = 1 << 20,
  ) {}

  /** True while a message's answer is awaited. */
  get busy(): boolean {
    return this.waiting;
  }

  /** From the next message on, skip everything up to and including Sync (as the server does after an error). */
  discardUntilSync(): void {
    this.discarding = true;
  }

  /** Bytes queued in total (tests: copies stay linear). */
  get copied(): number {
    return this.queue.copied;
  }

  push(chunk: Buffer): void {
    const queue = this.queue;
    queue.push(chunk);
    if (this.waiting) {
      if (queue.length > this.holdMax && !this.holdingOn) {
        this.holdingOn = true;
        this.sink.holding(true);
      }
      return;
    }
    if (queue.length < this.need) return;
    this.process();
  }

  clear(): void {
    this.queue.clear();
  }

  private flush(): void {
    const out = this.out;
    if (out.length === 1) this.sink.forward(out[0]!);
    else if (out.length > 1) this.sink.forward(Buffer.concat(out));
    out.length = 0;
  }

  /** Processes queued bytes in order, synchronously, until they run out or an answer must be awaited. */
  private process(): void {
    const sink = this.sink;
    if (sink.stopped) return;
    const out = this.out;
    const buf = this.queue.takeAll();
    this.need = 0;
    if (buf === null) return;
    let pos = 0;
    let batch = 0;
    try {
      while (pos < buf.length) {
        if (this.passRemaining > 0) {
          const take = Math.min(this.passRemaining, buf.length - pos);
          if (this.discarding) {
            if (pos > batch) out.push(buf.subarray(batch, pos));
            batch = pos + take;
          }
          pos += take;
          this.passRemaining -= take;
          continue;
        }
        if (buf.length - pos < 5) {
          this.need = 5;
          break;
        }
        const type = buf[pos]!;
        const len = buf.readInt32BE(pos + 1);
        if (len < 4) {
          out.length = 0;
          return sink.malformed(`invalid message length ${len}`);
        }
        if (PASSTHROUGH[type] === 1) {
          this.passRemaining = len + 1;
          continue;
        }
        if (len + 1 > this.maxMessageBytes) {
          out.length = 0;
          return sink.tooLarge(type, len + 1);
        }
        if (buf.length - pos < len + 1) {
          // Wait for the whole message before looking again: it is then joined once.
          this.need = len + 1;
          break;
        }
        const end = pos + len + 1;
        if (this.discarding) {
          if (pos > batch) out.push(buf.subarray(batch, pos));
          batch = end;
          if (type === T.Sync) {
            this.discarding = false;
            batch = pos;
            sink.discardedSync();
          }
          pos = end;
          continue;
        }
        if (type === T.Terminate) {
          out.push(buf.subarray(batch, end));
          this.flush();
          sink.terminated();
          return;
        }
        const action = sink.message(type, buf.subarray(pos + 5, end));
        if (action instanceof Promise) {
          // Something must wait: send what is decided, hold the rest until this message is.
          if (pos > batch) out.push(buf.subarray(batch, pos));
          this.flush();
          if (end < buf.length) this.queue.restore(buf.subarray(end));
          this.waiting = true;
          const original = buf.subarray(pos, end);
          action.then(
            (a) => {
              this.waiting = false;
              if (sink.stopped) return;
              if (a === true) out.push(original);
              else if (a !== false) out.push(a);
              this.flush();
              this.holdingOn = false;
              sink.holding(false);
              this.process();
            },
            (e: unknown) => {
              this.waiting = false;
              out.length = 0;
              sink.failed(e);
            },
          );
          return;
        }
        if (action !== true) {
          if (pos > batch) out.push(buf.subarray(batch, pos));
          if (action !== false) out.push(action);
          batch = end;
        }
        if (sink.stopped) return;
        pos = end;
      }
    } catch (e) {
      out.length = 0;
      sink.failed(e);
      return;
    }
    if (pos > batch) out.push(buf.subarray(batch, pos));
    this.flush();
    if (pos < buf.length) this.queue.restore(buf.subarray(pos));
    sink.settled();
  }
}
