import { loadScreenText, ScreenText } from '../../../gateway/src/terminal/screen-text';
import { tidyLines, transcriptText } from '../../../gateway/src/terminal/transcript';

beforeAll(() => loadScreenText());

/** Everything written, as the lines ScreenText hands out (finished). */
function screen(chunks: readonly string[], options: { cols?: number; rows?: number; convertEol?: boolean } = {}): { lines: string[]; lost: boolean } {
  const lines: string[] = [];
  const s = new ScreenText({ cols: options.cols ?? 40, rows: options.rows ?? 5, convertEol: options.convertEol }, (l) => lines.push(l));
  for (const c of chunks) s.write(c);
  s.finish();
  return { lines, lost: s.lost };
}

describe('ScreenText: what the terminal showed, as text', () => {
  it('applies backspaces, cursor movement, carriage returns and colours instead of printing them', () => {
    const { lines } = screen([
      '$ echo zebra-ohno\b \b\b \b\b \b\b \bokay\r\n',
      'zebra-okay\r\n',
      'left\u001b[4Dright\r\n',
      '\u001b[1;31mred\u001b[0m plain\r\n',
      '10%\r50%\r100%\r\n',
      '$ ',
    ]);
    // A space the program wrote is kept (the transcript trims line ends: tidyLines).
    expect(lines).toEqual(['$ echo zebra-okay', 'zebra-okay', 'right', 'red plain', '100%', '$ ']);
  });

  it('is synchronous: the text is there in the same turn as the write (no pending timers)', () => {
    const lines: string[] = [];
    const s = new ScreenText({ cols: 20, rows: 3 }, (l) => lines.push(l));
    s.write('a\r\nb\r\nc\r\nd\r\ne\r\n');
    // Three rows: a and b and c scrolled off once e's line feed ran, in this very turn.
    expect(lines).toEqual(['a', 'b', 'c']);
    s.finish();
    expect(lines).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('keeps every line of output far longer than the scrollback, in order', () => {
    const many = Array.from({ length: 5000 }, (_, i) => `line ${i}`);
    // One write holding it all, and the same split at odd places (mid-line, mid-escape).
    const whole = screen([many.join('\r\n') + '\r\n'], { rows: 24 });
    expect(whole.lines).toEqual(many);
    expect(whole.lost).toBe(false);
    const text = `\u001b[32m${many.join('\r\n')}\u001b[0m\r\n`;
    const parts: string[] = [];
    for (let i = 0; i < text.length; i += 997) parts.push(text.slice(i, i + 997));
    expect(screen(parts, { rows: 24 }).lines).toEqual(many);
  });

  it('keeps what a clear erased (ED 2, ED 3, RIS) and what came after it', () => {
    expect(screen(['before-1\r\nbefore-2\r\n', '\u001b[H\u001b[2J\u001b[3J', 'after\r\n']).lines).toEqual(['before-1', 'before-2', 'after']);
    expect(screen(['a\r\nb\r\nc\r\nd\r\ne\r\nf\r\ng\r\n', '\u001b[3J', 'h\r\n'], { rows: 3 }).lines).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    expect(screen(['one\r\n', '\u001bc', 'two\r\n']).lines).toEqual(['one', 'two']);
  });

  it('joins a wrapped line, follows a resize, and leaves out what a full-screen program drew', () => {
    expect(screen(['0123456789abcdefghij\r\n'], { cols: 8 }).lines).toEqual(['0123456789abcdefghij']);
    const lines: string[] = [];
    const s = new ScreenText({ cols: 10, rows: 4 }, (l) => lines.push(l));
    s.resize(30, 4);
    s.write('a line longer than ten columns\r\n');
    s.write('\u001b[?1049h\u001b[Hvim screen\u001b[?1049l');
    s.write('after vim\r\n');
    s.finish();
    expect(lines).toEqual(['a line longer than ten columns', 'after vim']);
  });

  it('returns the carriage on bare newlines for a channel without a pty', () => {
    expect(screen(['one\ntwo\n'], { convertEol: true }).lines).toEqual(['one', 'two']);
    expect(screen(['one\ntwo\n']).lines).toEqual(['one', '   two']);
  });

  it('keeps characters whole: multi-byte, wide and astral', () => {
    expect(screen(['ünïcödé ✓ 日本 😀\r\n']).lines[0]).toBe('ünïcödé ✓ 日本 😀');
  });
});

describe('transcriptText and tidyLines', () => {
  it('collapses blank runs and ends with one newline; emulates output only, following resizes', async () => {
    expect(tidyLines(['', 'a', '', '', 'b', '', ''])).toBe('a\n\nb');
    const text = await transcriptText({
      cols: 10,
      rows: 5,
      frames: [
        { kind: 'data', stream: 'output', data: '$ ' },
        { kind: 'data', stream: 'input', data: 'secret-typed-blind\r' },
        { kind: 'resize', cols: 40, rows: 5 },
        { kind: 'data', stream: 'output', data: 'ls\r\nwide enough for forty columns\r\n$ ' },
        { kind: 'exit' },
      ],
    });
    expect(text).toBe('$ ls\nwide enough for forty columns\n$\n');
    expect(await transcriptText({ cols: 80, rows: 24, pty: false, frames: [{ kind: 'data', stream: 'output', data: 'a\nb\n' }] })).toBe('a\nb\n');
    expect(await transcriptText({ cols: 80, rows: 24, frames: [] })).toBe('');
  });
});
