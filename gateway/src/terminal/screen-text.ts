import type { IBuffer, IMarker, Terminal } from '@xterm/headless';
import { GatehouseError } from '../errors';

/**
 * The emulator is loaded on first need, not at start-up: it is a sizeable module (its own chunk in
 * the bundle) that only SSH channels and transcript exports use, and start-up time grows with the
 * code evaluated. `loadScreenText` resolves once it is there; `ScreenText` needs it loaded.
 */
let TerminalClass: typeof Terminal | undefined;
let loading: Promise<void> | undefined;

export function loadScreenText(): Promise<void> {
  loading ??= import('@xterm/headless').then((m) => {
    TerminalClass = m.Terminal ?? (m as unknown as { default: { Terminal: typeof Terminal } }).default.Terminal;
  });
  return loading;
}

/** Scrollback the emulator keeps between two harvests (lines). */
const SCROLLBACK = 1000;
/**
 * Characters written per step. A line enters the scrollback only through a line feed (LF, IND,
 * NEL: at least one character each, at the bottom row) or a shrinking resize, so a step adds at
 * most this many lines: fewer than SCROLLBACK, and every line is harvested before it could be
 * trimmed.
 */
const STEP = 400;

export interface ScreenTextOptions {
  readonly cols: number;
  readonly rows: number;
  /**
   * A line feed also returns the carriage: a channel without a pty, whose newlines are bare
   * (no terminal driver turned them into CR LF). @default false
   */
  readonly convertEol?: boolean;
}

function clampSize(n: number): number {
  return Number.isSafeInteger(n) && n >= 1 ? Math.min(n, 10_000) : 1;
}

/**
 * Plain text of what a terminal showed, by emulating it (`@xterm/headless`): cursor movement,
 * backspaces, carriage returns, erasures and colour codes are applied, not printed, so a command
 * line corrected with backspace reads as it was run. Output only: what the program wrote to the
 * terminal (the echo of typed input included, as the screen showed it).
 *
 * Lines are handed to `onLine` once final: when they scrolled off the screen into the scrollback,
 * when the screen or the scrollback is about to be erased (`clear`: ED 2, ED 3; a reset, RIS), and
 * at `finish` (what the screen still shows, trailing blank lines left out). A line the terminal
 * wrapped is one line. Full-screen programs (the alternate screen: vim, less, top) are not
 * transcribed: what they drew is gone when they exit, as on a real terminal.
 *
 * Writes are applied synchronously (`input('', true)` puts xterm's write buffer on its immediate
 * path, as a keystroke does), so `finish` can be called in the same turn as the last write.
 * Needs `loadScreenText()` to have resolved.
 */
export class ScreenText {
  private readonly term: Terminal;
  /**
   * The last line of the normal buffer handed out (the next starts after it); undefined: none, start
   * at line 0. It always sits in the scrollback, where lines are only ever trimmed from the top
   * (the screen's lines can be deleted by a scroll region or DL, which would drop a marker on them).
   */
  private marker: IMarker | undefined;
  private finished = false;
  /** True when lines were trimmed before they were harvested (not expected: see STEP). */
  lost = false;

  constructor(
    options: ScreenTextOptions,
    private readonly onLine: (line: string) => void,
  ) {
    if (TerminalClass === undefined) throw new GatehouseError('GH_ERR_INTERNAL', 'the terminal emulator is not loaded (loadScreenText)');
    this.term = new TerminalClass({ cols: clampSize(options.cols), rows: clampSize(options.rows), scrollback: SCROLLBACK, convertEol: options.convertEol === true, allowProposedApi: true });
    // Harvest before an erase drops lines; `false` lets xterm's own handler run next.
    this.term.parser.registerCsiHandler({ final: 'J' }, (params) => {
      const p = params[0];
      if (p === 2) this.beforeErase('screen');
      else if (p === 3) this.beforeErase('scrollback');
      return false;
    });
    this.term.parser.registerEscHandler({ final: 'c' }, () => {
      this.beforeErase('all');
      return false;
    });
  }

  /** Output as the terminal received it (decoded text). */
  write(text: string): void {
    if (this.finished || text.length === 0) return;
    let i = 0;
    while (i < text.length) {
      // A surrogate pair stays in one step.
      let end = Math.min(text.length, i + STEP);
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++;
      this.term.input('', true);
      this.term.write(text.slice(i, end));
      i = end;
      this.harvest();
    }
  }

  /** The client's window changed size. */
  resize(cols: number, rows: number): void {
    if (this.finished) return;
    this.term.resize(clampSize(cols), clampSize(rows));
    this.harvest();
  }

  /** Hands out what is left (scrollback and screen, trailing blank lines left out) and frees the emulator. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const buf = this.term.buffer.normal;
    const start = this.start(buf);
    this.take(buf, start, this.lastContent(buf) + 1);
    this.marker?.dispose();
    this.term.dispose();
  }

  private start(_buf: IBuffer): number {
    if (this.marker === undefined) return 0;
    if (this.marker.isDisposed) {
      // Trimmed: so was everything before it; every line still there is new.
      this.lost = true;
      this.marker = undefined;
      return 0;
    }
    return this.marker.line + 1;
  }

  /** Index of the last line with any text, at least -1. */
  private lastContent(buf: IBuffer): number {
    for (let i = buf.length - 1; i >= 0; i--) if ((buf.getLine(i)?.translateToString(true) ?? '') !== '') return i;
    return -1;
  }

  /** Lines that scrolled off the screen are final: hand them out. */
  private harvest(): void {
    if (this.term.buffer.active.type !== 'normal') return;
    const buf = this.term.buffer.normal;
    const start = this.start(buf);
    let end = buf.baseY;
    // Never split a wrapped line: its rest is still on the screen.
    while (end > start && buf.getLine(end)?.isWrapped === true) end--;
    if (end <= start) return;
    this.take(buf, start, end);
    this.nextFrom(buf, end);
  }

  /** Takes what an erase is about to drop: the screen (ED 2), the scrollback (ED 3), both (RIS). */
  private beforeErase(what: 'screen' | 'scrollback' | 'all'): void {
    if (this.term.buffer.active.type !== 'normal') return;
    const buf = this.term.buffer.normal;
    const start = this.start(buf);
    if (what === 'scrollback') {
      if (start < buf.baseY) this.take(buf, start, buf.baseY);
      // After the trim the screen's top is line 0: the next harvest starts there.
      this.nextFrom(buf, 0);
      return;
    }
    this.take(buf, start, this.lastContent(buf) + 1);
    // RIS: a new buffer from line 0. ED 2: the erased screen's rows are written again from its top.
    this.nextFrom(buf, what === 'all' ? 0 : buf.baseY);
  }

  /** The next harvest starts at `line` (a marker on the line before it, in the scrollback). */
  private nextFrom(buf: IBuffer, line: number): void {
    this.marker?.dispose();
    this.marker = line <= 0 ? undefined : this.term.registerMarker(line - 1 - (buf.baseY + buf.cursorY));
  }

  /** Lines [from, to) as logical lines (a wrapped row joins the one before it). */
  private take(buf: IBuffer, from: number, to: number): void {
    let current = '';
    let open = false;
    for (let i = from; i < to; i++) {
      const line = buf.getLine(i);
      if (line === undefined) continue;
      const continues = i + 1 < to && buf.getLine(i + 1)?.isWrapped === true;
      current += line.translateToString(!continues);
      open = true;
      if (!continues) {
        this.onLine(current);
        current = '';
        open = false;
      }
    }
    if (open) this.onLine(current);
  }
}
