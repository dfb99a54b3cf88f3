import http from 'node:http';
import type { GatewayPipeline } from '../../../../gateway/src/pipeline/pipeline';
import { startPipelineWorld, startRealPipeline, type PipelineWorld, type RealPipeline } from '../../../support/real-pipeline';
import { startEcho, startGatedStreamer, type Upstream } from '../../../support/upstreams';
import { connection, request, startProxy, type RunningProxy } from './harness';

/**
 * Every request is judged under the principal of the token it carries: a session (keyed by a
 * session header or by the keep-alive socket) groups requests for the record but never lends the
 * principal of its first token (issue 15, point 2). On the real pipeline, with real tokens.
 */
// Only members of `admins` may DELETE.
const POLICY = `
@id("everyone")
permit (principal, action, resource) unless { action == Gatehouse::Action::"http:DELETE" };

@id("admins")
permit (principal in Gatehouse::Group::"admins", action, resource);
`;

let world: PipelineWorld;
beforeAll(async () => {
  world = await startPipelineWorld();
}, 60_000);
afterAll(() => world.close());

describe('HTTP proxy: per-request principal', () => {
  let upstream: Upstream;
  let running: RunningProxy;
  let env: RealPipeline;
  let pipeline: GatewayPipeline;
  let admin = '';
  let plain = '';

  beforeEach(async () => {
    upstream = await startEcho();
    env = await startRealPipeline({ world, policy: POLICY });
    pipeline = env.pipeline;
    admin = `Bearer ${await env.token(['admins'], 'alice')}`;
    plain = `Bearer ${await env.token([], 'alice')}`;
    running = await startProxy(pipeline, [connection({ name: 'api', upstream: upstream.url, route: { pathPrefix: '/api' } })], { now: () => clock });
  });
  let clock = 1_000_000;
  afterEach(async () => {
    await running.close();
    await upstream.close();
    await env.close();
  });

  it('judges a later request on the same session header with its own, smaller token', async () => {
    const first = await request(`${running.url}/api/x`, { method: 'DELETE', headers: { authorization: admin, 'x-gatehouse-session': 'one' } });
    expect(first.status).toBe(200);
    const second = await request(`${running.url}/api/x`, { method: 'DELETE', headers: { authorization: plain, 'x-gatehouse-session': 'one' } });
    expect(second.status).toBe(403);
    expect(upstream.received.filter((r) => r.method === 'DELETE')).toHaveLength(1);
    // Same subject: one session; the denial names the principal actually checked.
    expect(await env.sessions()).toHaveLength(1);
    const denied = (await env.eventsOf('policy.denied'))[0]!;
    const checked = await env.verifier.verify(plain.slice(7));
    expect(denied.payload).toMatchObject({ code: 'policy.no_permit', action: 'http:DELETE', principal: { subject: 'alice', groups: [], tokenId: checked.tokenId } });
    // The allowed DELETE was judged under the session's own principal: its request event names none.
    const allowed = (await env.eventsOf('http.request')).find((e) => e.payload.method === 'DELETE')!;
    expect(allowed.payload.decision).toEqual({ effect: 'allow', code: 'policy.permit', reasons: ['admins'] });
  });

  it('judges a later request on the same keep-alive socket with its own token', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await request(`${running.url}/api/x`, { method: 'DELETE', headers: { authorization: admin }, agent });
      expect(first.status).toBe(200);
      const second = await request(`${running.url}/api/x`, { method: 'DELETE', headers: { authorization: plain }, agent });
      expect(second.status).toBe(403);
      expect(await env.sessions()).toHaveLength(1); // one socket, one subject: one session
    } finally {
      agent.destroy();
    }
  });

  it('opens a new session once the maximum session life has passed', async () => {
    await running.close();
    running = await startProxy(pipeline, [connection({ name: 'api', upstream: upstream.url, route: { pathPrefix: '/api' } })], { now: () => clock, sessionMaxSeconds: 60 });
    await request(`${running.url}/api/a`, { headers: { authorization: plain, 'x-gatehouse-session': 's' } });
    clock += 30_000;
    await request(`${running.url}/api/b`, { headers: { authorization: plain, 'x-gatehouse-session': 's' } });
    expect(await env.sessions()).toHaveLength(1);
    clock += 31_000;
    await request(`${running.url}/api/c`, { headers: { authorization: plain, 'x-gatehouse-session': 's' } });
    expect(await env.sessions()).toHaveLength(2);
    expect((await env.waitForEvent('session.end')).payload.reason).toBe('max_life');
  });
});

describe('HTTP proxy: a stream lives no longer than its token', () => {
  it('cuts a streaming response when the token it was authorized with expires, and records why', async () => {
    const streamer = await startGatedStreamer(3);
    const env = await startRealPipeline({ world, policy: POLICY });
    // A real token that expires in about two seconds (the verifier allows no leeway past exp).
    const short = await env.issuer.mintToken({ sub: 'ada', groups: [] }, { ttlSeconds: 2 });
    const running = await startProxy(env.pipeline, [connection({ name: 'llm', upstream: streamer.url, route: { pathPrefix: '/llm' } })]);
    try {
      const outcome = await new Promise<string>((resolve) => {
        http
          .get(`${running.url}/llm/stream`, { headers: { authorization: `Bearer ${short}` }, agent: false }, (res) => {
            res.on('data', () => undefined);
            res.on('end', () => resolve('ended'));
            res.on('error', () => resolve('cut'));
            res.on('aborted', () => resolve('cut'));
          })
          .on('error', () => resolve('cut'));
      });
      expect(outcome).toBe('cut');
      expect(streamer.lastSent).toBe(false);
      const err = await env.waitForEvent('http.error');
      expect(err.payload).toMatchObject({ code: 'GH_ERR_TOKEN_EXPIRED', reason: 'token_expired' });
    } finally {
      streamer.release();
      await running.close();
      await streamer.close();
      await env.close();
    }
  });
});
