import { ModelCallTranscript, isRecord, parseJson, pick } from './exchange';

export type OpenAiApi = 'chat.completions' | 'responses';

/** `POST .../chat/completions` or `POST .../responses` (not `/responses/{id}` reads). */
export function openAiApiOf(method: string, routedPath: string): OpenAiApi | undefined {
  if (method !== 'POST') return undefined;
  if (/(^|\/)chat\/completions\/?$/.test(routedPath)) return 'chat.completions';
  if (/(^|\/)v1\/responses\/?$/.test(routedPath) || routedPath === '/responses') return 'responses';
  return undefined;
}

const CHAT_PARAMETERS = [
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'n',
  'stop',
  'tool_choice',
  'stream',
  'stream_options',
  'response_format',
  'reasoning_effort',
  'seed',
];
const RESPONSES_PARAMETERS = ['max_output_tokens', 'temperature', 'top_p', 'tool_choice', 'stream', 'reasoning', 'text', 'previous_response_id', 'store'];

interface ToolCall {
  id?: string;
  type?: string;
  name?: string;
  arguments: string;
  input?: unknown;
  inputIncomplete?: boolean;
}

interface Choice {
  index: number;
  role?: string;
  content?: string;
  refusal?: string;
  reasoning?: string;
  tool_calls?: ToolCall[];
  finish_reason?: unknown;
}

function toolNames(tools: unknown): unknown[] | undefined {
  if (!Array.isArray(tools)) return undefined;
  return tools.map((t) => {
    if (!isRecord(t)) return undefined;
    if (isRecord(t.function) && t.function.name !== undefined) return t.function.name;
    return t.name ?? t.type;
  });
}

function parseArguments(call: ToolCall): void {
  if (call.arguments === '') return;
  const input = parseJson(call.arguments);
  if (input === undefined) call.inputIncomplete = true;
  else call.input = input;
}

/**
 * Transcript of an OpenAI Chat Completions or Responses call. Chat streams (`data:` chunks with
 * `choices[].delta`, tool_calls assembled by index, `[DONE]`) are assembled incrementally; Responses
 * streams are typed events whose terminal `response.completed` (or `.incomplete`/`.failed`) carries
 * the whole response, with `response.output_text.delta` kept as a fallback for a cut stream.
 */
export class OpenAiExchange extends ModelCallTranscript {
  private readonly meta: Record<string, unknown> = {};
  private readonly choices: Choice[] = [];
  private usage: unknown;
  private done = false;
  // Responses API
  private finalResponse: Record<string, unknown> | undefined;
  private partialText = '';

  constructor(private readonly api: OpenAiApi, limit: number) {
    super(limit);
  }

  protected describeRequest(json: Record<string, unknown>): Record<string, unknown> {
    const parameters = pick(json, this.api === 'chat.completions' ? CHAT_PARAMETERS : RESPONSES_PARAMETERS);
    const tools = toolNames(json.tools);
    if (tools !== undefined) parameters.tools = tools;
    return this.api === 'chat.completions'
      ? { model: json.model, messages: json.messages, parameters }
      : { model: json.model, instructions: json.instructions, input: json.input, parameters };
  }

  /** Tool calls whose arguments streamed to the end are parsed now. */
  protected override streamEnded(): void {
    for (const c of this.choices) for (const t of c.tool_calls ?? []) if (t.input === undefined && !t.inputIncomplete) parseArguments(t);
  }

  protected onResponseBody(body: Record<string, unknown>): void {
    if (body.error !== undefined && body.error !== null) this.error = body.error;
    if (this.api === 'responses') {
      this.finalResponse = body;
      return;
    }
    Object.assign(this.meta, pick(body, ['id', 'model', 'system_fingerprint', 'service_tier']));
    this.usage = body.usage;
    if (Array.isArray(body.choices)) {
      for (const c of body.choices) {
        if (!isRecord(c)) continue;
        const m = isRecord(c.message) ? c.message : {};
        const choice: Choice = { index: typeof c.index === 'number' ? c.index : this.choices.length, finish_reason: c.finish_reason };
        if (typeof m.role === 'string') choice.role = m.role;
        if (typeof m.content === 'string') choice.content = m.content;
        if (typeof m.refusal === 'string') choice.refusal = m.refusal;
        if (Array.isArray(m.tool_calls)) {
          choice.tool_calls = m.tool_calls.filter(isRecord).map((t) => {
            const f = isRecord(t.function) ? t.function : {};
            const call: ToolCall = { id: t.id as string | undefined, type: t.type as string | undefined, name: f.name as string | undefined, arguments: typeof f.arguments === 'string' ? f.arguments : '' };
            parseArguments(call);
            return call;
          });
        }
        this.choices.push(choice);
      }
    }
  }

  protected onEvent(event: string, data: string): void {
    if (data === '[DONE]') {
      this.done = true;
      return;
    }
    const ev = parseJson(data);
    if (!isRecord(ev)) return;
    if (this.api === 'responses') this.onResponsesEvent(typeof ev.type === 'string' ? ev.type : event, ev, data.length);
    else this.onChatChunk(ev);
  }

  private onChatChunk(ev: Record<string, unknown>): void {
    if (ev.error !== undefined) {
      this.error = ev.error;
      return;
    }
    Object.assign(this.meta, pick(ev, ['id', 'model', 'system_fingerprint', 'service_tier']));
    if (isRecord(ev.usage)) this.usage = ev.usage;
    if (!Array.isArray(ev.choices)) return;
    for (const c of ev.choices) {
      if (!isRecord(c)) continue;
      const index = typeof c.index === 'number' ? c.index : 0;
      let choice = this.choices.find((x) => x.index === index);
      if (choice === undefined) {
        choice = { index };
        this.choices.push(choice);
      }
      if (c.finish_reason !== undefined && c.finish_reason !== null) choice.finish_reason = c.finish_reason;
      const d = c.delta;
      if (!isRecord(d)) continue;
      if (typeof d.role === 'string') choice.role = d.role;
      if (typeof d.content === 'string') choice.content = (choice.content ?? '') + this.budget.take(d.content);
      if (typeof d.refusal === 'string') choice.refusal = (choice.refusal ?? '') + this.budget.take(d.refusal);
      if (typeof d.reasoning_content === 'string') choice.reasoning = (choice.reasoning ?? '') + this.budget.take(d.reasoning_content);
      if (Array.isArray(d.tool_calls)) {
        const calls = (choice.tool_calls ??= []);
        for (const t of d.tool_calls) {
          if (!isRecord(t)) continue;
          const ti = typeof t.index === 'number' ? t.index : calls.length;
          const call = (calls[ti] ??= { arguments: '' });
          if (typeof t.id === 'string') call.id = t.id;
          if (typeof t.type === 'string') call.type = t.type;
          const f = t.function;
          if (isRecord(f)) {
            if (typeof f.name === 'string') call.name = (call.name ?? '') + f.name;
            if (typeof f.arguments === 'string') call.arguments += this.budget.take(f.arguments);
          }
        }
      }
    }
  }

  private onResponsesEvent(type: string, ev: Record<string, unknown>, size: number): void {
    switch (type) {
      case 'response.output_text.delta':
        if (typeof ev.delta === 'string') this.partialText += this.budget.take(ev.delta);
        return;
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed':
        // The terminal event repeats the whole response: kept only if it fits the budget.
        if (isRecord(ev.response) && this.budget.charge(size)) {
          this.finalResponse = ev.response;
          this.meta.terminalEvent = type;
        }
        return;
      case 'error':
        this.error = ev;
        return;
      default:
        return;
    }
  }

  result(): Record<string, unknown> {
    const out: Record<string, unknown> = { provider: 'openai', api: this.api, status: this.status, stream: this.stream, request: this.requestBlock };
    if (this.api === 'chat.completions') {
      out.response = { ...this.meta, choices: this.choices.filter((c) => c !== undefined), usage: this.usage };
      if (this.stream) out.done = this.done;
    } else if (this.finalResponse !== undefined) {
      const r = this.finalResponse;
      out.response = { ...pick(r, ['id', 'model', 'status', 'incomplete_details', 'output', 'usage', 'error']), ...this.meta };
    } else {
      out.response = { ...this.meta, partialText: this.partialText };
    }
    if (this.stream) out.events = this.events;
    return this.finish(out);
  }
}
