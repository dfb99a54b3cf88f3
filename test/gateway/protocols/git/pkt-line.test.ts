import { encodePktLine, FLUSH_PKT, PktLineError, PktLineFramer, pktText, type PktLine } from '../../../../gateway/src/protocols/git/pkt-line';

/** Feeds `bytes` one byte at a time, reading every packet as soon as it is whole. */
function byteByByte(bytes: Buffer): PktLine[] {
  const f = new PktLineFramer();
  const out: PktLine[] = [];
  for (const b of bytes) {
    f.feed(Buffer.from([b]));
    for (let p = f.read(); p !== undefined; p = f.read()) out.push(p);
  }
  return out;
}

describe('pkt-line framer', () => {
  it('yields data, flush, delim and response-end packets fed one byte at a time', () => {
    const bytes = Buffer.concat([encodePktLine('command=fetch\n'), Buffer.from('0001'), encodePktLine('want x'), Buffer.from('0004'), FLUSH_PKT, Buffer.from('0002')]);
    const got = byteByByte(bytes).map((p) => (p.type === 'data' ? `data:${pktText(p.payload)}` : p.type));
    expect(got).toEqual(['data:command=fetch', 'delim', 'data:want x', 'data:', 'flush', 'response-end']);
  });

  it('does not read past the packet asked for: the rest (a pack) stays raw', () => {
    const f = new PktLineFramer();
    f.feed(Buffer.concat([encodePktLine('a'), FLUSH_PKT, Buffer.from('PACK\0\0\0\x02')]));
    expect(f.read()).toEqual({ type: 'data', payload: Buffer.from('a') });
    expect(f.read()).toEqual({ type: 'flush' });
    expect(f.consumed).toBe(9);
    expect(f.rest().toString('latin1')).toBe('PACK\0\0\0\x02');
  });

  it('refuses lengths that are not hex, 0003, or longer than 65520', () => {
    for (const bad of ['00g1', '0003', 'fff1', ' 004']) {
      const f = new PktLineFramer();
      f.feed(Buffer.from(bad + 'xxxxxxxx'));
      expect(() => f.read()).toThrow(PktLineError);
    }
    const f = new PktLineFramer();
    f.feed(Buffer.from('fff0'));
    expect(f.read()).toBeUndefined(); // the longest valid packet: waits for its bytes
  });

  it('encodes packets with their own length counted, and refuses one too long', () => {
    expect(encodePktLine('hi\n').toString()).toBe('0007hi\n');
    expect(() => encodePktLine(Buffer.alloc(65517))).toThrow(RangeError);
    expect(encodePktLine(Buffer.alloc(65516)).length).toBe(65520);
  });
});
