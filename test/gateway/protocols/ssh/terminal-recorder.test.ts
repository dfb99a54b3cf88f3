import { toAsciicast } from '../../../../gateway/src/admin/console/session-page/terminal';
import { createStreamRedactor } from '../../../../gateway/src/masking/stream-redactor';
import { createReplacement } from '../../../../gateway/src/masking/replacement';
import { builtInDetectors } from '../../../../gateway/src/masking/detectors/index';
import { ChannelTranscript, TRANSCRIPT_TEXT_CAP } from '../../../../gateway/src/protocols/ssh/channel-transcript';
import { TerminalRecorder, type TerminalEvent } from '../../../../gateway/src/protocols/ssh/terminal-recorder';
import { loadScreenText } from '../../../../gateway/src/terminal/screen-text';
import { terminalRecording, recordedChannels } from '../../../../gateway/src/protocols/ssh/terminal-replay';

beforeAll(() => loadScreenText());

function clock(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const masking = {
  createStreamRedactor: () => createStreamRedactor({ detectors: builtInDetectors(), replacement: createReplacement({ kind: 'type_tag' }) }),
};

function texts(events: (TerminalEvent | undefined)[], stream = 'stdout'): string {
  return events
    .filter((e): e is TerminalEvent => e?.type === 'ssh.data' && e.payload.stream === stream)
    .map((e) => (e.payload as { text: string }).text)
    .join('');
}

describe('TerminalRecorder', () => {
  it('decodes a character split between two chunks whole, in the later event, and counts raw bytes', () => {
    const c = clock();
    const rec = new TerminalRecorder(0, c.now, undefined);
    const bytes = Buffer.from('né 日本', 'utf8');
    // Split inside the 3-byte 日 and inside the 2-byte é.
    const a = rec.data('stdout', bytes.subarray(0, 2));
    c.advance(40);
    const b = rec.data('stdout', bytes.subarray(2, 6));
    const d = rec.data('stdout', bytes.subarray(6));
    expect(a?.payload).toEqual({ channel: 0, stream: 'stdout', t: 0, text: 'n', bytes: 2 });
    expect(b?.payload).toEqual({ channel: 0, stream: 'stdout', t: 40, text: 'é ', bytes: 4 });
    expect(texts([a, b, d, ...rec.end()])).toBe('né 日本');
    expect([a, b, d].reduce((n, e) => n + ((e?.payload as { bytes: number }).bytes ?? 0), 0)).toBe(bytes.length);
    expect(texts([a, b, d]).includes('\uFFFD')).toBe(false);
  });

  it('keeps each stream apart: stdin split mid-character does not corrupt stdout', () => {
    const rec = new TerminalRecorder(3, clock().now, undefined);
    const euro = Buffer.from('€', 'utf8');
    const e1 = rec.data('stdin', euro.subarray(0, 1));
    const e2 = rec.data('stdout', Buffer.from('ok'));
    const e3 = rec.data('stdin', euro.subarray(1));
    expect(texts([e1, e2, e3], 'stdin')).toBe('€');
    expect(texts([e1, e2, e3], 'stdout')).toBe('ok');
  });

  it('masks a secret split across chunks before it is recorded, releasing the held tail at the end', () => {
    const rec = new TerminalRecorder(0, clock().now, masking);
    const secret = 'AKIAIOSFODNN7EXAMPLE';
    const out = [rec.data('stdout', Buffer.from(`key=${secret.slice(0, 9)}`)), rec.data('stdout', Buffer.from(`${secret.slice(9)} done\n`)), ...rec.end()];
    const recorded = texts(out);
    expect(recorded).not.toContain(secret.slice(0, 9) + secret.slice(9));
    expect(recorded).not.toContain('IOSFODNN7');
    expect(recorded).toContain(' done\n');
    expect(Object.values(rec.maskedCounts()).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('an incomplete UTF-8 sequence at the close becomes U+FFFD, not dropped bytes', () => {
    const rec = new TerminalRecorder(0, clock().now, undefined);
    rec.data('stdout', Buffer.from([0x61, 0xe6, 0x97]));
    expect(texts(rec.end())).toBe('\uFFFD');
    expect(rec.end()).toEqual([]);
  });

  it('records the transcript of its output at the end: emulated at the pty size, masked as recorded', () => {
    const rec = new TerminalRecorder(4, clock().now, masking, { term: 'xterm', cols: 20, rows: 5 });
    const events = [
      rec.data('stdout', Buffer.from('$ ')),
      rec.data('stdin', Buffer.from('echo typo\x7fed\r')),
      rec.data('stdout', Buffer.from('echo typo\b \bed\r\ntyped\r\n')),
      rec.data('stderr', Buffer.from('\u001b[1mkey\u001b[0m=AKIAIOSFODNN7EXAMPLE\r\n$ ')),
      rec.resize(40, 10),
      ...rec.end(),
    ];
    const transcript = events.find((e) => e?.type === 'ssh.transcript')!;
    expect(transcript.payload).toMatchObject({ channel: 4, truncated: false });
    const text = (transcript.payload as { text: string }).text;
    expect(text.split('\n')).toEqual(['$ echo typed', 'typed', expect.stringMatching(/^key=\[[A-Z_]+(:[0-9a-f]+)?\]$/), '$']);
    expect(text).not.toContain('AKIA');
    // Nothing printed, nothing to search: no transcript event.
    const quiet = new TerminalRecorder(5, clock().now, undefined);
    quiet.data('stdin', Buffer.from('typed only'));
    expect(quiet.end().some((e) => e.type === 'ssh.transcript')).toBe(false);
  });

  it('exports a recording whose chunks split characters with every character whole, in asciicast v2 and v3', () => {
    const c = clock();
    const rec = new TerminalRecorder(0, c.now, undefined, { term: 'xterm', cols: 80, rows: 24 });
    const text = 'é 日本 😀 ✓ ünïcödé\r\n';
    const bytes = Buffer.from(text, 'utf8');
    // Every chunk boundary falls inside a character where one can: 1-byte chunks, then 3, then 2.
    const events: { type: string; time: string; payload: Record<string, unknown> }[] = [
      { type: 'ssh.channel.open', time: '2026-12-07T00:00:00.000Z', payload: { channel: 0, kind: 'shell', command: null, pty: { term: 'xterm', cols: 80, rows: 24 } } },
    ];
    const push = (e: TerminalEvent | undefined) => e && events.push({ type: e.type, time: 'x', payload: e.payload as unknown as Record<string, unknown> });
    for (let i = 0, size = 1; i < bytes.length; i += size, size = (size % 3) + 1) {
      c.advance(10);
      push(rec.data('stdout', bytes.subarray(i, i + size)));
    }
    push(rec.exit(0));
    rec.end().forEach(push);
    const recording = terminalRecording(events, 0)!;
    for (const version of [2, 3] as const) {
      const lines = toAsciicast(recording, version).trimEnd().split('\n').slice(1).map((l) => JSON.parse(l) as [number, string, string]);
      const out = lines.filter(([, code]) => code === 'o').map(([, , d]) => d);
      expect(out.join('')).toBe(text);
      expect(out.every((d) => !d.includes('\uFFFD'))).toBe(true);
      expect(lines[lines.length - 1]![1]).toBe(version === 3 ? 'x' : 'm');
    }
    expect((events.find((e) => e.type === 'ssh.transcript')!.payload.text as string)).toBe('é 日本 😀 ✓ ünïcödé');
  });

  it('records resize and exit with their channel and time', () => {
    const c = clock();
    const rec = new TerminalRecorder(7, c.now, undefined);
    c.advance(1500);
    expect(rec.resize(120, 40)).toEqual({ type: 'ssh.resize', payload: { channel: 7, t: 1500, cols: 120, rows: 40 } });
    expect(rec.exit(2)).toEqual({ type: 'ssh.exit', payload: { channel: 7, t: 1500, code: 2 } });
    expect(rec.exit(null, 'TERM').payload).toEqual({ channel: 7, t: 1500, code: null, signal: 'TERM' });
  });
});

describe('ChannelTranscript: bounded whatever the channel carries', () => {
  it('keeps the head and the tail of a long channel within the cap, and says so', () => {
    const t = new ChannelTranscript(80, 24, true);
    const lines = Array.from({ length: 20_000 }, (_, i) => `output line ${i}`);
    for (let i = 0; i < lines.length; i += 100) t.write(lines.slice(i, i + 100).join('\r\n') + '\r\n');
    const { text, truncated } = t.finish()!;
    expect(truncated).toBe(true);
    expect(text.length).toBeLessThanOrEqual(TRANSCRIPT_TEXT_CAP);
    expect(text.startsWith('output line 0\noutput line 1\n')).toBe(true);
    expect(text.endsWith('output line 19999')).toBe(true);
    expect(text).toContain('[…]');
  });

  it('keeps a short channel whole, and turns bare newlines into lines without a pty', () => {
    const t = new ChannelTranscript(80, 24, false);
    t.write('one\ntwo\n');
    expect(t.finish()).toEqual({ text: 'one\ntwo', truncated: false });
  });
});

describe('terminalRecording (for the console player)', () => {
  const events = [
    { type: 'ssh.channel.open', time: '2026-12-06T18:00:00.000Z', payload: { channel: 0, kind: 'shell', command: null, pty: { term: 'xterm', cols: 132, rows: 43 } } },
    { type: 'ssh.data', time: 'x', payload: { channel: 0, stream: 'stdout', t: 10, text: '$ ', bytes: 2 } },
    { type: 'ssh.data', time: 'x', payload: { channel: 1, stream: 'stdout', t: 11, text: 'other channel', bytes: 13 } },
    { type: 'ssh.data', time: 'x', payload: { channel: 0, stream: 'stdin', t: 500, text: 'ls\r', bytes: 3 } },
    { type: 'ssh.data', time: 'x', payload: { channel: 0, stream: 'stdout', t: 600, text: '', bytes: 1 } },
    { type: 'ssh.resize', time: 'x', payload: { channel: 0, t: 700, cols: 100, rows: 30 } },
    { type: 'ssh.data', time: 'x', payload: { channel: 0, stream: 'stderr', t: 800, text: 'é\n', bytes: 3 } },
    { type: 'ssh.exit', time: 'x', payload: { channel: 0, t: 900, code: 0 } },
  ];

  it('plays at the recorded pty size with every frame of its channel, and exports to asciicast v2', () => {
    expect(recordedChannels(events)).toEqual([0]);
    const rec = terminalRecording(events, 0)!;
    expect(rec).toMatchObject({ cols: 132, rows: 43, startedAt: '2026-12-06T18:00:00.000Z', title: 'shell', env: { TERM: 'xterm' }, pty: true });
    const cast = toAsciicast(rec).trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(cast[0]).toMatchObject({ version: 2, width: 132, height: 43 });
    expect(cast.slice(1)).toEqual([
      [0.01, 'o', '$ '],
      [0.5, 'i', 'ls\r'],
      [0.7, 'r', '100x30'],
      [0.8, 'o', 'é\n'],
      [0.9, 'm', 'exit 0'],
    ]);
  });

  it('uses 80x24 for an exec without a pty, and nothing for a channel never opened', () => {
    const exec = [{ type: 'ssh.channel.open', time: 't', payload: { channel: 2, kind: 'exec', command: 'echo hi', pty: null } }];
    expect(terminalRecording(exec, 2)).toMatchObject({ cols: 80, rows: 24, title: 'echo hi', pty: false });
    expect(terminalRecording(exec, 5)).toBeUndefined();
  });
});
