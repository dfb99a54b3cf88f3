import http from 'node:http';
import { TestPipeline } from '../../../support/test-pipeline';
import { startEcho, startGatedStreamer, type Upstream } from '../../../support/upstreams';
import { connection, request, startProxy, type RunningProxy } from './harness';

/**
 * Every request is judged under the principal of the token it carries: a session (keyed by a
 * session header or by the keep-alive socket) groups requests for the record but never lends the
 * principal of its first token (issue 15, point 2).
 */
describe('HTTP proxy: per-request principal', () => {
  let upstream: Upstream;
  let running: RunningProxy;
  let pipeline: TestPipeline;

  beforeEach(async () => {
    upstream = await startEcho();
    pipeline = new TestPipeline({
      tokens: {
        admin: { subject: 'alice', groups: ['admins'], tokenId: 'tok-admin' },
        plain: { subject: 'alice', groups: [], tokenId: 'tok-plain' },
      },
      // Only members of `admins` may DELETE.
      decide: (p, op) => (op.attributes.method !== 'DELETE' || p.groups.includes('admins') ? 'allow' : 'deny'),
    });
    running = await startProxy(pipeline, [connection({ name: 'api', upstream: upstream.url, route: { pathPrefix: '/api' } })], { now: () => clock });
  });
  let clock = 1_000_000;
  afterEach(async () => {
    await running.close();
    await upstream.close();
  });

  it('judges a later request on the same session header with its own, smaller token', async () => {
    const first = await request(`${running.url}/api/x`, { method: 'DELETE', headers: { authorization: 'Bearer admin', 'x-gatehouse-session': 'one' } });
    expect(first.status).toBe(200);
    const second = await request(`${running.url}/api/x`, { method: 'DELETE', headers: { authorization: 'Bearer plain', 'x-gatehouse-session': 'one' } });
    expect(second.status).toBe(403);
    expect(upstream.received.filter((r) => r.method === 'DELETE')).toHaveLength(1);
    // Same subject: one session; the denial names the principal actually checked.
    expect(new Set(pipeline.events.filter((e) => e.type === 'policy.denied').map((e) => e.session)).size).toBe(1);
    const denied = pipeline.eventsOf('policy.denied')[0]!;
    expect(denied.payload.principal).toMatchObject({ subject: 'alice', groups: [], tokenId: 'tok-plain' });
  });

  it('judges a later request on the same keep-alive socket with its own token', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await request(`${running.url}/api/x`, { method: 'DELETE', headers: { authorization: 'Bearer admin' }, agent });
      expect(first.status).toBe(200);
      const second = await request(`${running.url}/api/x`, { method: 'DELETE', headers: { authorization: 'Bearer plain' }, agent });
      expect(second.status).toBe(403);
      expect(pipeline.sessions).toHaveLength(1); // one socket, one subject: one session
    } finally {
      agent.destroy();
    }
  });

  it('opens a new session once the maximum session life has passed', async () => {
    await running.close();
    running = await startProxy(pipeline, [connection({ name: 'api', upstream: upstream.url, route: { pathPrefix: '/api' } })], { now: () => clock, sessionMaxSeconds: 60 });
    await request(`${running.url}/api/a`, { headers: { authorization: 'Bearer plain', 'x-gatehouse-session': 's' } });
    clock += 30_000;
    await request(`${running.url}/api/b`, { headers: { authorization: 'Bearer plain', 'x-gatehouse-session': 's' } });
    expect(pipeline.sessions).toHaveLength(1);
    clock += 31_000;
    await request(`${running.url}/api/c`, { headers: { authorization: 'Bearer plain', 'x-gatehouse-session': 's' } });
    expect(pipeline.sessions).toHaveLength(2);
    await pipeline.waitForEvent('session.end');
    expect(pipeline.sessions[0]!.closeReason).toBe('max_life');
  });
});

describe('HTTP proxy: a stream lives no longer than its token', () => {
  it('cuts a streaming response when the token it was authorized with expires, and records why', async () => {
    const streamer = await startGatedStreamer(3);
    const pipeline = new TestPipeline({ tokens: { short: { subject: 'ada', expiresAt: Math.floor(Date.now() / 1000) + 1 } } });
    const running = await startProxy(pipeline, [connection({ name: 'llm', upstream: streamer.url, route: { pathPrefix: '/llm' } })]);
    try {
      const outcome = await new Promise<string>((resolve) => {
        http
          .get(`${running.url}/llm/stream`, { headers: { authorization: 'Bearer short' }, agent: false }, (res) => {
            res.on('data', () => undefined);
            res.on('end', () => resolve('ended'));
            res.on('error', () => resolve('cut'));
            res.on('aborted', () => resolve('cut'));
          })
          .on('error', () => resolve('cut'));
      });
      expect(outcome).toBe('cut');
      expect(streamer.lastSent).toBe(false);
      const err = await pipeline.waitForEvent('http.error');
      expect(err.payload).toMatchObject({ code: 'GH_ERR_TOKEN_EXPIRED', reason: 'token_expired' });
    } finally {
      streamer.release();
      await running.close();
      await streamer.close();
    }
  });
});
