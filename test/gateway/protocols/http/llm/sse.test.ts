import { SseParser } from '../../../../../gateway/src/protocols/http/llm/sse';

function parseAll(chunks: Buffer[]): [string, string][] {
  const out: [string, string][] = [];
  const p = new SseParser((e, d) => out.push([e, d]));
  for (const c of chunks) p.push(c);
  p.end();
  return out;
}

const STREAM = 'event: message_start\ndata: {"a":"Ünïcödé ✓"}\n\n: comment\nevent: ping\ndata: {"type": "ping"}\n\ndata: line1\ndata: line2\n\nevent: last\r\ndata: {"x":1}\r\n\r\n';
const EXPECTED: [string, string][] = [
  ['message_start', '{"a":"Ünïcödé ✓"}'],
  ['ping', '{"type": "ping"}'],
  ['message', 'line1\nline2'],
  ['last', '{"x":1}'],
];

describe('SseParser', () => {
  it('parses a whole stream', () => {
    expect(parseAll([Buffer.from(STREAM)])).toEqual(EXPECTED);
  });

  it('gives the same events however the bytes are split (every split point, including inside UTF-8 characters and CRLF)', () => {
    const bytes = Buffer.from(STREAM);
    for (let i = 1; i < bytes.length; i++) {
      expect(parseAll([bytes.subarray(0, i), bytes.subarray(i)])).toEqual(EXPECTED);
    }
    const single = [...bytes].map((b) => Buffer.from([b]));
    expect(parseAll(single)).toEqual(EXPECTED);
  });

  it('does not dispatch an event without its terminating blank line', () => {
    expect(parseAll([Buffer.from('event: a\ndata: 1\n\nevent: b\ndata: 2\n')])).toEqual([['a', '1']]);
  });

  it('drops an event larger than its bound instead of growing without end', () => {
    const events: string[] = [];
    const p = new SseParser((_e, d) => events.push(d), 10);
    p.push(Buffer.from('data: ' + 'x'.repeat(50) + '\n\ndata: ok\n\n'));
    p.end();
    expect(events).toEqual(['ok']);
    expect(p.oversized).toBe(1);
  });
});
