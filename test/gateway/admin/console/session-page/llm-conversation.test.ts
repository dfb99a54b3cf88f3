import Anthropic from '@anthropic-ai/sdk';
import { renderSessionPage } from '../../../../../gateway/src/admin/console/session-page';
import { FAKE_ANTHROPIC_KEY, startFakeAnthropic, type Upstream } from '../../../../support/upstreams';
import { startPipelineWorld, startRealPipeline, type PipelineWorld, type RealPipeline } from '../../../../support/real-pipeline';
import { connection, startProxy, type RunningProxy } from '../../../protocols/http/harness';

const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>';

/** The page renders the events the real pipeline stored (read back from its log store), as the console does. */
describe('session page: an LLM session recorded through the real proxy (masking connection, fake Anthropic)', () => {
  let world: PipelineWorld;
  let env: RealPipeline;
  let upstream: Upstream;
  let running: RunningProxy;
  let page: string;

  beforeAll(async () => {
    upstream = await startFakeAnthropic();
    world = await startPipelineWorld();
    env = await startRealPipeline({ world, policy: '@id("developers") permit (principal in Gatehouse::Group::"developers", action, resource);', env: { ANTHROPIC_API_KEY: FAKE_ANTHROPIC_KEY }, bodyCapBytes: 65536 });
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
    const client = new Anthropic({ baseURL: `${running.url}/anthropic`, apiKey: await env.token(['developers'], 'dev'), maxRetries: 0 });
    await client.messages
      .stream({
        model: 'claude-sonnet-4-5',
        max_tokens: 1024,
        system: `You are a weather bot. ${HOSTILE}`,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        tools: [{ name: 'get_weather', description: 'weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
        messages: [
          { role: 'user', content: `What is the weather in Paris? My key is ${AWS_KEY}` },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_prev', name: 'get_weather', input: { location: 'Lyon' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_prev', content: 'Lyon: 12°C' }] },
        ],
      })
      .finalMessage();
    const exchange = await env.waitForEvent('llm.exchange');
    const events = await env.events(exchange.session);
    page = renderSessionPage({
      session: { id: events[0]!.session, protocol: 'http', eventCount: events.length, chain: { intact: true } },
      events,
      viewer: { name: 'auditor', subject: 'auditor' },
      links: { self: '/console/sessions/s1', exportJson: '/console/sessions/s1/export.json' },
    }).value;
  }, 60_000);
  afterAll(async () => {
    await running?.close();
    await upstream?.close();
    await env?.close();
    await world?.close();
  });

  it('renders the call as a conversation: system prompt, user turns, tool result, thinking, answer and tool call', () => {
    const llm = page.slice(page.indexOf('<section class="gh-llm"'));
    const roles = [...llm.matchAll(/<div class="gh-role">([^<]+)<\/div>/g)].map((m) => m[1]);
    expect(roles).toEqual(['system prompt', 'user', 'assistant', 'user', 'assistant (answer)']);
    expect(llm).toContain('You are a weather bot.');
    expect(llm).toMatch(/tool result for <code>toolu_prev<\/code>/);
    expect(llm).toContain('Lyon: 12°C');
    expect(llm).toMatch(/<details class="gh-thinking"><summary>thinking<\/summary><div class="gh-text">The user wants the weather\. I should call the tool\.<\/div>/);
    expect(llm).toContain("I&#39;ll check the weather in Paris for you.");
    expect(llm).toMatch(/tool call <code class="gh-tool-name">get_weather<\/code>/);
    expect(llm).toContain('&quot;location&quot;: &quot;Paris, France&quot;');
  });

  it('shows usage and an estimated cost from the price table', () => {
    expect(page).toMatch(/tokens: in \d+, out 89/);
    expect(page).toMatch(/≈ \$0\.\d+ \(estimate\)/);
    expect(page).toContain('estimate from list prices for claude-sonnet');
  });

  it('marks what was masked and never shows the secret', () => {
    expect(page).not.toContain(AWS_KEY);
    expect(page).toContain('<mark class="gh-masked" title="masked by the gateway">[AWS_ACCESS_KEY_ID]</mark>');
    expect(page).toMatch(/masked transcript \(\d+ values\)/);
    // The raw HTTP request event says what it masked, per type.
    expect(page).toMatch(/masked: <span class="gh-mask-type">aws_access_key_id<\/span> × \d/);
  });

  it('keeps hostile prompt text as text (no markup from the record, no inline script or style)', () => {
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img src=x');
    expect(page).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;');
    expect(page).not.toMatch(/\sstyle=/);
    expect(page).not.toMatch(/<script(?![^>]*\ssrc=)/);
    expect(page).not.toMatch(/<[^>]*\son[a-z]+=/);
  });

  it('gives every event an anchor and a link to it', () => {
    expect(page).toMatch(/<li class="gh-event [^"]*" id="e-0">/);
    expect(page).toContain('<a class="gh-seq" href="#e-0"');
    expect(page).toContain('<span class="gh-type">llm.exchange</span>');
    expect(page).toContain('<span class="gh-type">http.request</span>');
  });
});
