import Anthropic from '@anthropic-ai/sdk';
import { startDemoUpstream } from '../../../gateway/src/cli/demo-upstream';

/** `gatehouse dev`'s Messages API stand-in, read by the official SDK (streamed and not). */
describe('the demo upstream as a Messages API stand-in', () => {
  let demo: Awaited<ReturnType<typeof startDemoUpstream>>;
  beforeAll(async () => {
    demo = await startDemoUpstream(0, 'demo-key');
  });
  afterAll(() => demo.close());

  test('answers with its own key, streamed and not; refuses any other key', async () => {
    const client = new Anthropic({ baseURL: demo.url, apiKey: 'demo-key', maxRetries: 0 });
    const message = await client.messages.create({ model: 'claude-demo', max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] });
    expect(message.content[0]).toMatchObject({ type: 'text', text: expect.stringContaining('Gatehouse demo model') });
    const stream = client.messages.stream({ model: 'claude-demo', max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('end_turn');
    expect(final.content[0]).toMatchObject({ type: 'text', text: (message.content[0] as { text: string }).text });

    const wrong = new Anthropic({ baseURL: demo.url, apiKey: 'a-token-the-gateway-should-have-replaced', maxRetries: 0 });
    await expect(wrong.messages.create({ model: 'claude-demo', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 401 });
  });
});
