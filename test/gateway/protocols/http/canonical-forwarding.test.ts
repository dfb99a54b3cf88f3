import { TestPipeline } from '../../../support/test-pipeline';
import { rawRequest } from '../../../support/nginx';
import { startEcho, type Upstream } from '../../../support/upstreams';
import { connection, startProxy, type RunningProxy } from './harness';

/** The proxy judges, records and forwards one canonical target (canonical-target.ts). */
describe('HTTP proxy: the canonical target is what is judged, recorded and forwarded', () => {
  let upstream: Upstream;
  let running: RunningProxy;
  let pipeline: TestPipeline;
  let port: number;

  beforeEach(async () => {
    upstream = await startEcho();
    pipeline = new TestPipeline({ tokens: { t: { subject: 'ada' } } });
    running = await startProxy(pipeline, [connection({ name: 'api', upstream: `${upstream.url}/base/`, route: { pathPrefix: '/api' } })]);
    port = Number(new URL(running.url).port);
  });
  afterEach(async () => {
    await running.close();
    await upstream.close();
  });

  const send = (target: string) => rawRequest(port, `GET ${target} HTTP/1.1`, { host: `127.0.0.1:${port}`, authorization: 'Bearer t' });

  it('forwards the canonical path and query, judges the canonical path, records the raw target beside it', async () => {
    const r = await send('/api/./v1//items/%7ea/../b?Q=a+b&x=1;y=2&&token=s3cret');
    expect(r.status).toBe(200);
    expect(upstream.received[0]!.url).toBe('/base/v1/items/b?Q=a%20b&x=1%3By%3D2&token=s3cret');
    const decided = pipeline.eventsOf('policy.decision')[0]!.payload.operation as { attributes: Record<string, unknown> };
    expect(decided.attributes.path).toBe('/v1/items/b');
    expect(decided.attributes.query).toEqual({ q: 'a b', x: '1;y=2', token: 's3cret' });
    const request = pipeline.eventsOf('http.request')[0]!.payload;
    expect(request.path).toBe('/api/v1/items/b');
    expect(request.query).toBe('?Q=a%20b&x=1%3By%3D2&token=[REDACTED]');
    expect(request.rawTarget).toBe('/api/./v1//items/%7ea/../b?Q=a+b&x=1;y=2&&token=[REDACTED]');
    // The gateway's own events (not the upstream's echo in the response body) never hold the sensitive value.
    expect(JSON.stringify(pipeline.events.filter((e) => e.type === 'http.request'))).not.toContain('s3cret');
  });

  it('does not record rawTarget for a target that is already canonical', async () => {
    await send('/api/v1/items?a=1');
    expect(upstream.received[0]!.url).toBe('/base/v1/items?a=1');
    expect(pipeline.eventsOf('http.request')[0]!.payload.rawTarget).toBeUndefined();
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
    expect(pipeline.sessions).toHaveLength(0);
  });
});
