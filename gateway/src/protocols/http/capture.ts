import zlib from 'node:zlib';

/**
 * Keeps the first `cap` bytes of a body and counts the rest. The record stores what was kept and
 * marks `truncated` with the total size, so a reader knows the body went on.
 */
export class BodyCapture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  total = 0;

  constructor(readonly cap: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const room = this.cap - this.kept;
    if (room <= 0) return;
    const piece = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.chunks.push(piece);
    this.kept += piece.length;
  }

  /** True once nothing more will be kept. */
  get full(): boolean {
    return this.kept >= this.cap;
  }

  bytes(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.kept);
  }

  /** The record's body block: text for textual types, base64 otherwise. */
  describe(contentType: string | undefined): Record<string, unknown> {
    const truncated = this.total > this.kept;
    if (this.total === 0) return { size: 0 };
    const data = this.bytes();
    const block: Record<string, unknown> = { size: this.total, captured: this.kept };
    if (truncated) block.truncated = true;
    if (isTextual(contentType)) block.text = data.toString('utf8');
    else block.base64 = data.toString('base64');
    return block;
  }
}

const TEXTUAL = /^(text\/|application\/(json|[^;]*\+json|x-ndjson|xml|[^;]*\+xml|x-www-form-urlencoded|javascript|graphql)|multipart\/form-data)/i;

export function isTextual(contentType: string | undefined): boolean {
  // No content type: most API bodies are JSON; a binary body is still kept, as replacement characters.
  return contentType === undefined || TEXTUAL.test(contentType.trim());
}

export type DecodedSink = (chunk: Buffer) => void;

/**
 * Decodes a (possibly compressed) response body for the record, beside the bytes the client gets
 * unchanged. Chunks are decoded as they arrive (SYNC_FLUSH), so a gzip'd SSE stream is parsed
 * incrementally too. Decoding failures never disturb the client's stream: they are reported in the
 * record (`decodeError`).
 */
export class ResponseDecoder {
  private readonly inflater: zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined;
  private ended: Promise<void> | undefined;
  decodeError: string | undefined;
  /** Set when the body's encoding is one the gateway cannot read (it narrowed Accept-Encoding, but upstream may ignore it). */
  readonly unsupported: string | undefined;

  constructor(contentEncoding: string | undefined, private readonly sink: DecodedSink) {
    const enc = contentEncoding?.trim().toLowerCase();
    const opts = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
    if (enc === undefined || enc === '' || enc === 'identity') this.inflater = undefined;
    else if (enc === 'gzip' || enc === 'x-gzip') this.inflater = zlib.createGunzip(opts);
    else if (enc === 'deflate') this.inflater = zlib.createInflate(opts);
    else if (enc === 'br') this.inflater = zlib.createBrotliDecompress({ finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
    else {
      this.inflater = undefined;
      this.unsupported = enc;
    }
    if (this.inflater !== undefined) {
      this.inflater.on('data', sink);
      this.inflater.on('error', (e: Error) => {
        this.decodeError = e.message;
      });
    }
  }

  write(chunk: Buffer): void {
    if (this.unsupported !== undefined || this.decodeError !== undefined) return;
    if (this.inflater === undefined) this.sink(chunk);
    else this.inflater.write(chunk);
  }

  /** True when `end()` has decoded output still to wait for (identity bodies never do). */
  get pending(): boolean {
    return this.inflater !== undefined && this.decodeError === undefined;
  }

  /** Resolves once every decoded byte has reached the sink. */
  end(): Promise<void> {
    if (this.ended !== undefined) return this.ended;
    const inflater = this.inflater;
    if (inflater === undefined || this.decodeError !== undefined) return (this.ended = Promise.resolve());
    this.ended = new Promise<void>((resolve) => {
      const done = (): void => resolve();
      inflater.once('end', done);
      inflater.once('error', done);
      inflater.once('close', done);
      inflater.end();
    });
    return this.ended;
  }

  /** Stops decoding (client abort, upstream error): nothing more reaches the sink. */
  abort(): void {
    this.inflater?.removeAllListeners('data');
    this.inflater?.on('error', () => {});
    this.inflater?.destroy();
  }
}
