import { gunzipSync } from 'node:zlib';
import { decodeSegment, encodeChunk, SYNC_ENCODE_MAX_BYTES } from '../../../gateway/src/recording/segment-codec';

function lines(count: number, width: number): string {
  let s = '';
  for (let i = 0; i < count; i++) s += `{"seq":${i},"payload":"${'x'.repeat(width)}${i}"}\n`;
  return s;
}

describe('segment codec', () => {
  // Small chunks are compressed on the event loop, large ones on the thread pool: both must write
  // the same format, one gzip member per chunk, readable on its own and concatenated.
  it.each([
    ['a small chunk (compressed in place)', lines(20, 40)],
    ['a chunk at the in-place limit', lines(1, SYNC_ENCODE_MAX_BYTES - 24)],
    ['a chunk just past it', lines(1, SYNC_ENCODE_MAX_BYTES - 23)],
    ['a large chunk (compressed on the thread pool)', lines(2000, 200)],
  ])('%s round-trips as one gzip member', async (_name, text) => {
    const gz = await encodeChunk(Buffer.from(text));
    expect(gz[0]).toBe(0x1f);
    expect(gz[1]).toBe(0x8b);
    expect(gunzipSync(gz).toString('utf8')).toBe(text);
  });

  it('concatenated members of both kinds decode as one segment', async () => {
    const small = lines(3, 10);
    const large = lines(1500, 100);
    expect(Buffer.byteLength(large)).toBeGreaterThan(SYNC_ENCODE_MAX_BYTES);
    const segment = Buffer.concat([await encodeChunk(Buffer.from(small)), await encodeChunk(Buffer.from(large)), await encodeChunk(Buffer.from(small))]);
    const decoded = await decodeSegment(segment);
    expect(decoded.tornTail).toBe(false);
    expect(decoded.lines.join('\n') + '\n').toBe(small + large + small);
  });
});
