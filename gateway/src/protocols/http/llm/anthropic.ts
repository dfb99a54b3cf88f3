import { ModelCallTranscript, isRecord, parseJson, pick } from './exchange';

/** Anthropic Messages API: `POST .../v1/messages` (not `/v1/messages/count_tokens` or batches). */
export function isAnthropicMessages(method: string, routedPath: string): boolean {
  return method === 'POST' && /(^|\/)v1\/messages\/?$/.test(routedPath);
}

const PARAMETERS = ['max_tokens', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'tool_choice', 'thinking', 'service_tier', 'stream'];

interface Block {
  [key: string]: unknown;
  type: string;
}

/**
 * Transcript of one Messages API call. Streams are parsed event by event as they pass through:
 * message_start (id, model, input usage), content_block_start/delta/stop (text_delta,
 * input_json_delta assembled and parsed at block stop, thinking_delta, signature_delta,
 * citations_delta), message_delta (stop_reason, cumulative usage), ping, error.
 */
export class AnthropicExchange extends ModelCallTranscript {
  private readonly message: Record<string, unknown> = {};
  private readonly blocks: (Block | undefined)[] = [];
  private readonly toolJson = new Map<number, string>();
  private usage: Record<string, unknown> = {};
  private pings = 0;

  protected describeRequest(json: Record<string, unknown>): Record<string, unknown> {
    const tools = Array.isArray(json.tools) ? json.tools.map((t) => (isRecord(t) ? (t.name ?? t.type) : undefined)) : undefined;
    const parameters = pick(json, PARAMETERS);
    if (tools !== undefined) parameters.tools = tools;
    const block: Record<string, unknown> = { model: json.model, system: json.system, messages: json.messages, parameters };
    if (isRecord(json.metadata) && typeof json.metadata.user_id === 'string') block.userId = json.metadata.user_id;
    return block;
  }

  /** A stream cut short still yields the tool input assembled so far. */
  protected override streamEnded(): void {
    for (const index of [...this.toolJson.keys()]) this.finishBlock(index);
  }

  protected onResponseBody(body: Record<string, unknown>): void {
    if (body.type === 'error') {
      this.error = body.error;
      return;
    }
    Object.assign(this.message, pick(body, ['id', 'model', 'role', 'stop_reason', 'stop_sequence']));
    if (isRecord(body.usage)) this.usage = { ...body.usage };
    if (Array.isArray(body.content)) {
      for (const b of body.content) if (isRecord(b) && typeof b.type === 'string') this.blocks.push(b as Block);
    }
  }

  protected onEvent(event: string, data: string): void {
    if (event === 'ping') {
      this.pings++;
      return;
    }
    const ev = parseJson(data);
    if (!isRecord(ev)) return;
    const type = typeof ev.type === 'string' ? ev.type : event;
    switch (type) {
      case 'message_start': {
        const m = ev.message;
        if (!isRecord(m)) return;
        Object.assign(this.message, pick(m, ['id', 'model', 'role']));
        if (isRecord(m.usage)) this.usage = { ...this.usage, ...m.usage };
        return;
      }
      case 'content_block_start': {
        const index = typeof ev.index === 'number' ? ev.index : this.blocks.length;
        const cb = ev.content_block;
        if (!isRecord(cb) || typeof cb.type !== 'string') return;
        const block: Block = { ...cb, type: cb.type };
        if (block.type === 'tool_use' || block.type === 'server_tool_use' || block.type === 'mcp_tool_use') this.toolJson.set(index, '');
        this.blocks[index] = block;
        return;
      }
      case 'content_block_delta': {
        const index = typeof ev.index === 'number' ? ev.index : -1;
        const block = this.blocks[index];
        const d = ev.delta;
        if (block === undefined || !isRecord(d)) return;
        this.applyDelta(index, block, d);
        return;
      }
      case 'content_block_stop': {
        const index = typeof ev.index === 'number' ? ev.index : -1;
        this.finishBlock(index);
        return;
      }
      case 'message_delta': {
        const d = ev.delta;
        if (isRecord(d)) Object.assign(this.message, pick(d, ['stop_reason', 'stop_sequence']));
        // message_delta usage is cumulative: it replaces the running counts it names.
        if (isRecord(ev.usage)) this.usage = { ...this.usage, ...ev.usage };
        return;
      }
      case 'message_stop':
        this.message.stopped = true;
        return;
      case 'error':
        this.error = ev.error;
        return;
      default:
        return;
    }
  }

  private applyDelta(index: number, block: Block, d: Record<string, unknown>): void {
    switch (d.type) {
      case 'text_delta':
        if (typeof d.text === 'string') block.text = String(block.text ?? '') + this.budget.take(d.text);
        return;
      case 'input_json_delta':
        if (typeof d.partial_json === 'string') this.toolJson.set(index, (this.toolJson.get(index) ?? '') + this.budget.take(d.partial_json));
        return;
      case 'thinking_delta':
        if (typeof d.thinking === 'string') block.thinking = String(block.thinking ?? '') + this.budget.take(d.thinking);
        return;
      case 'signature_delta':
        if (typeof d.signature === 'string') block.signature = d.signature;
        return;
      case 'citations_delta': {
        const list = Array.isArray(block.citations) ? block.citations : [];
        if (this.budget.charge(64)) list.push(d.citation);
        block.citations = list;
        return;
      }
      default:
        return;
    }
  }

  private finishBlock(index: number): void {
    const block = this.blocks[index];
    const raw = this.toolJson.get(index);
    if (block === undefined || raw === undefined) return;
    this.toolJson.delete(index);
    if (raw === '') {
      if (!isRecord(block.input)) block.input = {};
      return;
    }
    const input = parseJson(raw);
    if (input === undefined) {
      block.input = undefined;
      block.inputJson = raw;
      block.inputIncomplete = true;
    } else {
      block.input = input;
    }
  }

  result(): Record<string, unknown> {
    const response: Record<string, unknown> = { ...this.message, content: this.blocks.filter((b) => b !== undefined), usage: this.usage };
    const out: Record<string, unknown> = {
      provider: 'anthropic',
      api: 'messages',
      status: this.status,
      stream: this.stream,
      request: this.requestBlock,
      response,
    };
    if (this.stream) {
      out.events = this.events;
      out.pings = this.pings;
    }
    return this.finish(out);
  }
}
