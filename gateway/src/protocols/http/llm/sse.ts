import { StringDecoder } from 'node:string_decoder';

export type SseHandler = (event: string, data: string) => void;

/**
 * Incremental Server-Sent Events parser (WHATWG "event stream interpretation"): fed chunks as
 * they pass through, it dispatches each complete event. Events, lines and UTF-8 characters split
 * across chunks are reassembled; nothing is buffered beyond the current incomplete event.
 * `maxEventChars` bounds one event: a longer event is dropped and counted, never grown without end.
 */
export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private event = '';
  private data: string[] = [];
  private dataChars = 0;
  private skippedCR = false;
  oversized = 0;

  constructor(private readonly onEvent: SseHandler, private readonly maxEventChars = 16 * 1024 * 1024) {}

  push(chunk: Buffer): void {
    this.feed(this.decoder.write(chunk));
  }

  end(): void {
    this.feed(this.decoder.end());
    if (this.pending !== '') {
      this.line(this.pending);
      this.pending = '';
    }
    // A final event without its blank line is not dispatched (per spec).
  }

  private feed(text: string): void {
    if (text === '') return;
    let start = 0;
    if (this.skippedCR && text[0] === '\n') start = 1;
    this.skippedCR = false;
    const s = this.pending === '' ? text : this.pending + text;
    if (this.pending !== '') start = 0;
    this.pending = '';
    let i = start;
    let lineStart = start;
    const n = s.length;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 10 || c === 13) {
        this.line(s.slice(lineStart, i));
        if (c === 13) {
          if (i + 1 < n) {
            if (s.charCodeAt(i + 1) === 10) i++;
          } else {
            this.skippedCR = true;
          }
        }
        lineStart = i + 1;
      }
      i++;
    }
    if (lineStart < n) {
      const rest = s.slice(lineStart);
      if (rest.length > this.maxEventChars) {
        this.oversized++;
        this.reset();
      } else {
        this.pending = rest;
      }
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent(this.event === '' ? 'message' : this.event, this.data.join('\n'));
      this.reset();
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      this.dataChars += value.length;
      if (this.dataChars > this.maxEventChars) {
        this.oversized++;
        this.data = [];
        this.dataChars = -Infinity; // drop the rest of this event
        return;
      }
      if (this.dataChars >= 0) this.data.push(value);
    } else if (field === 'event') {
      this.event = value;
    }
  }

  private reset(): void {
    this.event = '';
    this.data = [];
    this.dataChars = 0;
  }
}
