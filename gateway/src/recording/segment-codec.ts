import { gunzip, gunzipSync, gzip, gzipSync, constants as zc } from 'node:zlib';
import { promisify } from 'node:util';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/**
 * Chunks up to this size are compressed on the event loop. Measured on the reference VM: gzip of
 * 4 KB costs 29 µs synchronously and 97 µs of CPU through the thread pool (the stream, the hand-off
 * and the callback cost more than the compression), and strict recording writes a small batch
 * every few requests. At 64 KiB the synchronous call holds the loop for about 0.1 ms.
 */
export const SYNC_ENCODE_MAX_BYTES = 64 * 1024;

// Level 1: about three times less CPU than zlib's default 6 for ~20-30 % larger segments. The
// thread pool shares the proxy's cores, and storage is cheaper than request latency.
const GZIP_OPTIONS = { level: zc.Z_BEST_SPEED };

/**
 * Segments are gzip NDJSON. Each flush adds one gzip member; concatenated members are a valid
 * gzip stream. Small chunks are compressed in place, larger ones on the libuv thread pool, so the
 * event loop is never held for long.
 */
export function encodeChunk(bytes: Uint8Array): Promise<Buffer> {
  if (bytes.length <= SYNC_ENCODE_MAX_BYTES) {
    try {
      return Promise.resolve(gzipSync(bytes, GZIP_OPTIONS));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  return gzipAsync(bytes, GZIP_OPTIONS);
}

export interface DecodedSegment {
  readonly lines: string[];
  /** True when the bytes ended inside a gzip member or a line (a crash while appending). */
  readonly tornTail: boolean;
}

/**
 * Decompresses a segment into its lines. With `tolerateTornTail`, a truncated final gzip member
 * or line is dropped and reported instead of failing (only meaningful for undigested segments).
 */
export async function decodeSegment(bytes: Buffer, tolerateTornTail = false): Promise<DecodedSegment> {
  let text: string;
  let torn = false;
  try {
    text = (await gunzipAsync(bytes)).toString('utf8');
  } catch (e) {
    if (!tolerateTornTail) throw e;
    // Sync flush returns what decompresses before the cut instead of throwing on truncation.
    text = gunzipSync(bytes, { finishFlush: zc.Z_SYNC_FLUSH }).toString('utf8');
    torn = true;
  }
  if (text.length === 0) return { lines: [], tornTail: torn };
  const lines = text.split('\n');
  const last = lines.pop();
  if (last !== '') {
    if (!tolerateTornTail) throw new Error('segment does not end with a complete line');
    torn = true;
  }
  return { lines, tornTail: torn };
}
