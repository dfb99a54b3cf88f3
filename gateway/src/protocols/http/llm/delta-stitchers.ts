import { isRecord } from './exchange';

/**
 * LLM streams send one piece of text as many small deltas, so a secret is routinely split across
 * two events. A stitcher names, per event, the delta fields that continue a text stream (keyed by
 * content block, choice or item), and when a stream ends; the SSE masker runs one stream redactor
 * per key, so a value split across deltas is still found, and emits what is held back when the
 * stream ends as one more delta of the same shape.
 */
export interface StitchedField {
  /** Identifies the text stream this piece continues. */
  readonly key: string;
  readonly text: string;
  /** The pieces form one JSON document (tool-call input): masked as JSON when the stream ends (json-fragments.ts). */
  readonly json?: boolean;
  /** Writes the released (masked) text into the event. */
  set(text: string): void;
  /** A whole event (name + data) carrying `rest` as this stream's final piece. */
  tail(rest: string): { readonly event: string | undefined; readonly data: Record<string, unknown> };
}

export interface Stitcher {
  /** Stream keys to close (flush) before this event is emitted: a key prefix list, or 'all'. */
  closes(ev: Record<string, unknown>, event: string | undefined): 'all' | readonly string[] | undefined;
  /** The streamed fields in this event; empty when it carries none. */
  fields(ev: Record<string, unknown>): StitchedField[];
  /** True when an event whose fields all came out empty can be left out (a pure delta). */
  readonly dropEmpty: boolean;
}

const ANTHROPIC_FIELDS: Record<string, string> = { text_delta: 'text', thinking_delta: 'thinking', input_json_delta: 'partial_json' };

/** Anthropic Messages: content_block_delta text/thinking/input_json per block index. */
export const anthropicStitcher: Stitcher = {
  dropEmpty: true,
  closes(ev) {
    switch (ev.type) {
      case 'content_block_stop':
        return [`${String(ev.index)}:`];
      case 'message_delta':
      case 'message_stop':
      case 'error':
        return 'all';
      default:
        return undefined;
    }
  },
  fields(ev) {
    if (ev.type !== 'content_block_delta' || !isRecord(ev.delta)) return [];
    const delta = ev.delta;
    const dtype = typeof delta.type === 'string' ? delta.type : '';
    const field = ANTHROPIC_FIELDS[dtype];
    if (field === undefined || typeof delta[field] !== 'string') return [];
    const index = ev.index;
    return [
      {
        key: `${String(index)}:${dtype}`,
        text: delta[field] as string,
        json: dtype === 'input_json_delta',
        set: (t) => {
          delta[field] = t;
        },
        tail: (rest) => ({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: dtype, [field]: rest } } }),
      },
    ];
  },
};

/** OpenAI Chat Completions: choices[].delta.content / refusal and tool_calls[].function.arguments. */
export const openAiChatStitcher: Stitcher = {
  dropEmpty: false,
  closes(ev) {
    const choices = Array.isArray(ev.choices) ? ev.choices : [];
    if (choices.length === 0 && ev.usage !== undefined) return 'all';
    const closing: string[] = [];
    for (const c of choices) if (isRecord(c) && c.finish_reason !== null && c.finish_reason !== undefined) closing.push(`c${String(c.index)}:`);
    return closing.length > 0 ? closing : undefined;
  },
  fields(ev) {
    if (!Array.isArray(ev.choices)) return [];
    const base = { id: ev.id, object: ev.object, created: ev.created, model: ev.model };
    const out: StitchedField[] = [];
    for (const c of ev.choices) {
      if (!isRecord(c) || !isRecord(c.delta)) continue;
      const delta = c.delta;
      const ci = c.index;
      for (const field of ['content', 'refusal']) {
        if (typeof delta[field] !== 'string') continue;
        out.push({
          key: `c${String(ci)}:${field}`,
          text: delta[field] as string,
          set: (t) => {
            delta[field] = t;
          },
          tail: (rest) => ({ event: undefined, data: { ...base, choices: [{ index: ci, delta: { [field]: rest }, finish_reason: null }] } }),
        });
      }
      if (Array.isArray(delta.tool_calls)) {
        for (const tc of delta.tool_calls) {
          if (!isRecord(tc) || !isRecord(tc.function) || typeof tc.function.arguments !== 'string') continue;
          const fn = tc.function;
          const ti = tc.index;
          out.push({
            key: `c${String(ci)}:t${String(ti)}`,
            text: fn.arguments as string,
            json: true,
            set: (t) => {
              fn.arguments = t;
            },
            tail: (rest) => ({ event: undefined, data: { ...base, choices: [{ index: ci, delta: { tool_calls: [{ index: ti, function: { arguments: rest } }] }, finish_reason: null }] } }),
          });
        }
      }
    }
    return out;
  },
};

const RESPONSES_DELTAS = new Set(['response.output_text.delta', 'response.function_call_arguments.delta', 'response.reasoning_summary_text.delta', 'response.refusal.delta']);
const RESPONSES_END = new Set(['response.completed', 'response.incomplete', 'response.failed', 'error']);

/** OpenAI Responses: `*.delta` events per item (and content part), closed by the item's `*.done`. */
export const openAiResponsesStitcher: Stitcher = {
  dropEmpty: true,
  closes(ev) {
    const type = typeof ev.type === 'string' ? ev.type : '';
    if (RESPONSES_END.has(type)) return 'all';
    if (type.endsWith('.done') && typeof ev.item_id === 'string') return [`${ev.item_id}:`];
    return undefined;
  },
  fields(ev) {
    const type = typeof ev.type === 'string' ? ev.type : '';
    if (!RESPONSES_DELTAS.has(type) || typeof ev.delta !== 'string') return [];
    const { item_id, output_index, content_index, summary_index } = ev;
    return [
      {
        key: `${String(item_id)}:${type}:${String(content_index ?? summary_index ?? '')}`,
        text: ev.delta,
        json: type === 'response.function_call_arguments.delta',
        set: (t) => {
          ev.delta = t;
        },
        tail: (rest) => ({ event: type, data: { type, item_id, output_index, content_index, summary_index, delta: rest } }),
      },
    ];
  },
};

/** Tries each stitcher that applies to the connection's LLM kind. */
export function stitchersFor(llm: string): readonly Stitcher[] {
  if (llm === 'anthropic') return [anthropicStitcher];
  if (llm === 'openai') return [openAiChatStitcher, openAiResponsesStitcher];
  return [];
}
