import Anthropic from '@anthropic-ai/sdk';
import { FAKE_ANTHROPIC_KEY, startFakeAnthropic, type Upstream } from '../../../../support/upstreams';
import { startPipelineWorld, startRealPipeline, type EventView, type PipelineWorld, type RealPipeline } from '../../../../support/real-pipeline';
import { connection, startProxy, type RunningProxy } from '../harness';

const MODEL = 'claude-sonnet-5-5';
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const EMAIL = 'grace.hopper@example.com';
// The fake streams text in 7-character deltas: both values are split across two or more deltas.
const ANSWER = `Your key is ${AWS_KEY} and the owner is ${EMAIL}, done.`;
const MASKED = 'Your key is [AWS_ACCESS_KEY_ID] and the owner is [EMAIL], done.';

/** On the real GatewayPipeline, one per file; what is checked is what the log store holds. */
describe('Anthropic Messages API through a masking connection (official SDK)', () => {
  let world: PipelineWorld;
  let env: RealPipeline;
  let token: string;
  let upstream: Upstream;
  let running: RunningProxy | undefined;
  let client: Anthropic;
  /** What this test's sessions recorded. */
  let recorded: EventView;

  beforeAll(async () => {
    world = await startPipelineWorld();
    env = await startRealPipeline({ world, policy: '@id("developers") permit (principal in Gatehouse::Group::"developers", action, resource);', env: { ANTHROPIC_API_KEY: FAKE_ANTHROPIC_KEY }, bodyCapBytes: 65536 });
    token = await env.token(['developers'], 'dev');
  }, 60_000);
  afterAll(async () => {
    await env?.close();
    await world?.close();
  });

  beforeEach(async () => {
    upstream = await startFakeAnthropic();
    recorded = await env.newSessions();
    running = await startProxy(env.pipeline, [
      connection({
        name: 'anthropic',
        upstream: upstream.url,
        route: { pathPrefix: '/anthropic' },
        credential: { type: 'header', header: 'x-api-key', secret: 'env:ANTHROPIC_API_KEY' },
        llm: 'anthropic',
        masking: {},
      }),
    ]);
    client = new Anthropic({ baseURL: `${running.url}/anthropic`, apiKey: token, maxRetries: 0 });
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
    await upstream.close();
  });

  async function recordedText(): Promise<string> {
    return JSON.stringify(await recorded.all());
  }

  it('streams: secrets split across text deltas are masked, the SDK parses the stream, the transcript and raw exchange are masked', async () => {
    const stream = client.messages.stream({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: `Repeat: ${ANSWER}` }] });
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    expect(texts.join('')).toBe(MASKED);
    expect(final.content[0]).toMatchObject({ type: 'text', text: MASKED });
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBe(89);
    // The upstream got the prompt as sent (masking is for what the agent receives and what is recorded).
    expect(upstream.received[0]!.body.toString()).toContain(AWS_KEY);

    const ex = await recorded.waitFor('llm.exchange');
    const t = ex.payload as { masked: boolean; response: { content: { text: string }[] }; request: { messages: { content: string }[] } };
    expect(t.masked).toBe(true);
    expect(t.response.content[0]!.text).toBe(MASKED);
    expect(t.request.messages[0]!.content).toBe(`Repeat: ${MASKED}`);
    const res = await recorded.waitFor('http.response');
    const raw = (res.payload.body as { text: string }).text;
    expect(raw).toContain('event: content_block_delta');
    expect(raw).toContain('event: message_stop');
    expect(await recordedText()).not.toContain(AWS_KEY);
    expect(await recordedText()).not.toContain(EMAIL);
    await running!.close();
    running = undefined;
    expect(await recorded.counters()).toMatchObject({ 'masked.aws_access_key_id': 2, 'masked.email': 2 });
  });

  it('does not stream: the JSON answer and its transcript are masked', async () => {
    const message = await client.messages.create({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: `Repeat: ${ANSWER}` }] });
    expect(message.content[0]).toMatchObject({ type: 'text', text: MASKED });
    const ex = await recorded.waitFor('llm.exchange');
    expect((ex.payload as { response: { content: { text: string }[] } }).response.content[0]!.text).toBe(MASKED);
    expect(await recordedText()).not.toContain(AWS_KEY);
    expect(await recordedText()).not.toContain(EMAIL);
  });

  it('masks a tool call input streamed as JSON pieces', async () => {
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 256,
      tools: [{ name: 'get_weather', description: 'weather', input_schema: { type: 'object' as const, properties: {} } }],
      messages: [{ role: 'user', content: 'weather?' }],
    });
    const final = await stream.finalMessage();
    const tool = final.content.find((b) => b.type === 'tool_use');
    expect(tool).toMatchObject({ name: 'get_weather', input: { location: 'Paris, France', unit: 'celsius', days: [1, 2] } });
  });
  it('masks a tool call input as JSON: a key or email after an escaped newline is found, and the input stays parseable', async () => {
    // Streamed as raw JSON text, `\nAKIA…` reads `nAKIA…` (no word boundary before the key) and
    // `\nada@…` would be masked as `\[EMAIL]`, breaking the escape. Masked as JSON, both are found.
    const input = { path: '.env', content: `REGION=eu\n${AWS_KEY}\n${EMAIL}\nDONE=1` };
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 256,
      tools: [{ name: 'write_file', description: 'write', input_schema: { type: 'object' as const, properties: {} } }],
      messages: [{ role: 'user', content: `Tool input: ${JSON.stringify(input)}` }],
    });
    const final = await stream.finalMessage();
    const tool = final.content.find((b) => b.type === 'tool_use');
    expect(tool).toMatchObject({ name: 'write_file', input: { path: '.env', content: 'REGION=eu\n[AWS_ACCESS_KEY_ID]\n[EMAIL]\nDONE=1' } });
    // What the model sent, as recorded (the request holds both values: they are the prompt).
    await recorded.waitFor('llm.exchange');
    const answers = JSON.stringify((await recorded.all()).filter((e) => e.type === 'http.response' || e.type === 'llm.exchange').map((e) => (e.type === 'llm.exchange' ? (e.payload as { response?: unknown }).response : e.payload)));
    expect(answers).toContain('[AWS_ACCESS_KEY_ID]');
    expect(answers).not.toContain(AWS_KEY);
    expect(answers).not.toContain(EMAIL);
  });
});
