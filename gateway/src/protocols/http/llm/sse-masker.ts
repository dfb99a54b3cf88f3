import { StringDecoder } from 'node:string_decoder';
import { GatehouseError } from '../../../errors';
import type { MaskingPolicy } from '../../../masking/masking-policy';
import { addCounts, type MaskCounts } from '../../../masking/redact';
import type { StreamRedactor } from '../../../masking/stream-redactor';
import { isRecord } from './exchange';
import type { Stitcher } from './delta-stitchers';
import { createJsonFragmentRedactor } from './json-fragments';

interface Line {
  readonly field: string;
  readonly value: string;
}

/**
 * Masks a server-sent event stream event by event, keeping its framing: each complete event is
 * re-emitted with the same fields in the same order, its `data` payload masked (JSON by path and
 * value, otherwise as text) and comments masked as text. Events and characters split across
 * chunks are reassembled first, so nothing is released before its whole event was seen.
 *
 * With stitchers (LLM streams), delta fields that continue a text across events go through one
 * stream redactor per stream key: a secret split across two deltas is masked, and the text held
 * back is emitted as one more delta before the event that ends its stream.
 *
 * Any failure throws GH_ERR_MASKING_FAILED and the masker refuses further input.
 */
export class SseMasker {
  private readonly decoder = new StringDecoder('utf8');
  private readonly streams = new Map<string, { redactor: StreamRedactor; tail: (rest: string) => { event: string | undefined; data: Record<string, unknown> } }>();
  private pending = '';
  private lines: Line[] = [];
  private eventChars = 0;
  private skippedCR = false;
  private failed = false;
  readonly counts: MaskCounts = {};

  constructor(
    private readonly policy: MaskingPolicy,
    private readonly stitchers: readonly Stitcher[],
    private readonly maxEventChars = 16 * 1024 * 1024,
  ) {}

  /** Takes the next bytes; returns the masked text that can be sent now. */
  push(chunk: Buffer): string {
    return this.guard(() => this.feed(this.decoder.write(chunk)));
  }

  /** End of stream: masks and returns anything left (an unterminated event, held-back deltas). */
  end(): string {
    return this.guard(() => {
      let out = this.feed(this.decoder.end());
      if (this.pending !== '') {
        this.lines.push(parseLine(this.pending));
        this.pending = '';
      }
      out += this.closeStreams('all');
      // An event without its closing blank line is not dispatched by clients, but its bytes still
      // reach them: mask it like any other and leave it unterminated.
      if (this.lines.length > 0) out += this.renderEvent(false);
      return out;
    });
  }

  private guard(fn: () => string): string {
    if (this.failed) throw new GatehouseError('GH_ERR_MASKING_FAILED', 'the event-stream masker failed earlier');
    try {
      return fn();
    } catch (e) {
      this.failed = true;
      this.lines = [];
      this.pending = '';
      if (e instanceof GatehouseError && e.code === 'GH_ERR_MASKING_FAILED') throw e;
      throw new GatehouseError('GH_ERR_MASKING_FAILED', 'masking an event stream failed');
    }
  }

  private feed(text: string): string {
    if (text === '') return '';
    let out = '';
    let s = this.pending + text;
    this.pending = '';
    let i = 0;
    if (this.skippedCR) {
      this.skippedCR = false;
      if (s.charCodeAt(0) === 10) i = 1;
    }
    let lineStart = i;
    const n = s.length;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      out += this.line(s.slice(lineStart, i));
      if (c === 13) {
        if (i + 1 < n) {
          if (s.charCodeAt(i + 1) === 10) i++;
        } else {
          this.skippedCR = true;
        }
      }
      lineStart = i + 1;
    }
    if (lineStart < n) {
      s = s.slice(lineStart);
      if (this.eventChars + s.length > this.maxEventChars) throw new GatehouseError('GH_ERR_MASKING_FAILED', 'an event-stream event is larger than the masking limit');
      this.pending = s;
    }
    return out;
  }

  private line(line: string): string {
    if (line === '') return this.lines.length === 0 ? '\n' : this.renderEvent(true);
    this.eventChars += line.length;
    if (this.eventChars > this.maxEventChars) throw new GatehouseError('GH_ERR_MASKING_FAILED', 'an event-stream event is larger than the masking limit');
    this.lines.push(parseLine(line));
    return '';
  }

  /** Renders the collected event masked (and, before it, the tails of streams it closes). */
  private renderEvent(terminated: boolean): string {
    const lines = this.lines;
    this.lines = [];
    this.eventChars = 0;
    let eventName: string | undefined;
    const data: string[] = [];
    for (const l of lines) {
      if (l.field === 'data') data.push(l.value);
      else if (l.field === 'event') eventName = l.value;
    }
    let before = '';
    let maskedData: string | undefined;
    let drop = false;
    if (data.length > 0) {
      const payload = data.join('\n');
      const parsed = this.stitchers.length > 0 ? parseObject(payload) : undefined;
      if (parsed !== undefined) {
        const r = this.maskStitched(parsed, eventName);
        before = r.before;
        maskedData = r.data;
        drop = r.drop;
      } else {
        if (this.stitchers.length > 0 && payload.trim() === '[DONE]') before = this.closeStreams('all');
        const r = this.policy.maskJson(payload);
        addCounts(this.counts, r.counts);
        maskedData = r.text;
      }
    }
    if (drop) return before;
    let out = before;
    let dataWritten = false;
    for (const l of lines) {
      if (l.field === 'data') {
        if (dataWritten) continue;
        dataWritten = true;
        for (const part of (maskedData ?? '').split('\n')) out += `data: ${part}\n`;
      } else if (l.field === '') {
        out += `:${this.maskPlain(l.value)}\n`;
      } else if (l.field === 'event' || l.field === 'retry') {
        out += `${l.field}: ${l.value}\n`;
      } else {
        // id and unknown fields: masked as text (an id can be anything the server chose).
        out += `${l.field}: ${this.maskPlain(l.value)}\n`;
      }
    }
    return terminated ? `${out}\n` : out;
  }

  private maskStitched(ev: Record<string, unknown>, eventName: string | undefined): { before: string; data: string; drop: boolean } {
    let before = '';
    for (const s of this.stitchers) {
      const closes = s.closes(ev, eventName);
      if (closes !== undefined) before += this.closeStreams(closes);
    }
    let fields: ReturnType<Stitcher['fields']> = [];
    let dropEmpty = false;
    for (const s of this.stitchers) {
      const f = s.fields(ev);
      if (f.length > 0) {
        fields = f;
        dropEmpty = s.dropEmpty;
        break;
      }
    }
    if (fields.length === 0) {
      const r = this.policy.maskJson(JSON.stringify(ev));
      addCounts(this.counts, r.counts);
      return { before, data: r.text, drop: false };
    }
    // The streamed fields are masked by their stream redactors; everything else in the event
    // by path and value, with the streamed fields blanked so they are not seen twice.
    for (const f of fields) f.set('');
    const rest = this.policy.maskJson(JSON.stringify(ev));
    addCounts(this.counts, rest.counts);
    const masked = JSON.parse(rest.text) as Record<string, unknown>;
    const maskedFields = this.stitchersFields(masked);
    let allEmpty = true;
    fields.forEach((f, i) => {
      let stream = this.streams.get(f.key);
      if (stream === undefined) {
        stream = { redactor: f.json === true ? createJsonFragmentRedactor(this.policy) : this.policy.createStreamRedactor(), tail: f.tail };
        this.streams.set(f.key, stream);
      }
      const released = stream.redactor.push(f.text);
      if (released !== '') allEmpty = false;
      maskedFields[i]?.set(released);
    });
    if (maskedFields.length !== fields.length) throw new GatehouseError('GH_ERR_MASKING_FAILED', 'masking changed the shape of a streamed event');
    return { before, data: JSON.stringify(masked), drop: allEmpty && dropEmpty };
  }

  private stitchersFields(ev: Record<string, unknown>): ReturnType<Stitcher['fields']> {
    for (const s of this.stitchers) {
      const f = s.fields(ev);
      if (f.length > 0) return f;
    }
    return [];
  }

  /** Ends the named streams (key prefixes) and renders their held-back text as final deltas. */
  private closeStreams(which: 'all' | readonly string[]): string {
    let out = '';
    for (const [key, stream] of this.streams) {
      if (which !== 'all' && !which.some((prefix) => key.startsWith(prefix))) continue;
      this.streams.delete(key);
      const rest = stream.redactor.end();
      addCounts(this.counts, stream.redactor.counts);
      if (rest === '') continue;
      const tail = stream.tail(rest);
      if (tail.event !== undefined) out += `event: ${tail.event}\n`;
      out += `data: ${JSON.stringify(tail.data)}\n\n`;
    }
    return out;
  }

  private maskPlain(text: string): string {
    if (text === '') return text;
    const r = this.policy.maskText(text);
    addCounts(this.counts, r.counts);
    return r.text;
  }
}

function parseLine(line: string): Line {
  if (line.charCodeAt(0) === 58) return { field: '', value: line.slice(1) };
  const colon = line.indexOf(':');
  if (colon === -1) return { field: line, value: '' };
  let value = line.slice(colon + 1);
  if (value.charCodeAt(0) === 32) value = value.slice(1);
  return { field: line.slice(0, colon), value };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  const c = text.trimStart().charCodeAt(0);
  if (c !== 123) return undefined; // '{'
  try {
    const v = JSON.parse(text) as unknown;
    return isRecord(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
