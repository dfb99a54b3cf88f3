import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createWebhookNotifier } from '../../../../gateway/src/approvals/notifiers/webhook';
import type { Approval } from '../../../../gateway/src/approvals/types';
import { startUpstream, type Upstream } from '../../../support/upstreams';

/** The webhook notifier against a real local HTTP server that captures the posts. */
const approval: Approval = {
  id: 'ap_TEST',
  status: 'pending',
  sessionId: 's_1',
  requestId: 'r_1.1',
  connection: 'prod-api',
  protocol: 'http',
  action: 'http:DELETE',
  summary: 'DELETE /users/<script>',
  attributes: {},
  requester: { subject: 'ada', issuer: 'https://idp.test', name: 'ada@example.com', groups: ['developers'] },
  reasons: ['prod-deletes'],
  minApprovals: 1,
  createdAt: new Date('2026-03-01T12:00:00Z'),
  expiresAt: new Date('2026-03-01T12:05:00Z'),
  decidedAt: null,
  reason: null,
  instanceId: 'a',
  votes: [],
};

function capturingLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
  return { logger, lines };
}

describe('webhook notifier', () => {
  let hook: Upstream;
  let statuses: number[];
  beforeEach(async () => {
    statuses = [];
    hook = await startUpstream((_req, res) => {
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  afterEach(async () => hook.close());

  const secrets: Record<string, string> = { 'env:HOOK_URL': '', 'env:HOOK_TOKEN': 'hook-token-123', 'env:SIGN': 'signing-key' };
  const resolveSecret = async (ref: string) => {
    if (ref === 'env:HOOK_URL') return `${hook.url}/secret-path-xyz`;
    const v = secrets[ref];
    if (v === undefined) throw Object.assign(new Error('missing'), { code: 'GH_ERR_SECRET_UNAVAILABLE' });
    return v;
  };

  test('posts generic JSON with secret headers and a verifiable signature', async () => {
    const { logger } = capturingLogger();
    const n = createWebhookNotifier({ name: 'generic', url: 'env:HOOK_URL', format: 'json', secretHeaders: { authorization: 'env:HOOK_TOKEN' }, signingSecret: 'env:SIGN', consoleUrl: 'https://console.test/', resolveSecret, logger });
    await n.notify(approval);
    expect(hook.received).toHaveLength(1);
    const got = hook.received[0]!;
    expect(got.url).toBe('/secret-path-xyz');
    expect(got.headers.authorization).toBe('hook-token-123');
    const body = got.body.toString();
    const expected = createHmac('sha256', 'signing-key').update(`${String(got.headers['x-gatehouse-timestamp'])}.${body}`).digest('hex');
    expect(got.headers['x-gatehouse-signature']).toBe(`v1=${expected}`);
    expect(JSON.parse(body)).toMatchObject({ id: 'ap_TEST', link: 'https://console.test/approvals/ap_TEST', requester: { subject: 'ada', groups: ['developers'] }, expiresAt: '2026-03-01T12:05:00.000Z' });
  });

  test('slack format escapes request text so it cannot become a link or mention', async () => {
    const { logger } = capturingLogger();
    await createWebhookNotifier({ name: 'slack', url: hook.url, format: 'slack', resolveSecret, logger }).notify(approval);
    const msg = JSON.parse(hook.received[0]!.body.toString()) as { text: string; blocks: unknown[] };
    expect(msg.text).toContain('DELETE /users/&lt;script&gt;');
    expect(JSON.stringify(msg.blocks)).not.toContain('<script>');
    expect(JSON.stringify(msg.blocks)).toContain('gatehouse approvals approve ap_TEST');
  });

  test('retries server errors, then gives up quietly; the log names neither URL nor header values', async () => {
    statuses = [503, 503, 503];
    const { logger, lines } = capturingLogger();
    const n = createWebhookNotifier({ name: 'flaky', url: 'env:HOOK_URL', format: 'json', secretHeaders: { authorization: 'env:HOOK_TOKEN' }, retries: 2, retryDelayMs: 1, resolveSecret, logger });
    await expect(n.notify(approval)).resolves.toBeUndefined();
    expect(hook.received).toHaveLength(3);
    const log = lines.join('');
    expect(log).toContain('approval notification failed');
    expect(log).not.toContain('secret-path-xyz');
    expect(log).not.toContain('hook-token-123');
  });

  test('a client error is not retried; an unreachable hook and a missing secret never throw', async () => {
    statuses = [400];
    const { logger, lines } = capturingLogger();
    await createWebhookNotifier({ name: 'bad', url: hook.url, format: 'json', retryDelayMs: 1, resolveSecret, logger }).notify(approval);
    expect(hook.received).toHaveLength(1);
    await expect(createWebhookNotifier({ name: 'down', url: 'http://127.0.0.1:1/x', format: 'json', retries: 1, retryDelayMs: 1, resolveSecret, logger }).notify(approval)).resolves.toBeUndefined();
    await expect(createWebhookNotifier({ name: 'nosecret', url: 'env:NOPE', format: 'json', resolveSecret, logger }).notify(approval)).resolves.toBeUndefined();
    expect(lines.join('')).toContain('could not be prepared');
  });
});
