import { ScreenText } from '../../terminal/screen-text';
import { tidyLines } from '../../terminal/transcript';

/**
 * Characters of transcript kept per channel for search: the session index keeps 8 KiB of text per
 * event (state/event-index-row.ts, MAX_EVENT_TEXT), so the `ssh.transcript` event holds no more.
 */
export const TRANSCRIPT_TEXT_CAP = 8192;
/** Output emulated from the channel's start (characters): the head of the transcript. */
const HEAD_INPUT = 64 * 1024;
/** Output kept, unemulated, from the channel's end (characters): emulated at close for the tail. */
const TAIL_INPUT = 16 * 1024;
/** Where the transcript skips: between head and tail, and in the middle of a capped text. */
const ELISION = '\n[…]\n';

/** A cut position moved off the middle of a surrogate pair. */
function pairSafe(text: string, at: number): number {
  const c = text.charCodeAt(at);
  return c >= 0xdc00 && c <= 0xdfff ? at + 1 : at;
}

type TailItem = { text: string } | { cols: number; rows: number };

/**
 * A channel's transcript for the session index, made while the channel runs, in bounded time and
 * memory whatever it carries (a 50 MB scp included): the first 64 KiB of output are emulated as
 * they arrive (screen-text.ts), the last 16 KiB are kept and emulated at the close, and the text
 * is cut to TRANSCRIPT_TEXT_CAP (its head and its tail). What it is fed is what was recorded:
 * masked when the connection masks. The full transcript is made from the record on export
 * (terminal/transcript.ts); this one only makes a channel findable by its commands and output.
 */
export class ChannelTranscript {
  /** The head's emulator: made at the first output (a channel that prints nothing costs none), dropped once full. */
  private head: ScreenText | undefined;
  private headDone = false;
  private readonly headLines: string[] = [];
  private fed = 0;
  private readonly tail: TailItem[] = [];
  private tailChars = 0;
  /** The size the kept tail starts at. */
  private tailSize: { cols: number; rows: number };
  private size: { cols: number; rows: number };
  private skipped = false;
  private broken = false;

  constructor(
    cols: number,
    rows: number,
    private readonly pty: boolean,
  ) {
    this.size = { cols, rows };
    this.tailSize = this.size;
  }

  /** Emulation is for search only: a failure costs the transcript, never the channel or its record. */
  private guard<T>(f: () => T): T | undefined {
    if (this.broken) return undefined;
    try {
      return f();
    } catch {
      this.broken = true;
      this.head = undefined;
      this.headDone = true;
      return undefined;
    }
  }

  write(text: string): void {
    if (this.broken || text.length === 0) return;
    let rest = text;
    if (!this.headDone && this.head === undefined) {
      const { cols, rows } = this.size;
      this.head = this.guard(() => new ScreenText({ cols, rows, convertEol: !this.pty }, (l) => this.headLines.push(l)));
    }
    if (this.head !== undefined) {
      const part = rest.slice(0, HEAD_INPUT - this.fed);
      this.guard(() => this.head!.write(part));
      this.fed += part.length;
      rest = rest.slice(part.length);
      if (this.fed >= HEAD_INPUT) {
        this.guard(() => this.head?.finish());
        this.head = undefined;
        this.headDone = true;
        this.tailSize = this.size;
      }
    }
    if (rest.length === 0) return;
    this.tail.push({ text: rest });
    this.tailChars += rest.length;
    while (this.tailChars > TAIL_INPUT) {
      const first = this.tail[0]!;
      if ('cols' in first) {
        this.tailSize = first;
        this.tail.shift();
        continue;
      }
      const over = this.tailChars - TAIL_INPUT;
      this.skipped = true;
      if (first.text.length <= over) {
        this.tail.shift();
        this.tailChars -= first.text.length;
      } else {
        first.text = first.text.slice(over);
        this.tailChars -= over;
      }
    }
  }

  resize(cols: number, rows: number): void {
    this.size = { cols, rows };
    if (this.head !== undefined) this.guard(() => this.head!.resize(cols, rows));
    else if (!this.headDone || this.tail.length === 0) this.tailSize = this.size;
    else this.tail.push({ cols, rows });
  }

  /** The transcript (tidy, capped) and whether anything was left out; undefined when emulation failed. */
  finish(): { text: string; truncated: boolean } | undefined {
    if (this.head !== undefined) {
      this.guard(() => this.head!.finish());
      this.head = undefined;
    }
    this.headDone = true;
    if (this.broken) return undefined;
    let text = tidyLines(this.headLines);
    if (this.tail.length > 0) {
      const lines: string[] = [];
      const ok = this.guard(() => {
        const screen = new ScreenText({ cols: this.tailSize.cols, rows: this.tailSize.rows, convertEol: !this.pty }, (l) => lines.push(l));
        for (const item of this.tail) {
          if ('cols' in item) screen.resize(item.cols, item.rows);
          else screen.write(item.text);
        }
        screen.finish();
        return true;
      });
      if (ok === undefined) return undefined;
      const tailText = tidyLines(lines);
      text = this.skipped ? `${text}${ELISION}${tailText}` : `${text}\n${tailText}`;
    }
    let truncated = this.skipped;
    if (text.length > TRANSCRIPT_TEXT_CAP) {
      const half = Math.floor((TRANSCRIPT_TEXT_CAP - ELISION.length) / 2);
      text = `${text.slice(0, pairSafe(text, half))}${ELISION}${text.slice(pairSafe(text, text.length - half))}`;
      truncated = true;
    }
    return { text, truncated };
  }
}
