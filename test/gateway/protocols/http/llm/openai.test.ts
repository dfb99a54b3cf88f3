import { FAKE_OPENAI_KEY, startFakeOpenAi, startUpstream, type Upstream } from '../../../../support/upstreams';
import { startPipelineWorld, startRealPipeline, type PipelineWorld, type RealPipeline } from '../../../../support/real-pipeline';
import { connection, startProxy, type RunningProxy } from '../harness';

/** On the real pipeline: members of `llm-users` may call the model. */
const POLICY = 'permit (principal in Gatehouse::Group::"llm-users", action, resource);';
let TOKEN = '';
let world: PipelineWorld;
beforeAll(async () => {
  world = await startPipelineWorld();
}, 60_000);
afterAll(() => world.close());

const tools = [{ type: 'function', function: { name: 'get_forecast', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];

interface ChatTranscript {
  provider: string;
  api: string;
  stream: boolean;
  done?: boolean;
  request: { model: string; messages: unknown[]; parameters: Record<string, unknown> };
  response: { id: string; model: string; choices: Record<string, unknown>[]; usage: Record<string, number> };
}

describe('OpenAI APIs through the proxy', () => {
  let upstream: Upstream;
  let env: RealPipeline;
  let pipeline: RealPipeline['pipeline'];
  let running: RunningProxy;

  beforeEach(async () => {
    upstream = await startFakeOpenAi();
    env = await startRealPipeline({ world, policy: POLICY, env: { OPENAI_API_KEY: FAKE_OPENAI_KEY } });
    pipeline = env.pipeline;
    TOKEN = await env.token(['llm-users'], 'ci-job');
    running = await startProxy(pipeline, [
      connection({ name: 'openai', upstream: `${upstream.url}/v1`, route: { pathPrefix: '/openai' }, credential: { type: 'bearer', secret: 'env:OPENAI_API_KEY' }, llm: 'openai' }),
    ]);
  });
  afterEach(async () => {
    await running.close();
    await upstream.close();
    await env.close();
  });

  async function chat(body: Record<string, unknown>): Promise<Response> {
    return fetch(`${running.url}/openai/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  it('records a streamed chat completion with text, assembled tool call arguments and usage', async () => {
    const res = await chat({ model: 'gpt-5', stream: true, stream_options: { include_usage: true }, temperature: 0, tools, messages: [{ role: 'user', content: 'Forecast for Berlin?' }] });
    expect(res.status).toBe(200);
    const raw = await res.text();
    expect(raw).toContain('data: [DONE]');
    expect(upstream.received[0]!.headers.authorization).toBe(`Bearer ${FAKE_OPENAI_KEY}`);
    const t = (await env.waitForEvent('llm.exchange')).payload as unknown as ChatTranscript;
    expect(t).toMatchObject({ provider: 'openai', api: 'chat.completions', stream: true, done: true });
    expect(t.request.model).toBe('gpt-5');
    expect(t.request.messages).toEqual([{ role: 'user', content: 'Forecast for Berlin?' }]);
    expect(t.request.parameters).toMatchObject({ temperature: 0, tools: ['get_forecast'], stream: true });
    expect(t.response.id).toBe('chatcmpl-fake1');
    expect(t.response.choices).toEqual([
      {
        index: 0,
        role: 'assistant',
        content: 'Sure, checking the forecast.',
        finish_reason: 'tool_calls',
        tool_calls: [{ id: 'call_abc123', type: 'function', name: 'get_forecast', arguments: '{"city":"Berlin","days":3}', input: { city: 'Berlin', days: 3 } }],
      },
    ]);
    expect(t.response.usage).toEqual({ prompt_tokens: 31, completion_tokens: 17, total_tokens: 48 });
  });

  it('records a non-streamed chat completion', async () => {
    const res = await chat({ model: 'gpt-5', tools, messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(200);
    await res.json();
    const t = (await env.waitForEvent('llm.exchange')).payload as unknown as ChatTranscript;
    expect(t.stream).toBe(false);
    expect(t.response.choices[0]).toMatchObject({ content: 'Sure, checking the forecast.', tool_calls: [{ name: 'get_forecast', input: { city: 'Berlin', days: 3 } }] });
    expect(t.response.usage.total_tokens).toBe(48);
  });

  it('a refusal reaches an OpenAI-style client with error.message and error.code', async () => {
    // A caller outside `llm-users`: no policy permits the call.
    TOKEN = await env.token([], 'ci-job');
    const res = await chat({ model: 'gpt-5', messages: [] });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { message: string; code: string; type: string; decision: string } };
    expect(body.error).toMatchObject({ code: 'GH_ERR_POLICY_DENIED', type: 'permission_error', decision: 'policy.no_permit' });
    expect(body.error.message).toEqual(expect.any(String));
    expect(upstream.received).toHaveLength(0);
  });

  it('with masking, streamed tool call arguments are masked as JSON: escapes decoded, the assembled arguments parse', async () => {
    await running.close();
    running = await startProxy(pipeline, [
      connection({ name: 'openai', upstream: `${upstream.url}/v1`, route: { pathPrefix: '/openai' }, credential: { type: 'bearer', secret: 'env:OPENAI_API_KEY' }, llm: 'openai', masking: {} }),
    ]);
    const input = { city: 'Berlin', note: 'owner:\nada.lovelace@example.com\nkey AKIAIOSFODNN7EXAMPLE' };
    const res = await chat({ model: 'gpt-5', stream: true, tools, messages: [{ role: 'user', content: `Tool input: ${JSON.stringify(input)}` }] });
    expect(res.status).toBe(200);
    let args = '';
    for (const line of (await res.text()).split('\n')) {
      if (!line.startsWith('data: {')) continue;
      const chunk = JSON.parse(line.slice(6)) as { choices?: { delta?: { tool_calls?: { function?: { arguments?: string } }[] } }[] };
      for (const tc of chunk.choices?.[0]?.delta?.tool_calls ?? []) args += tc.function?.arguments ?? '';
    }
    expect(JSON.parse(args)).toEqual({ city: 'Berlin', note: 'owner:\n[EMAIL]\nkey [AWS_ACCESS_KEY_ID]' });
  });
});

describe('OpenAI Responses API through the proxy', () => {
  it('records the final response of a streamed Responses call', async () => {
    const final = {
      id: 'resp_1',
      model: 'gpt-5',
      status: 'completed',
      output: [
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hi there' }] },
        { type: 'function_call', name: 'lookup', arguments: '{"q":"x"}', call_id: 'call_1' },
      ],
      usage: { input_tokens: 5, output_tokens: 7, total_tokens: 12 },
    };
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: response.created\ndata: ${JSON.stringify({ type: 'response.created', response: { id: 'resp_1', status: 'in_progress' } })}\n\n`);
      res.write(`event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'Hi ' })}\n\n`);
      res.write(`event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'there' })}\n\n`);
      res.end(`event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: final })}\n\n`);
    });
    const env = await startRealPipeline({ world, policy: POLICY });
    TOKEN = await env.token(['llm-users'], 'a');
    const running = await startProxy(env.pipeline, [connection({ name: 'oa', upstream: upstream.url, route: { pathPrefix: '/' }, llm: 'openai' })]);
    try {
      const res = await fetch(`${running.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-5', instructions: 'be brief', input: 'hello', stream: true, tools: [{ type: 'function', name: 'lookup' }] }),
      });
      await res.text();
      const t = (await env.waitForEvent('llm.exchange')).payload as Record<string, any>;
      expect(t.api).toBe('responses');
      expect(t.request).toMatchObject({ model: 'gpt-5', instructions: 'be brief', input: 'hello', parameters: { tools: ['lookup'] } });
      expect(t.response).toMatchObject({ id: 'resp_1', status: 'completed', output: final.output, usage: final.usage, terminalEvent: 'response.completed' });
    } finally {
      await running.close();
      await upstream.close();
      await env.close();
    }
  });

});
