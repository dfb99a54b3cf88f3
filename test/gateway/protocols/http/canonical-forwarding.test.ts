import { rawRequest } from '../../../support/nginx';
import { startPipelineWorld, startRealPipeline, type PipelineWorld, type RealPipeline } from '../../../support/real-pipeline';
import { startEcho, type Upstream } from '../../../support/upstreams';
import { connection, startProxy, type RunningProxy } from './harness';

/**
 * Policy reads the canonical path and query: these rules only match their canonical forms, so a
 * request written another way is judged as what it is (a permit for everything else).
 */
const POLICY = `
@id("everyone")
permit (principal, action, resource);

@id("no-secret-items")
forbid (principal, action, resource) when { context.path == "/v1/items/secret" };

@id("no-debug")
forbid (principal, action, resource) when { context.query has "debug" && context.query.debug == "on now" };
`;

let world: PipelineWorld;
beforeAll(async () => {
  world = await startPipelineWorld();
}, 60_000);
afterAll(() => world.close());

/** The proxy judges, records and forwards one canonical target (canonical-target.ts), on the real pipeline. */
describe('HTTP proxy: the canonical target is what is judged, recorded and forwarded', () => {
  let upstream: Upstream;
  let running: RunningProxy;
  let env: RealPipeline;
  let token: string;
  let port: number;

  beforeEach(async () => {
    upstream = await startEcho();
    env = await startRealPipeline({ world, policy: POLICY });
    token = await env.token([], 'ada');
    running = await startProxy(env.pipeline, [connection({ name: 'api', upstream: `${upstream.url}/base/`, route: { pathPrefix: '/api' } })]);
    port = Number(new URL(running.url).port);
  });
  afterEach(async () => {
    await running.close();
    await upstream.close();
    await env.close();
  });

  const send = (target: string) => rawRequest(port, `GET ${target} HTTP/1.1`, { host: `127.0.0.1:${port}`, authorization: `Bearer ${token}` });

  it.each([
    ['/api/./v1//items/%73ecret', 'the path, dot segments and escapes resolved'],
    ['/api/v1/items/x/../secret', 'the path, .. resolved'],
    ['/api/v1/items?debug=on+now', "the query, '+' read as a space"],
    ['/api/v1/items?DEBUG=on%20now', 'the query, names folded'],
  ])('judges %s as its canonical form (%s)', async (target) => {
    const r = await send(target);
    expect(r.status).toBe(403);
    expect(upstream.received).toHaveLength(0);
    expect((await env.eventsOf('policy.denied'))[0]!.payload).toMatchObject({ code: 'policy.forbid' });
  });

  it('forwards the canonical path and query, judges the canonical path, records the raw target beside it', async () => {
    const r = await send('/api/./v1//items/%7ea/../b?Q=a+b&x=1;y=2&&token=s3cret');
    expect(r.status).toBe(200);
    expect(upstream.received[0]!.url).toBe('/base/v1/items/b?Q=a%20b&x=1%3By%3D2&token=s3cret');
    const request = (await env.eventsOf('http.request'))[0]!.payload;
    expect(request.decision).toEqual({ effect: 'allow', code: 'policy.permit', reasons: ['everyone'] });
    expect(request.path).toBe('/api/v1/items/b');
    expect(request.query).toBe('?Q=a%20b&x=1%3By%3D2&token=[REDACTED]');
    expect(request.rawTarget).toBe('/api/./v1//items/%7ea/../b?Q=a+b&x=1;y=2&&token=[REDACTED]');
    // The gateway's own events (not the upstream's echo in the response body) never hold the sensitive value.
    expect(JSON.stringify(await env.eventsOf('http.request'))).not.toContain('s3cret');
  });

  it('does not record rawTarget for a target that is already canonical', async () => {
    await send('/api/v1/items?a=1');
    expect(upstream.received[0]!.url).toBe('/base/v1/items?a=1');
    expect((await env.eventsOf('http.request'))[0]!.payload.rawTarget).toBeUndefined();
  });

  it.each([
    ['/api/a%2Fb', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/api/%2e%2e/api/x', 'GH_ERR_TARGET_ESCAPES_PREFIX'],
    ['/api/x?a=1&a=2', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/api/x%00', 'GH_ERR_TARGET_INVALID'],
  ])('%s is refused with 400 %s before anything is forwarded', async (target, code) => {
    const r = await send(target);
    expect(r.status).toBe(400);
    expect(r.body).toContain(code);
    expect(upstream.received).toHaveLength(0);
    expect(await env.sessions()).toHaveLength(0);
  });
});
