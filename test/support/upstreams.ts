import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';

/**
 * Real loopback upstream servers for protocol tests (port 0 on 127.0.0.1, stopped by the test).
 * Each records what it received so tests can assert on what actually reached the upstream.
 */
export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface Upstream {
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedRequest[];
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface UpstreamOptions {
  /** Called when a request's headers arrive (before its body): for ordering proofs. */
  readonly onRequest?: (req: IncomingMessage) => void;
}

export async function startUpstream(handler: Handler, options: UpstreamOptions = {}): Promise<Upstream> {
  const received: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    options.onRequest?.(req);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      Promise.resolve(handler(req, res, body)).catch((e: unknown) => {
        res.destroy(e instanceof Error ? e : new Error(String(e)));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Echo: answers JSON describing what it received (method, url, headers, body). `/gzip/...` answers
 * gzip-compressed when the request accepts gzip; `/big/<n>` answers n bytes of text.
 */
export function startEcho(options: UpstreamOptions = {}): Promise<Upstream> {
  return startUpstream((req, res, body) => {
    const url = req.url ?? '/';
    const big = /^\/big\/(\d+)/.exec(url);
    if (big !== null) {
      const n = Number(big[1]);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': n });
      res.end('x'.repeat(n));
      return;
    }
    const json = JSON.stringify({ method: req.method, url, headers: req.headers, body: body.toString('utf8'), bodyLength: body.length });
    if (url.startsWith('/gzip') && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      const gz = zlib.gzipSync(Buffer.from(json));
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': gz.length });
      res.end(gz);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'upstream=1' });
    res.end(json);
  }, options);
}

/** An SSE streamer whose last event waits for `release()`: proves streaming without timing. */
export interface GatedStreamer extends Upstream {
  /** Sends the final event and ends the stream. */
  release(): void;
  /** True once the final event was written. */
  readonly lastSent: boolean;
}

export async function startGatedStreamer(events: number): Promise<GatedStreamer> {
  let releaseFn: (() => void) | undefined;
  const gate = new Promise<void>((resolve) => (releaseFn = resolve));
  let lastSent = false;
  const up = await startUpstream(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (let i = 0; i < events - 1; i++) {
      res.write(`event: tick\ndata: {"n":${i}}\n\n`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await gate;
    lastSent = true;
    res.end(`event: tick\ndata: {"n":${events - 1},"last":true}\n\n`);
  });
  return {
    ...up,
    release: () => releaseFn?.(),
    get lastSent() {
      return lastSent;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Anthropic-like Messages API

export const FAKE_ANTHROPIC_KEY = 'sk-ant-upstream-secret-0123456789';

interface FakeBlock {
  type: 'text' | 'tool_use' | 'thinking';
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  thinking?: string;
  signature?: string;
}

/** What the fake model answers: a text block, a tool_use when tools are offered, thinking when asked. */
/** `Tool input: <json>` as the last user message makes the model call its tool with exactly that input (masking tests). */
function scriptedToolInput(last: unknown): Record<string, unknown> | undefined {
  return typeof last === 'string' && last.startsWith('Tool input: ') ? (JSON.parse(last.slice('Tool input: '.length)) as Record<string, unknown>) : undefined;
}

function scriptAnswer(req: Record<string, unknown>): { blocks: FakeBlock[]; stopReason: string } {
  const blocks: FakeBlock[] = [];
  if (req.thinking !== undefined) blocks.push({ type: 'thinking', thinking: 'The user wants the weather. I should call the tool.', signature: 'EqQBCkYIARgCIkB0ZXN0LXNpZ25hdHVyZQ==' });
  const tools = Array.isArray(req.tools) ? (req.tools as { name: string }[]) : [];
  const messages = Array.isArray(req.messages) ? (req.messages as { content?: unknown }[]) : [];
  const last = messages[messages.length - 1]?.content;
  if (tools.length > 0) {
    blocks.push({ type: 'text', text: "I'll check the weather in Paris for you." });
    blocks.push({ type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: tools[0]!.name, input: scriptedToolInput(last) ?? { location: 'Paris, France', unit: 'celsius', days: [1, 2] } });
    return { blocks, stopReason: 'tool_use' };
  }
  // `Repeat: <text>` as the last user message makes the model answer exactly <text> (masking tests).
  if (typeof last === 'string' && last.startsWith('Repeat: ')) {
    blocks.push({ type: 'text', text: last.slice('Repeat: '.length) });
    return { blocks, stopReason: 'end_turn' };
  }
  blocks.push({ type: 'text', text: 'Hello from the fake Claude! Ünïcödé ✓ and more text so deltas split.' });
  return { blocks, stopReason: 'end_turn' };
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Splits a string into pieces of at most n characters (how the API streams text and JSON). */
function pieces(s: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += n) out.push(s.slice(i, i + n));
  return out;
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

/**
 * Streams like the real Messages API: message_start (usage with input tokens), content blocks
 * (start, deltas, stop; tool_use input as input_json_delta pieces; thinking with thinking_delta and
 * signature_delta), ping, message_delta (stop_reason, cumulative usage), message_stop. Each event
 * is written in two TCP writes with a pause between, so consumers must reassemble split events.
 * Non-streamed requests get the same message as one JSON body. Checks `x-api-key` like the API.
 */
export function startFakeAnthropic(): Promise<Upstream> {
  return startUpstream(async (req, res, body) => {
    if (req.headers['x-api-key'] !== FAKE_ANTHROPIC_KEY) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }));
      return;
    }
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || path !== '/v1/messages') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'Not found' } }));
      return;
    }
    const request = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const model = String(request.model);
    const { blocks, stopReason } = scriptAnswer(request);
    const id = 'msg_01XFDUDYJgAACzvnptvVoYEL';
    const usage = { input_tokens: 472, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 89 };
    const headers = { 'request-id': 'req_fake_1', 'anthropic-organization-id': 'org-fake' };
    if (request.stream !== true) {
      const content = blocks.map((b) => ({ ...b }));
      res.writeHead(200, { ...headers, 'content-type': 'application/json' });
      res.end(JSON.stringify({ id, type: 'message', role: 'assistant', model, content, stop_reason: stopReason, stop_sequence: null, usage }));
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const send = async (event: string, data: unknown): Promise<void> => {
      const text = sse(event, data);
      const cut = Math.floor(text.length / 2);
      res.write(text.slice(0, cut));
      await tick();
      res.write(text.slice(cut));
      await tick();
    };
    await send('message_start', {
      type: 'message_start',
      message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
    });
    let pinged = false;
    for (let index = 0; index < blocks.length; index++) {
      const b = blocks[index]!;
      if (b.type === 'text') {
        await send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
        if (!pinged) {
          await send('ping', { type: 'ping' });
          pinged = true;
        }
        for (const p of pieces(b.text!, 7)) await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: p } });
      } else if (b.type === 'thinking') {
        await send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '' } });
        for (const p of pieces(b.thinking!, 11)) await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: p } });
        await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: b.signature } });
      } else {
        await send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } });
        await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: '' } });
        for (const p of pieces(JSON.stringify(b.input), 9)) await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: p } });
      }
      await send('content_block_stop', { type: 'content_block_stop', index });
    }
    await send('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
    await send('message_stop', { type: 'message_stop' });
    res.end();
  });
}

// ---------------------------------------------------------------------------------------------
// OpenAI-like Chat Completions

export const FAKE_OPENAI_KEY = 'sk-openai-upstream-secret-abcdef';

/** Streams like Chat Completions: role chunk, content pieces, tool_calls pieces, finish_reason, usage chunk, [DONE]. */
export function startFakeOpenAi(): Promise<Upstream> {
  return startUpstream(async (req, res, body) => {
    if (req.headers.authorization !== `Bearer ${FAKE_OPENAI_KEY}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } }));
      return;
    }
    const request = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const model = String(request.model);
    const tools = Array.isArray(request.tools) ? (request.tools as { function: { name: string } }[]) : [];
    const text = 'Sure, checking the forecast.';
    const messages = Array.isArray(request.messages) ? (request.messages as { content?: unknown }[]) : [];
    const args = JSON.stringify(scriptedToolInput(messages[messages.length - 1]?.content) ?? { city: 'Berlin', days: 3 });
    const usage = { prompt_tokens: 31, completion_tokens: 17, total_tokens: 48 };
    const base = { id: 'chatcmpl-fake1', object: 'chat.completion.chunk', created: 1700000000, model };
    if (request.stream !== true) {
      const message: Record<string, unknown> = { role: 'assistant', content: text };
      if (tools.length > 0) message.tool_calls = [{ id: 'call_abc123', type: 'function', function: { name: tools[0]!.function.name, arguments: args } }];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: base.id, object: 'chat.completion', created: base.created, model, choices: [{ index: 0, message, finish_reason: tools.length > 0 ? 'tool_calls' : 'stop' }], usage }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = async (data: unknown): Promise<void> => {
      const line = `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
      const cut = Math.floor(line.length / 3);
      res.write(line.slice(0, cut));
      await tick();
      res.write(line.slice(cut));
      await tick();
    };
    await send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    for (const p of pieces(text, 5)) await send({ ...base, choices: [{ index: 0, delta: { content: p }, finish_reason: null }] });
    if (tools.length > 0) {
      await send({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_abc123', type: 'function', function: { name: tools[0]!.function.name, arguments: '' } }] }, finish_reason: null }] });
      for (const p of pieces(args, 6)) await send({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: p } }] }, finish_reason: null }] });
    }
    await send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: tools.length > 0 ? 'tool_calls' : 'stop' }] });
    const so = request.stream_options as { include_usage?: boolean } | undefined;
    if (so?.include_usage === true) await send({ ...base, choices: [], usage });
    await send('[DONE]');
    res.end();
  });
}
