import type { HttpTranscript } from '../../kit/http-dialect';
import { SseParser } from './sse';

/**
 * LLM awareness: a structured transcript of one model call, assembled from the raw request and
 * response as they pass (never by holding the response back). Recorded as `llm.exchange`. The
 * LLM dialects (../dialects.ts) create one per model call.
 */
export type LlmExchange = HttpTranscript;

/**
 * One limit for everything a transcript accumulates (text, tool input, thinking): separate from
 * and larger than the raw body cap, so a long answer is assembled whole, yet bounded. When it is
 * hit, further content is dropped and the transcript says `truncated: true`.
 */
export class TranscriptBudget {
  truncated = false;
  constructor(private remaining: number) {}

  /** Returns as much of `s` as the budget allows. */
  take(s: string): string {
    if (s.length <= this.remaining) {
      this.remaining -= s.length;
      return s;
    }
    this.truncated = true;
    const part = this.remaining > 0 ? s.slice(0, this.remaining) : '';
    this.remaining = 0;
    return part;
  }

  /** Charges `n` characters for a value kept as a whole; false (and truncated) if it does not fit. */
  charge(n: number): boolean {
    if (n <= this.remaining) {
      this.remaining -= n;
      return true;
    }
    this.truncated = true;
    this.remaining = 0;
    return false;
  }
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Collects a JSON body up to the limit; `text()` is undefined when it went past it. */
export class JsonAccumulator {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  over = false;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    if (this.over) return;
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.over = true;
      this.chunks.length = 0;
      return;
    }
    this.chunks.push(chunk);
  }
  text(): string | undefined {
    return this.over ? undefined : Buffer.concat(this.chunks, this.size).toString('utf8');
  }
}

/** Keeps listed fields that are present. */
export function pick(source: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (source[k] !== undefined) out[k] = source[k];
  return out;
}

/** Request body → object, or a reason it could not be read. */
export function readRequestJson(body: Buffer, truncated: boolean): { json?: Record<string, unknown>; problem?: string } {
  if (truncated) return { problem: 'request body exceeds the transcript limit' };
  if (body.length === 0) return { problem: 'empty request body' };
  const json = parseJson(body.toString('utf8'));
  if (!isRecord(json)) return { problem: 'request body is not a JSON object' };
  return { json };
}

/**
 * What every model call's transcript does the same way, whatever the provider: read the request
 * JSON (or say why not), charge it to the budget, tell a stream from a JSON answer by its content
 * type, parse the stream event by event as it passes or collect the JSON answer up to the limit,
 * and end the record with the error, the problem and the truncation flag. A provider says only
 * what its request, its events and its answer mean.
 */
export abstract class ModelCallTranscript implements LlmExchange {
  protected readonly budget: TranscriptBudget;
  protected requestBlock: Record<string, unknown> = {};
  protected status = 0;
  protected stream = false;
  /** Stream events seen (every event, pings included). */
  protected events = 0;
  /** The provider's error object, from an error answer or an error event. */
  protected error: unknown;
  private problem: string | undefined;
  private sse: SseParser | undefined;
  private json: JsonAccumulator | undefined;

  constructor(private readonly limit: number) {
    this.budget = new TranscriptBudget(limit);
  }

  /** The request as recorded: model, prompt and the parameters worth keeping. */
  protected abstract describeRequest(json: Record<string, unknown>): Record<string, unknown>;
  /** One stream event, as it passes. */
  protected abstract onEvent(event: string, data: string): void;
  /** A stream ended (whole or cut short): finish what is still open. */
  protected streamEnded(): void {}
  /** A whole JSON answer. */
  protected abstract onResponseBody(body: Record<string, unknown>): void;
  abstract result(): Record<string, unknown>;

  request(body: Buffer, truncated: boolean): void {
    const { json, problem } = readRequestJson(body, truncated);
    if (json === undefined) {
      this.requestBlock = { problem };
      if (truncated) this.budget.truncated = true;
      return;
    }
    this.requestBlock = this.describeRequest(json);
    // The prompt counts against the same budget as the answer.
    this.budget.charge(body.length);
  }

  responseStart(status: number, contentType: string | undefined): void {
    this.status = status;
    if (contentType !== undefined && contentType.includes('text/event-stream')) {
      this.stream = true;
      this.sse = new SseParser((event, data) => {
        this.events++;
        this.onEvent(event, data);
      });
    } else {
      this.json = new JsonAccumulator(this.limit);
    }
  }

  responseData(chunk: Buffer): void {
    if (this.sse !== undefined) this.sse.push(chunk);
    else this.json?.push(chunk);
  }

  responseEnd(): void {
    if (this.sse !== undefined) {
      this.sse.end();
      this.streamEnded();
      return;
    }
    if (this.json === undefined) return;
    const text = this.json.text();
    if (text === undefined) {
      this.budget.truncated = true;
      this.problem = 'response body exceeds the transcript limit';
      return;
    }
    const body = parseJson(text);
    if (!isRecord(body)) {
      this.problem = 'response body is not JSON';
      return;
    }
    this.onResponseBody(body);
  }

  /** Adds what every transcript ends with: the error, why it is incomplete, and whether it was cut. */
  protected finish(out: Record<string, unknown>): Record<string, unknown> {
    if (this.error !== undefined) out.error = this.error;
    if (this.problem !== undefined) out.problem = this.problem;
    if (this.budget.truncated) out.truncated = true;
    return out;
  }
}
