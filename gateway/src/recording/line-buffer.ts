/**
 * Pending event lines, UTF-8 encoded into off-heap chunks the moment they are appended.
 *
 * Why not keep the line strings until the batch is written: in buffered mode an event waits up to
 * `flushIntervalMs` (200 ms) for its write. As a string it outlives the young-generation
 * collections meanwhile, is copied by each and then promoted, and the old generation fills until a
 * mark-compact runs. Measured at 3.4 k requests/s: about 1 MB promoted per scavenge, and every
 * 2.5 s a major collection with a 28 ms incremental marking step, which set the proxy's p99.
 * Bytes in a Buffer live outside the V8 heap and the strings die young.
 *
 * Encoding here also serves the chain: the canonical line is encoded once, hashed as bytes and
 * completed in place with its `,"hash":"…"}` member, so no second (stored) string is built.
 */

/** `,"hash":"` + 64 hex + `"}` + newline, replacing the canonical line's closing brace. */
const HASH_MEMBER_BYTES = 9 + 64 + 3;
const HASH_OPEN = Buffer.from(',"hash":"', 'latin1');

/** Recycles chunks between batches, so a steady flow of batches allocates nothing. */
export class ChunkPool {
  private readonly free: Buffer[] = [];

  /**
   * @param chunkBytes size of a pooled chunk (a line longer than this gets a chunk of its own)
   * @param keep how many free chunks to hold at most
   */
  constructor(
    readonly chunkBytes: number = 64 * 1024,
    private readonly keep: number = 32,
  ) {}

  take(minBytes: number): Buffer {
    if (minBytes > this.chunkBytes) return Buffer.allocUnsafeSlow(minBytes);
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.chunkBytes);
  }

  give(chunk: Buffer): void {
    if (chunk.length === this.chunkBytes && this.free.length < this.keep) this.free.push(chunk);
  }

  /** Free chunks held (tests). */
  get held(): number {
    return this.free.length;
  }
}

/**
 * One batch's lines. Appending is two steps so a caller can refuse a line after seeing its size
 * without having stored anything: `stage` encodes the canonical line at the tail and returns its
 * bytes (to hash), `commit` completes it with the hash member and a newline and makes it part of
 * the buffer. A staged line that is not committed is overwritten by the next `stage`.
 */
export class LineBuffer {
  /** Filled chunks before the tail, and how many bytes of each are lines. */
  private readonly chunks: Buffer[] = [];
  private readonly chunkUsed: number[] = [];
  private tail: Buffer | undefined;
  /** Committed bytes in `tail`. */
  private used = 0;
  /** Bytes of the staged canonical line (0: nothing staged). */
  private staged = 0;
  private released = false;
  /** Committed bytes over all chunks. */
  bytes = 0;

  constructor(private readonly pool: ChunkPool) {}

  /** Encodes `canonical` (a JSON object's text, ending in `}`) at the tail; returns a view of its bytes. */
  stage(canonical: string): Uint8Array {
    if (this.released) throw new Error('line buffer already released');
    // UTF-8 needs at most 3 bytes per UTF-16 code unit; measure exactly only when that bound does not fit.
    let room = this.tail === undefined ? 0 : this.tail.length - this.used;
    if (room < canonical.length * 3 + HASH_MEMBER_BYTES) {
      const need = Buffer.byteLength(canonical, 'utf8') + HASH_MEMBER_BYTES;
      if (room < need) {
        this.newTail(need);
        room = this.tail!.length;
      }
    }
    const tail = this.tail!;
    const n = tail.write(canonical, this.used, room, 'utf8');
    if (n < 2 || tail[this.used + n - 1] !== 0x7d) throw new Error('a canonical event line must end with "}"');
    this.staged = n;
    return tail.subarray(this.used, this.used + n);
  }

  /** The stored length in bytes of the staged line once committed (hash member and newline included). */
  get stagedLineBytes(): number {
    if (this.staged === 0) throw new Error('no staged line');
    return this.staged - 1 + HASH_MEMBER_BYTES;
  }

  /** Completes the staged line with its hash; returns the stored line's length in bytes. */
  commit(hashHex: string): number {
    const tail = this.tail;
    if (tail === undefined || this.staged === 0) throw new Error('no staged line to commit');
    if (hashHex.length !== 64) throw new Error('an event hash is 64 hex characters');
    let at = this.used + this.staged - 1; // the closing brace becomes the hash member
    at += HASH_OPEN.copy(tail, at);
    at += tail.write(hashHex, at, 64, 'latin1');
    tail[at++] = 0x22; // "
    tail[at++] = 0x7d; // }
    tail[at++] = 0x0a; // newline
    const size = at - this.used;
    this.used = at;
    this.bytes += size;
    this.staged = 0;
    return size;
  }

  /** Every committed byte as one Buffer: a view of the only chunk, or a copy joining several. Valid until `release`. */
  contents(): Buffer {
    if (this.tail === undefined) return Buffer.alloc(0);
    if (this.chunks.length === 0) return this.tail.subarray(0, this.used);
    const parts: Buffer[] = [];
    for (let i = 0; i < this.chunks.length; i++) parts.push(this.chunks[i]!.subarray(0, this.chunkUsed[i]));
    parts.push(this.tail.subarray(0, this.used));
    return Buffer.concat(parts as Uint8Array[], this.bytes);
  }

  /** Hands the chunks back to the pool; the buffer holds nothing afterwards. */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const c of this.chunks) this.pool.give(c);
    if (this.tail !== undefined) this.pool.give(this.tail);
    this.chunks.length = 0;
    this.chunkUsed.length = 0;
    this.tail = undefined;
    this.used = 0;
    this.staged = 0;
  }

  private newTail(minBytes: number): void {
    if (this.tail !== undefined) {
      if (this.used > 0) {
        this.chunks.push(this.tail);
        this.chunkUsed.push(this.used);
      } else this.pool.give(this.tail);
    }
    this.tail = this.pool.take(minBytes);
    this.used = 0;
  }
}
