import { createHash } from 'node:crypto';
import { ChunkPool, LineBuffer } from '../../../gateway/src/recording/line-buffer';
import { storedLine } from '../../../gateway/src/recording/chain';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** Appends like the recorder: stage, hash the staged bytes, commit. */
function append(buf: LineBuffer, canonical: string): { hash: string; size: number } {
  const hash = sha(buf.stage(canonical));
  const expected = buf.stagedLineBytes;
  const size = buf.commit(hash);
  expect(size).toBe(expected);
  return { hash, size };
}

describe('LineBuffer', () => {
  it('stores exactly the lines storedLine builds, hashing the canonical bytes', () => {
    const buf = new LineBuffer(new ChunkPool(1024));
    const lines = ['{"seq":0,"payload":{}}', '{"seq":1,"payload":{"text":"héllo — 😀 \\u0000"}}', '{"a":"\u00ff\u0100\uffff"}'];
    let want = '';
    for (const c of lines) {
      const { hash } = append(buf, c);
      expect(hash).toBe(sha(c)); // the hash of the canonical text's UTF-8 bytes, as chain.ts defines
      want += storedLine(c, hash);
    }
    expect(buf.contents().toString('utf8')).toBe(want);
    expect(buf.bytes).toBe(Buffer.byteLength(want));
  });

  it('spans chunks, gives a line longer than a chunk its own, and joins them in order', () => {
    const pool = new ChunkPool(256, 4);
    const buf = new LineBuffer(pool);
    let want = '';
    for (let i = 0; i < 50; i++) {
      // Mixed widths around the chunk size, non-ASCII included, so lines land at every offset.
      const c = JSON.stringify({ i, pad: (i % 3 === 0 ? 'é' : 'x').repeat((i * 37) % 400) });
      want += storedLine(c, append(buf, c).hash);
    }
    expect(buf.contents().equals(Buffer.from(want, 'utf8'))).toBe(true);
    buf.release();
    expect(pool.held).toBe(4); // pooled chunks came back (the oversized ones are not kept)
  });

  it('an uncommitted stage leaves nothing behind', () => {
    const buf = new LineBuffer(new ChunkPool(512));
    const kept = '{"kept":1}';
    const { hash } = append(buf, kept);
    buf.stage('{"refused":"' + 'z'.repeat(300) + '"}');
    expect(buf.bytes).toBe(Buffer.byteLength(storedLine(kept, hash)));
    expect(buf.contents().toString()).toBe(storedLine(kept, hash));
    const next = '{"next":2}';
    const h2 = append(buf, next).hash;
    expect(buf.contents().toString()).toBe(storedLine(kept, hash) + storedLine(next, h2));
  });

  it('recycles chunks between buffers and refuses misuse', () => {
    const pool = new ChunkPool(128, 2);
    const a = new LineBuffer(pool);
    append(a, '{"a":1}');
    a.release();
    expect(pool.held).toBe(1);
    const b = new LineBuffer(pool);
    append(b, '{"b":2}');
    expect(pool.held).toBe(0); // b took the recycled chunk
    expect(b.contents().toString()).toMatch(/^\{"b":2,"hash":"[0-9a-f]{64}"\}\n$/);
    expect(() => b.commit('f'.repeat(64))).toThrow('no staged line');
    expect(() => b.stage('not json')).toThrow('must end with "}"');
    b.stage('{"c":3}');
    expect(() => b.commit('abc')).toThrow('64 hex');
    b.release();
    expect(() => b.stage('{"d":4}')).toThrow('released');
  });
});
