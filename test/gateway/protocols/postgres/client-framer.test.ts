import { ClientFramer, type Action, type ClientFrameSink } from '../../../../gateway/src/protocols/postgres/client-framer';

const msg = (type: string, body: string | Buffer = ''): Buffer => {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeInt32BE(b.length + 4, 1);
  return Buffer.concat([head, b]);
};

/** A sink that records what it is shown and forwarded; `decide` answers per message. */
function harness(decide: (type: string, body: string) => Action | Promise<Action> = () => true, maxMessageBytes = 1 << 20) {
  const seen: string[] = [];
  const forwarded: Buffer[] = [];
  const events: string[] = [];
  const sink: ClientFrameSink = {
    message: (type, body) => {
      const t = String.fromCharCode(type);
      seen.push(`${t}:${body.toString()}`);
      return decide(t, body.toString());
    },
    forward: (b) => forwarded.push(Buffer.from(b)),
    discardedSync: () => events.push('discardedSync'),
    terminated: () => events.push('terminated'),
    malformed: (d) => events.push(`malformed ${d}`),
    tooLarge: (t, n) => events.push(`tooLarge ${String.fromCharCode(t)} ${n}`),
    failed: (e) => events.push(`failed ${String(e)}`),
    settled: () => undefined,
    holding: (on) => events.push(`holding ${on}`),
    stopped: false,
  };
  const framer = new ClientFramer(sink, maxMessageBytes, 64);
  return { framer, seen, forwarded: () => Buffer.concat(forwarded), events };
}

const feed = (framer: ClientFramer, bytes: Buffer, size: number): void => {
  for (let i = 0; i < bytes.length; i += size) framer.push(bytes.subarray(i, i + size));
};

const pipeline = Buffer.concat([msg('P', 'stmt\0select 1\0\0\0'), msg('B', 'bind'), msg('d', 'copy data passes'), msg('E', 'exec'), msg('S'), msg('Q', 'select 2\0')]);

describe('ClientFramer', () => {
  test.each([1, 2, 3, 5, 9, 1000])('fed %i byte(s) at a time: every message but COPY data is shown whole, and all bytes go upstream in order', (size) => {
    const { framer, seen, forwarded } = harness();
    feed(framer, pipeline, size);
    expect(seen).toEqual(['P:stmt\0select 1\0\0\0', 'B:bind', 'E:exec', 'S:', 'Q:select 2\0']);
    expect(forwarded()).toEqual(pipeline);
  });

  test.each([1, 4, 1000])('fed %i byte(s) at a time: replaced and dropped messages, and a skipped run up to Sync', (size) => {
    const replacement = msg('Q', 'fixed');
    const h = harness((t) => {
      if (t === 'P') {
        h.framer.discardUntilSync();
        return replacement;
      }
      return t === 'Q' ? false : true;
    });
    feed(h.framer, pipeline, size);
    expect(h.seen).toEqual(['P:stmt\0select 1\0\0\0', 'Q:select 2\0']);
    // The Parse is replaced; Bind, COPY data, Execute and the Sync are skipped (the server still gets its Sync answered by the sink); the Query is dropped.
    expect(h.forwarded()).toEqual(Buffer.concat([replacement, msg('S')]));
    expect(h.events).toEqual(['discardedSync']);
  });

  test('an answer that must wait holds later bytes in order and pauses past holdMax', async () => {
    let release!: (a: Action) => void;
    const h = harness((t) => (t === 'Q' ? new Promise<Action>((r) => (release = r)) : true));
    h.framer.push(msg('Q', 'wait for me\0'));
    expect(h.framer.busy).toBe(true);
    h.framer.push(msg('B', 'x'.repeat(100)));
    expect(h.events).toEqual(['holding true']);
    expect(h.forwarded().length).toBe(0);
    release(true);
    await new Promise((r) => setImmediate(r));
    expect(h.framer.busy).toBe(false);
    expect(h.events).toEqual(['holding true', 'holding false']);
    expect(h.forwarded()).toEqual(Buffer.concat([msg('Q', 'wait for me\0'), msg('B', 'x'.repeat(100))]));
  });

  test('a message over the limit is refused at its header; a bad length is malformed', () => {
    const big = harness(() => true, 100);
    big.framer.push(msg('Q', 'y'.repeat(200)).subarray(0, 10));
    expect(big.events).toEqual(['tooLarge Q 205']);
    const bad = harness();
    bad.framer.push(Buffer.from([0x51, 0, 0, 0, 2]));
    expect(bad.events).toEqual(['malformed invalid message length 2']);
  });

  test('a large message in many small chunks is joined once (linear)', () => {
    const h = harness(() => true, 8 * 1024 * 1024);
    const big = msg('Q', `${'z'.repeat(4 * 1024 * 1024)}\0`);
    feed(h.framer, big, 4096);
    expect(h.seen).toHaveLength(1);
    expect(h.framer.copied).toBeLessThanOrEqual(big.length);
  });

  test('Terminate is forwarded and ends processing', () => {
    const h = harness();
    h.framer.push(Buffer.concat([msg('X'), msg('Q', 'after\0')]));
    expect(h.events).toEqual(['terminated']);
    expect(h.forwarded()).toEqual(msg('X'));
    expect(h.seen).toEqual([]);
  });
});
