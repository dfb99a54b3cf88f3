import type { HttpTranscript } from '../../kit/http-dialect';

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
