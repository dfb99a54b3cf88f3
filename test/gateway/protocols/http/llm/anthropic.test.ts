import Anthropic from '@anthropic-ai/sdk';
import http from 'node:http';
import { FAKE_ANTHROPIC_KEY, startFakeAnthropic, type Upstream } from '../../../../support/upstreams';
import type { AuditEvent } from '../../../../../gateway/src/recording/events';
import { startPipelineWorld, startRealPipeline, type EventView, type PipelineWorld, type RealPipeline } from '../../../../support/real-pipeline';
import { connection, startProxy, type RunningProxy } from '../harness';

/**
 * On the real GatewayPipeline, one per file (OIDC issuer, Cedar, the recorder on a filesystem log
 * store, PGlite's session index): the events checked are the ones the log store holds.
 */
const POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("llm-model")
@message("model calls are not allowed for your group")
forbid (principal in Gatehouse::Group::"contractors", action, resource);
`;
let world: PipelineWorld;
let env: RealPipeline;
/** A developer's token (sent as the API key, as Claude Code does). */
let TOKEN = '';
beforeAll(async () => {
  world = await startPipelineWorld();
  env = await startRealPipeline({ world, policy: POLICY, env: { ANTHROPIC_API_KEY: FAKE_ANTHROPIC_KEY }, bodyCapBytes: 65536 });
  TOKEN = await env.token(['developers'], 'dev');
}, 60_000);
afterAll(async () => {
  await env?.close();
  await world?.close();
});
const MODEL = 'claude-sonnet-5-5';

const weatherTool = {
  name: 'get_weather',
  description: 'Get the weather for a location',
  input_schema: { type: 'object' as const, properties: { location: { type: 'string' } }, required: ['location'] },
};

interface Transcript {
  provider: string;
  stream: boolean;
  truncated?: boolean;
  pings?: number;
  request: { model: string; system?: unknown; messages: unknown[]; parameters: Record<string, unknown>; problem?: string };
  response: { id: string; model: string; content: Record<string, unknown>[]; stop_reason: string; usage: Record<string, number> };
}

describe('Anthropic Messages API through the proxy', () => {
  let upstream: Upstream;
  let running: RunningProxy;
  /** What this test's sessions recorded. */
  let recorded: EventView;
  let client: Anthropic;

  async function start(connExtra: Record<string, unknown> = {}, proxyExtra: Record<string, unknown> = {}): Promise<void> {
    running = await startProxy(
      env.pipeline,
      [
        connection({
          name: 'anthropic',
          upstream: upstream.url,
          route: { pathPrefix: '/anthropic' },
          credential: { type: 'header', header: 'x-api-key', secret: 'env:ANTHROPIC_API_KEY' },
          llm: 'anthropic',
          ...connExtra,
        }),
      ],
      proxyExtra,
    );
    client = new Anthropic({ baseURL: `${running.url}/anthropic`, apiKey: TOKEN, maxRetries: 0 });
  }

  beforeEach(async () => {
    upstream = await startFakeAnthropic();
    recorded = await env.newSessions();
  });
  afterEach(async () => {
    await running.close();
    await upstream.close();
  });

  async function transcript(): Promise<{ event: AuditEvent; t: Transcript }> {
    const event = await recorded.waitFor('llm.exchange');
    return { event, t: event.payload as unknown as Transcript };
  }

  it('streams a tool-use answer with client.messages.stream and records the assembled transcript', async () => {
    await start();
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 1024,
      temperature: 0.2,
      system: 'You are a weather bot.',
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    });
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    expect(texts.join('')).toBe("I'll check the weather in Paris for you.");
    const toolUse = final.content.find((b) => b.type === 'tool_use');
    expect(toolUse).toMatchObject({ name: 'get_weather', input: { location: 'Paris, France', unit: 'celsius', days: [1, 2] } });

    const { event, t } = await transcript();
    expect(event.requestId).toBe((await recorded.of('http.request'))[0]!.requestId);
    expect(t.provider).toBe('anthropic');
    expect(t.stream).toBe(true);
    expect(t.request.model).toBe(MODEL);
    expect(t.request.system).toBe('You are a weather bot.');
    expect(t.request.messages).toEqual([{ role: 'user', content: 'What is the weather in Paris?' }]);
    expect(t.request.parameters).toMatchObject({ max_tokens: 1024, temperature: 0.2, tools: ['get_weather'], stream: true });
    expect(t.response.id).toBe('msg_01XFDUDYJgAACzvnptvVoYEL');
    expect(t.response.model).toBe(MODEL);
    expect(t.response.stop_reason).toBe('tool_use');
    expect(t.response.content).toEqual([
      { type: 'text', text: "I'll check the weather in Paris for you." },
      { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'Paris, France', unit: 'celsius', days: [1, 2] } },
    ]);
    expect(t.response.usage).toEqual({ input_tokens: 472, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 89 });
    expect(t.pings).toBe(1);
    expect(t.truncated).toBeUndefined();
  });

  it('records a non-streamed answer the same way', async () => {
    await start();
    const msg = await client.messages.create({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'Hello' }] });
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Hello from the fake Claude! Ünïcödé ✓ and more text so deltas split.' });
    const { t } = await transcript();
    expect(t.stream).toBe(false);
    expect(t.response.content).toEqual([{ type: 'text', text: 'Hello from the fake Claude! Ünïcödé ✓ and more text so deltas split.' }]);
    expect(t.response.stop_reason).toBe('end_turn');
    expect(t.response.usage.output_tokens).toBe(89);
  });

  it('records non-streamed tool use with its input', async () => {
    await start();
    const msg = await client.messages.create({ model: MODEL, max_tokens: 100, tools: [weatherTool], messages: [{ role: 'user', content: 'Weather?' }] });
    expect(msg.stop_reason).toBe('tool_use');
    const { t } = await transcript();
    expect(t.response.content[1]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { location: 'Paris, France' } });
  });

  it('assembles thinking blocks with their signature', async () => {
    await start();
    const final = await client.messages
      .stream({ model: MODEL, max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'Hi' }] })
      .finalMessage();
    expect(final.content[0]!.type).toBe('thinking');
    const { t } = await transcript();
    expect(t.response.content[0]).toEqual({ type: 'thinking', thinking: 'The user wants the weather. I should call the tool.', signature: 'EqQBCkYIARgCIkB0ZXN0LXNpZ25hdHVyZQ==' });
    expect(t.request.parameters.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
  });

  it('brokers the upstream key: the Gatehouse token never reaches the upstream; anthropic-version and anthropic-beta pass unchanged', async () => {
    await start();
    const betaClient = new Anthropic({
      baseURL: `${running.url}/anthropic`,
      apiKey: TOKEN,
      maxRetries: 0,
      defaultHeaders: { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14', 'x-claude-code-session-id': 'cc-session-9' },
    });
    await betaClient.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    const got = upstream.received[0]!;
    expect(got.headers['x-api-key']).toBe(FAKE_ANTHROPIC_KEY);
    expect(got.headers.authorization).toBeUndefined();
    expect(JSON.stringify(got.headers)).not.toContain(TOKEN);
    expect(got.headers['anthropic-version']).toBe('2023-06-01');
    expect(got.headers['anthropic-beta']).toBe('interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14');
    await transcript();
    const events = await recorded.all();
    expect(events.find((e) => e.type === 'session.start')!.payload.client).toMatchObject({ clientSessionId: 'cc-session-9' });
    expect(JSON.stringify(events)).not.toContain(FAKE_ANTHROPIC_KEY);
    expect(JSON.stringify(events)).not.toContain(TOKEN);
  });

  it('passes ping events through to the client (raw SSE) and keeps the raw stream byte for byte', async () => {
    await start();
    const raw = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        `${running.url}/anthropic/v1/messages`,
        { method: 'POST', agent: false, headers: { 'x-api-key': TOKEN, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ model: MODEL, max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'hi' }] }));
    });
    expect(raw).toContain('event: ping\ndata: {"type":"ping"}\n\n');
    expect(raw.startsWith('event: message_start\n')).toBe(true);
    expect(raw.trimEnd().endsWith('data: {"type":"message_stop"}')).toBe(true);
    const response = await recorded.waitFor('http.response');
    expect((response.payload.body as { text: string }).text).toBe(raw);
  });

  it('assembles the transcript beyond the raw body cap, which only bounds the raw capture', async () => {
    await start({ bodyCapBytes: 40 });
    await client.messages.stream({ model: MODEL, max_tokens: 10, tools: [weatherTool], messages: [{ role: 'user', content: 'Weather in Paris, please, with a long prompt.' }] }).finalMessage();
    const { t } = await transcript();
    expect(t.truncated).toBeUndefined();
    expect(t.request.messages).toHaveLength(1);
    expect(t.response.content[1]).toMatchObject({ input: { location: 'Paris, France', unit: 'celsius', days: [1, 2] } });
    const raw = await recorded.waitFor('http.response');
    expect(raw.payload.body).toMatchObject({ captured: 40, truncated: true });
    expect((await recorded.of('http.request'))[0]!.payload.body).toMatchObject({ truncated: true, complete: false });
  });

  it('bounds the transcript by its own limit and marks it truncated', async () => {
    await start({}, { transcriptLimitBytes: 120 });
    await client.messages.stream({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'Hello' }] }).finalMessage();
    const { t } = await transcript();
    expect(t.truncated).toBe(true);
    expect(String(t.response.content[0]?.text ?? '').length).toBeLessThan(60);
  });

  it('a policy refusal reaches the SDK as a PermissionDeniedError carrying the gateway message', async () => {
    await start();
    const contractor = new Anthropic({ baseURL: `${running.url}/anthropic`, apiKey: await env.token(['developers', 'contractors'], 'contractor'), maxRetries: 0 });
    const err = await contractor.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((err as Error).message).toContain('model calls are not allowed for your group');
    expect(upstream.received).toHaveLength(0);
  });

  it('a bad token reaches the SDK as an AuthenticationError carrying the gateway message', async () => {
    await start();
    // A real token whose claims were changed after signing (another subject): the signature does not verify.
    const [header, payload, signature] = TOKEN.split('.') as [string, string, string];
    const claims = { ...(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>), sub: 'mallory' };
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    const bad = new Anthropic({ baseURL: `${running.url}/anthropic`, apiKey: forged, maxRetries: 0 });
    const err = await bad.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as Error).message).toContain('GH_ERR_TOKEN_SIGNATURE');
    expect(upstream.received).toHaveLength(0);
  });
});

describe('compressed Anthropic streams', () => {
  it('decodes a gzip SSE stream incrementally for the transcript while the client receives the gzip bytes unchanged', async () => {
    const zlib = await import('node:zlib');
    const { startUpstream } = await import('../../../../support/upstreams');
    const events = [
      { type: 'message_start', message: { id: 'msg_gz', model: MODEL, role: 'assistant', content: [], usage: { input_tokens: 3, output_tokens: 1 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'ping' },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'compressed ' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hello' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 2 } },
      { type: 'message_stop' },
    ];
    const sent: Buffer[] = [];
    const up = await startUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      const gz = zlib.createGzip();
      gz.on('data', (c: Buffer) => {
        sent.push(c);
        res.write(c);
      });
      for (const e of events) {
        gz.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
        await new Promise<void>((r) => gz.flush(() => r()));
      }
      await new Promise<void>((r) => {
        gz.once('end', () => r());
        gz.end();
      });
      res.end();
    });
    const recorded = await env.newSessions();
    const running = await startProxy(env.pipeline, [connection({ name: 'anthropic', upstream: up.url, route: { pathPrefix: '/' }, llm: 'anthropic' })]);
    try {
      const got = await new Promise<Buffer>((resolve, reject) => {
        const req = http.request(`${running.url}/v1/messages`, { method: 'POST', agent: false, headers: { 'x-api-key': TOKEN, 'accept-encoding': 'gzip, zstd', 'content-type': 'application/json' } }, (res) => {
          expect(res.headers['content-encoding']).toBe('gzip');
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ model: MODEL, max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] }));
      });
      expect(got.equals(Buffer.concat(sent))).toBe(true);
      const t = (await recorded.waitFor('llm.exchange')).payload as unknown as Transcript;
      expect(t.response.content).toEqual([{ type: 'text', text: 'compressed hello' }]);
      expect(t.response.usage).toEqual({ input_tokens: 3, output_tokens: 2 });
      expect(t.pings).toBe(1);
    } finally {
      await running.close();
      await up.close();
    }
  });
});
