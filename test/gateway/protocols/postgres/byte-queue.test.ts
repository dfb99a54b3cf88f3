import { ByteQueue } from '../../../../gateway/src/protocols/postgres/byte-queue';

describe('ByteQueue', () => {
  test('a message arriving in many chunks is joined once: bytes copied stay linear in its size', () => {
    const q = new ByteQueue();
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    const total = 8 * 1024 * 1024;
    // The reader's protocol: it looks only once `need` bytes are queued (connection.ts).
    const need = total;
    let taken: Buffer | null = null;
    for (let got = 0; got < total; got += chunk.length) {
      q.push(chunk);
      if (q.length >= need) taken = q.takeAll();
    }
    expect(taken?.length).toBe(total);
    expect(q.copied).toBe(total);
    expect(q.length).toBe(0);
  });

  test('byte by byte, the order is kept and a restored tail comes first', () => {
    const q = new ByteQueue();
    const text = Buffer.from('hello, world');
    for (const b of text) q.push(Buffer.from([b]));
    const all = q.takeAll()!;
    expect(all.toString()).toBe('hello, world');
    q.restore(all.subarray(7));
    q.push(Buffer.from('!'));
    expect(q.takeAll()!.toString()).toBe('world!');
    expect(q.takeAll()).toBeNull();
  });

  test('a single chunk is handed out without a copy', () => {
    const q = new ByteQueue();
    const b = Buffer.from('abc');
    q.push(b);
    expect(q.takeAll()).toBe(b);
    expect(q.copied).toBe(0);
  });
});
