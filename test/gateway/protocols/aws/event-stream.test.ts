import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { EventStreamCodec, type MessageHeaders } from '@smithy/core/event-streams';
import { EventStreamPassThrough, isEventStream } from '../../../../gateway/src/protocols/aws/event-stream';

/**
 * The event-stream pass-through: whole messages out, each after its framing and CRCs are checked
 * (messages encoded by the SDK's own codec), in whatever pieces the bytes arrive; a malformed or
 * truncated stream throws GH_ERR_AWS_EVENT_STREAM_MALFORMED and nothing of the bad message leaves.
 */
const codec = new EventStreamCodec((b) => Buffer.from(b).toString('utf8'), (s) => new Uint8Array(Buffer.from(s, 'utf8')));

function message(type: string, body: string, kind: 'event' | 'exception' = 'event'): Buffer {
  const headers: MessageHeaders =
    kind === 'event'
      ? { ':message-type': { type: 'string' as const, value: 'event' }, ':event-type': { type: 'string' as const, value: type }, ':content-type': { type: 'string' as const, value: 'application/json' }, n: { type: 'integer' as const, value: 7 }, flag: { type: 'boolean' as const, value: true }, blob: { type: 'binary' as const, value: new Uint8Array([1, 2, 3]) }, at: { type: 'timestamp' as const, value: new Date(0) }, id: { type: 'uuid' as const, value: '123e4567-e89b-12d3-a456-426614174000' } }
      : { ':message-type': { type: 'string' as const, value: 'exception' }, ':exception-type': { type: 'string' as const, value: type } };
  return Buffer.from(codec.encode({ headers, body: new Uint8Array(Buffer.from(body)) }));
}

/** Feeds `stream` in pieces of `size` bytes; returns what came out and the pass-through. */
function feed(stream: Buffer, size: number): { out: Buffer; pass: EventStreamPassThrough } {
  const pass = new EventStreamPassThrough();
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length; at += size) out.push(pass.push(stream.subarray(at, at + size)));
  out.push(pass.end());
  return { out: Buffer.concat(out), pass };
}

describe('EventStreamPassThrough', () => {
  const stream = Buffer.concat([message('chunk', '{"bytes":"aGVsbG8="}'), message('chunk', '{"bytes":"d29ybGQ="}'), message('metadata', '{}'), message('ThrottlingException', '{"message":"slow down"}', 'exception')]);

  it.each([1, 7, 64, stream.length])('passes the stream unchanged in pieces of %i bytes, and summarizes it', (size) => {
    const { out, pass } = feed(stream, size);
    expect(out.equals(stream)).toBe(true);
    expect(pass.summary()).toEqual({
      messages: 4,
      bytes: stream.length,
      sha256: createHash('sha256').update(stream).digest('hex'),
      events: { chunk: 2, metadata: 1 },
      exceptions: [{ type: 'ThrottlingException', message: '{"message":"slow down"}' }],
    });
  });

  it('joins a large message once it is whole, not on every piece (copies linear in the stream, not quadratic)', () => {
    const big = message('chunk', 'x'.repeat(1024 * 1024));
    const twice = Buffer.concat([big, big]);
    const { out, pass } = feed(twice, 16 * 1024);
    expect(out.equals(twice)).toBe(true);
    expect(pass.summary()).toMatchObject({ messages: 2, events: { chunk: 2 } });
    // Re-joining all pending bytes on each of the 64 pieces per message would copy about 64 MiB.
    expect(pass.joinedBytes).toBeLessThanOrEqual(2 * twice.length);
    // A broken prelude is still refused as soon as it arrives, before the message it declares.
    const prelude = Buffer.from(big.subarray(0, 12));
    prelude[11] = prelude[11]! ^ 0xff;
    expect(() => new EventStreamPassThrough().push(prelude)).toThrow(/prelude fails its CRC/);
  });

  it('holds a message back until it is whole', () => {
    const pass = new EventStreamPassThrough();
    const first = message('chunk', 'x'.repeat(100));
    expect(pass.push(first.subarray(0, 50)).length).toBe(0);
    expect(pass.push(first.subarray(50)).equals(first)).toBe(true);
  });

  it('refuses a message that fails its CRC; nothing of it leaves', () => {
    const good = message('chunk', 'first');
    const bad = message('chunk', 'second');
    bad[bad.length - 6] ^= 0xff;
    const pass = new EventStreamPassThrough();
    expect(pass.push(good).equals(good)).toBe(true);
    expect(() => pass.push(bad)).toThrow(expect.objectContaining({ code: 'GH_ERR_AWS_EVENT_STREAM_MALFORMED', message: expect.stringMatching(/fails its CRC/) }));
  });

  it('refuses a prelude that fails its CRC, a declared length out of bounds, and a header that overruns its message', () => {
    const prelude = message('chunk', 'a');
    prelude[9] ^= 0xff;
    expect(() => new EventStreamPassThrough().push(prelude)).toThrow(/prelude fails its CRC/);
    // A prelude that checks but declares 32 MiB: refused before any of it is buffered.
    const huge = Buffer.alloc(12);
    huge.writeUInt32BE(32 * 1024 * 1024, 0);
    huge.writeUInt32BE(0, 4);
    huge.writeUInt32BE(crc32(huge.subarray(0, 8)) >>> 0, 8);
    expect(() => new EventStreamPassThrough().push(huge)).toThrow(/declares 33554432 bytes/);
    // A header whose string length runs past the headers: rebuilt with valid CRCs so only the header is wrong.
    const headers = Buffer.from([4, ...Buffer.from(':bad'), 7, 0xff, 0xff]);
    const total = 12 + headers.length + 4;
    const m = Buffer.alloc(total);
    m.writeUInt32BE(total, 0);
    m.writeUInt32BE(headers.length, 4);
    m.writeUInt32BE(crc32(m.subarray(0, 8)) >>> 0, 8);
    headers.copy(m, 12);
    m.writeUInt32BE(crc32(m.subarray(0, total - 4)) >>> 0, total - 4);
    expect(() => new EventStreamPassThrough().push(m)).toThrow(/header value does not fit/);
  });

  it('refuses a stream that ends inside a message', () => {
    const m = message('chunk', 'cut short');
    const pass = new EventStreamPassThrough();
    expect(pass.push(m.subarray(0, m.length - 3)).length).toBe(0);
    expect(() => pass.end()).toThrow(/ended inside a message/);
  });

  it('knows the content type', () => {
    expect(isEventStream('application/vnd.amazon.eventstream')).toBe(true);
    expect(isEventStream('Application/Vnd.Amazon.EventStream; charset=binary')).toBe(true);
    expect(isEventStream('application/json')).toBe(false);
    expect(isEventStream(undefined)).toBe(false);
  });
});
