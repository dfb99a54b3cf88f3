import { ServerFramer, type ServerFrameSink } from '../../../../gateway/src/protocols/postgres/server-framer';

const msg = (type: string, body: string | Buffer): Buffer => {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeInt32BE(b.length + 4, 1);
  return Buffer.concat([head, b]);
};

/** A sink that collects frames, wants every body, and drops `E` messages replacing them with `replacement`. */
function harness(options: { drop?: string; replacement?: Buffer } = {}) {
  const frames: { type: string; body: string }[] = [];
  let framer: ServerFramer;
  const sink: ServerFrameSink = {
    wantsBody: () => true,
    drops: (type) => options.drop !== undefined && String.fromCharCode(type) === options.drop,
    frame: (type, body) => {
      frames.push({ type: String.fromCharCode(type), body: body.toString() });
      if (options.drop !== undefined && String.fromCharCode(type) === options.drop && options.replacement) framer.insert(options.replacement);
    },
    malformed: () => frames.push({ type: 'malformed', body: '' }),
    stopped: false,
  };
  framer = new ServerFramer(sink);
  return { framer, frames };
}

const stream = Buffer.concat([msg('T', 'rowdesc'), msg('D', 'row1'), msg('D', ''), msg('C', 'SELECT 1\0'), msg('E', 'server error'), msg('Z', 'I')]);

function feed(framer: ServerFramer, bytes: Buffer, size: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    const o = framer.push(bytes.subarray(i, i + size));
    if (o !== undefined) out.push(o);
  }
  return Buffer.concat(out);
}

describe('ServerFramer', () => {
  test.each([1, 2, 3, 5, 7, 1000])('fed %i byte(s) at a time: the same frames, and the client gets the bytes unchanged', (size) => {
    const { framer, frames } = harness();
    expect(feed(framer, stream, size)).toEqual(stream);
    expect(frames.map((f) => f.type)).toEqual(['T', 'D', 'D', 'C', 'E', 'Z']);
    expect(frames.map((f) => f.body)).toEqual(['rowdesc', 'row1', '', 'SELECT 1\0', 'server error', 'I']);
    expect(framer.atBoundary).toBe(true);
  });

  test.each([1, 2, 4, 6, 1000])('fed %i byte(s) at a time: a dropped message is replaced in place, nothing of it leaks', (size) => {
    const replacement = msg('E', 'gateway refusal');
    const { framer } = harness({ drop: 'E', replacement });
    const expected = Buffer.concat([msg('T', 'rowdesc'), msg('D', 'row1'), msg('D', ''), msg('C', 'SELECT 1\0'), replacement, msg('Z', 'I')]);
    expect(feed(framer, stream, size)).toEqual(expected);
  });

  test('between chunks in the middle of a message the stream is not at a boundary', () => {
    const { framer } = harness();
    framer.push(stream.subarray(0, 8));
    expect(framer.atBoundary).toBe(false);
    framer.push(stream.subarray(8, msg('T', 'rowdesc').length));
    expect(framer.atBoundary).toBe(true);
  });

  test('a length below 4 is malformed: the whole messages before it still go', () => {
    const { framer, frames } = harness();
    const bad = Buffer.concat([msg('C', 'ok\0'), Buffer.from([0x44, 0, 0, 0, 3])]);
    expect(framer.push(bad)).toBeUndefined();
    expect(frames.map((f) => f.type)).toEqual(['C', 'malformed']);
  });
});
