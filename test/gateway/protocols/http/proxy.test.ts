import http from 'node:http';
import zlib from 'node:zlib';
import { startEcho, startGatedStreamer, startUpstream, type Upstream } from '../../../support/upstreams';
import type { GatewayPipeline } from '../../../../gateway/src/pipeline/pipeline';
import { startPipelineWorld, startRealPipeline, type PipelineWorld, type RealPipeline, type RealPipelineOptions } from '../../../support/real-pipeline';
import { connection, json, request, startProxy, type RunningProxy } from './harness';

/**
 * The proxy on the real GatewayPipeline (real OIDC tokens and verifier, Cedar, the recorder on a
 * filesystem log store, PGlite's session index): the fast paths production takes, and decisions
 * folded into request events as production records them. Events are read back from the log store.
 */
const POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("no-deletes")
@message("DELETE is not allowed")
forbid (principal, action == Gatehouse::Action::"http:DELETE", resource);
`;

let world: PipelineWorld;
beforeAll(async () => {
  world = await startPipelineWorld();
}, 60_000);
afterAll(() => world.close());

let env: RealPipeline | undefined;
let TOKEN = '';
let OTHER = '';
const auth = { authorization: '' };

/** A real pipeline for one test; its tokens: TOKEN (alice) and OTHER (bob), both developers. */
async function pipelineWith(options: Partial<RealPipelineOptions> = {}): Promise<GatewayPipeline> {
  env = await startRealPipeline({ world, policy: POLICY, env: { UPSTREAM_KEY: 'upstream-secret-value-42' }, bodyCapBytes: 65536, ...options });
  TOKEN = await env.token(['developers'], 'alice');
  OTHER = await env.token(['developers'], 'bob');
  auth.authorization = `Bearer ${TOKEN}`;
  return env.pipeline;
}

describe('HTTP proxy', () => {
  let echo: Upstream;
  let running: RunningProxy | undefined;

  beforeEach(async () => {
    echo = await startEcho();
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
    await echo.close();
    await env?.close();
    env = undefined;
  });

  describe('routing', () => {
    it('routes by longest path prefix, strips the prefix and appends path and query to the upstream base path', async () => {
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [
        connection({ name: 'short', upstream: `${echo.url}/short-base`, route: { pathPrefix: '/api' } }),
        connection({ name: 'long', upstream: `${echo.url}/base/`, route: { pathPrefix: '/api/v2' } }),
      ]);
      const r = await request(`${running.url}/api/v2/items/7?x=1&y=2`, { headers: auth });
      expect(r.status).toBe(200);
      expect(json(r.body).url).toBe('/base/items/7?x=1&y=2');
      const s = await request(`${running.url}/api/other`, { headers: auth });
      expect(json(s.body).url).toBe('/short-base/other');
      // `/apix` is not under `/api`.
      const n = await request(`${running.url}/apix`, { headers: auth });
      expect(n.status).toBe(404);
    });

    it('keeps the prefix when stripPrefix is false', async () => {
      running = await startProxy(await pipelineWith(), [connection({ name: 'keep', upstream: echo.url, route: { pathPrefix: '/keep', stripPrefix: false } })]);
      const r = await request(`${running.url}/keep/a`, { headers: auth });
      expect(json(r.body).url).toBe('/keep/a');
    });

    it('routes by Host header (port ignored)', async () => {
      running = await startProxy(await pipelineWith(), [
        connection({ name: 'by-path', upstream: `${echo.url}/p`, route: { pathPrefix: '/' } }),
        connection({ name: 'by-host', upstream: `${echo.url}/h`, route: { host: 'api.internal.test' } }),
      ]);
      const r = await request(`${running.url}/x`, { headers: { ...auth, host: 'api.internal.test:8443' } });
      expect(json(r.body).url).toBe('/h/x');
      const p = await request(`${running.url}/x`, { headers: auth });
      expect(json(p.body).url).toBe('/p/x');
    });

    it('answers 404 GH_ERR_NO_ROUTE without authenticating or contacting an upstream', async () => {
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/a' } })]);
      const r = await request(`${running.url}/nothing/here`, { headers: auth });
      expect(r.status).toBe(404);
      const body = json(r.body) as { type: string; error: { type: string; code: string; message: string } };
      expect(body.type).toBe('error');
      expect(body.error.code).toBe('GH_ERR_NO_ROUTE');
      expect(body.error.type).toBe('not_found_error');
      expect(echo.received).toHaveLength(0);
    });
  });

  describe('identity', () => {
    it('refuses a bad token with 401, an error body SDKs display, www-authenticate, and never contacts the upstream', async () => {
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })]);
      // A real token whose signature was replaced.
      const forged = `${TOKEN.slice(0, TOKEN.lastIndexOf('.'))}.${Buffer.alloc(64, 1).toString('base64url')}`;
      const r = await request(`${running.url}/x`, { headers: { authorization: `Bearer ${forged}` } });
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Bearer realm="gatehouse", error="invalid_token"/);
      const body = json(r.body) as { error: { type: string; code: string; message: string } };
      expect(body.error).toMatchObject({ type: 'authentication_error', code: 'GH_ERR_TOKEN_SIGNATURE' });
      expect(r.body.toString()).not.toContain(forged);
      expect(echo.received).toHaveLength(0);
      expect(await env!.eventsOf('auth.failure')).toMatchObject([{ payload: { code: 'GH_ERR_TOKEN_SIGNATURE', connection: 'a' } }]);
    });

    it('refuses a missing token with 401 GH_ERR_TOKEN_MISSING', async () => {
      running = await startProxy(await pipelineWith(), [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })]);
      const r = await request(`${running.url}/x`);
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
      expect((json(r.body).error as { code: string }).code).toBe('GH_ERR_TOKEN_MISSING');
      expect(echo.received).toHaveLength(0);
    });

    it('accepts the token as x-api-key (how the Anthropic SDK sends an API key)', async () => {
      running = await startProxy(await pipelineWith(), [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })]);
      const r = await request(`${running.url}/x`, { headers: { 'x-api-key': TOKEN } });
      expect(r.status).toBe(200);
    });

    it('refuses while the pipeline is not accepting (shutdown) without contacting the upstream', async () => {
      const pipeline = await pipelineWith();
      pipeline.drain();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })]);
      const r = await request(`${running.url}/x`, { headers: auth });
      expect(r.status).toBe(503);
      expect(echo.received).toHaveLength(0);
    });
  });

  describe('credential brokering', () => {
    const cases: [string, Record<string, unknown>, (h: http.IncomingHttpHeaders, url: string) => void][] = [
      ['bearer', { type: 'bearer', secret: 'env:UPSTREAM_KEY' }, (h) => expect(h.authorization).toBe('Bearer upstream-secret-value-42')],
      [
        'header with prefix',
        { type: 'header', header: 'X-Upstream-Token', prefix: 'Token ', secret: 'env:UPSTREAM_KEY' },
        (h) => {
          expect(h['x-upstream-token']).toBe('Token upstream-secret-value-42');
          expect(h.authorization).toBeUndefined();
        },
      ],
      ['basic', { type: 'basic', username: 'svc', secret: 'env:UPSTREAM_KEY' }, (h) => expect(h.authorization).toBe(`Basic ${Buffer.from('svc:upstream-secret-value-42').toString('base64')}`)],
      [
        'query param',
        { type: 'query', param: 'api_key', secret: 'env:UPSTREAM_KEY' },
        (h, url) => {
          expect(url).toBe('/big/2?keep=1&api_key=upstream-secret-value-42');
          expect(h.authorization).toBeUndefined();
        },
      ],
    ];

    it.each(cases)('strips the caller credentials and injects a %s credential, never recording it', async (_name, credential, check) => {
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' }, credential })]);
      // /big/2 answers without echoing: the secret must not reach the record by the gateway's doing.
      const r = await request(`${running.url}/big/2?keep=1`, {
        headers: { ...auth, 'x-api-key': TOKEN, 'proxy-authorization': 'Basic Zm9vOmJhcg==', cookie: 'sid=abc', connection: 'keep-alive, x-drop-me', 'x-drop-me': '1', 'x-keep': 'yes' },
      });
      expect(r.status).toBe(200);
      const got = echo.received[0]!;
      check(got.headers, got.url);
      expect(got.headers['x-api-key']).toBeUndefined();
      expect(got.headers['proxy-authorization']).toBeUndefined();
      expect(String(got.headers.authorization ?? '')).not.toContain(TOKEN);
      expect(got.headers['x-drop-me']).toBeUndefined();
      expect(got.headers['x-keep']).toBe('yes');
      expect(got.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(got.headers['x-forwarded-proto']).toBe('http');
      expect(got.headers.forwarded).toMatch(/^for=127\.0\.0\.1;proto=http;host="127\.0\.0\.1:\d+"$/);
      await env!.waitForEvent('http.response');
      const everything = JSON.stringify(await env!.allEvents()) + running.logger.lines.join('\n');
      expect(everything).not.toContain('upstream-secret-value-42');
      expect(everything).not.toContain(TOKEN);
      const req = (await env!.eventsOf('http.request'))[0]!.payload as { headers: Record<string, unknown> };
      expect(req.headers.authorization).toBe('[REDACTED]');
      expect(req.headers['x-api-key']).toBe('[REDACTED]');
      expect(req.headers.cookie).toBe('[REDACTED]');
      expect(req.headers['proxy-authorization']).toBe('[REDACTED]');
    });

    it('answers 502 GH_ERR_SECRET_UNAVAILABLE when the credential cannot be read, and does not forward', async () => {
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' }, credential: { type: 'bearer', secret: 'env:MISSING' } })]);
      const r = await request(`${running.url}/x`, { headers: auth });
      expect(r.status).toBe(502);
      expect((json(r.body).error as { code: string }).code).toBe('GH_ERR_SECRET_UNAVAILABLE');
      expect(echo.received).toHaveLength(0);
      expect((await env!.eventsOf('http.error'))[0]!.payload.code).toBe('GH_ERR_SECRET_UNAVAILABLE');
    });

    it('redacts sensitive query parameters in the record but forwards them', async () => {
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })]);
      await request(`${running.url}/x?page=2&access_token=abc123&Signature=zzz`, { headers: auth });
      expect(echo.received[0]!.url).toBe('/x?page=2&access_token=abc123&Signature=zzz');
      const ev = await env!.waitForEvent('http.request');
      expect(ev.payload.query).toBe('?page=2&access_token=[REDACTED]&Signature=[REDACTED]');
      expect(JSON.stringify(ev.payload)).not.toContain('abc123');
    });
  });

  describe('policy and recording', () => {
    it('answers 403 with the decision code and message on deny, records it, and never contacts the upstream', async () => {
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })]);
      const r = await request(`${running.url}/items/1`, { method: 'DELETE', headers: auth });
      expect(r.status).toBe(403);
      const body = json(r.body) as { error: { type: string; code: string; decision: string; message: string } };
      expect(body.error).toEqual({ type: 'permission_error', code: 'GH_ERR_POLICY_DENIED', decision: 'policy.forbid', message: 'DELETE is not allowed' });
      expect(echo.received).toHaveLength(0);
      expect(await env!.eventsOf('policy.denied')).toMatchObject([{ payload: { effect: 'deny', code: 'policy.forbid', reasons: ['no-deletes'], operation: 'DELETE /items/1', action: 'http:DELETE' } }]);
      expect(await env!.eventsOf('http.request')).toHaveLength(0);
      // Counted in the session's record.
      expect((await env!.waitForEvent('session.end')).payload).toMatchObject({ denied: 1 });
    });

    it('answers 503 with the recorder error code and does not forward when the request cannot be recorded', async () => {
      // No timer flush: under load one could fail on the buffered outcome of /warm first, leaving the
      // recorder unhealthy before /x arrives; /x is then refused before being judged (same code, but
      // not the path this test is about).
      const pipeline = await pipelineWith({ recorder: { flushIntervalMs: 60_000 } });
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })]);
      // The session opens fine (a session header keeps it across sockets); the request record fails.
      const headers = { ...auth, 'x-gatehouse-session': 'one' };
      await request(`${running.url}/warm`, { headers });
      env!.sink.failWith = 'ENOSPC';
      const r = await request(`${running.url}/x`, { method: 'POST', headers, body: '{"a":1}' });
      expect(r.status).toBe(503);
      expect((json(r.body).error as { code: string }).code).toBe('GH_ERR_RECORDING_FAILED');
      expect(echo.received.map((x) => x.url)).toEqual(['/warm']);
      // Operators alarm on top-level `status` and `code` in the JSON log (the AWS kit's metric
      // filters `{ $.status >= 500 }` and `{ $.code = "GH_ERR_RECORDING_*" }`).
      const lines = running.logger.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'http exchange', status: 200, connection: 'a' }));
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'http request refused', status: 503, code: 'GH_ERR_RECORDING_FAILED' }));
    });

    it('answers 503 and does not forward when the session cannot be opened, and retries opening on the next request', async () => {
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })]);
      // Strict mode: session.start must be durable, and the log store refuses it.
      env!.sink.failWith = 'ENOSPC';
      const r = await request(`${running.url}/x`, { headers: auth });
      expect(r.status).toBe(503);
      expect((json(r.body).error as { code: string }).code).toBe('GH_ERR_RECORDING_FAILED');
      expect(echo.received).toHaveLength(0);
      env!.sink.failWith = undefined;
      // Refused while the recorder is unhealthy; served again once its retry stored the backlog.
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = (await request(`${running.url}/x`, { headers: auth })).status;
        if (status !== 200) await new Promise((res) => setTimeout(res, 20));
      }
      expect(status).toBe(200);
    });

    it('strict mode: the request event (with its body) is durable before the upstream sees the request', async () => {
      // No timer flush during the test: only a durable write reaches the log store before it is read.
      const pipeline = await pipelineWith({ recordingMode: 'strict', recorder: { flushIntervalMs: 60_000 } });
      let stored: Promise<string[]> | undefined;
      const up = await startEcho({ onRequest: () => (stored ??= env!.storedEvents().then((es) => es.map((e) => e.type))) });
      try {
        running = await startProxy(pipeline, [connection({ name: 'a', upstream: up.url, route: { pathPrefix: '/' } })]);
        const r = await request(`${running.url}/x`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"prompt":"hi"}' });
        expect(r.status).toBe(200);
        expect(await stored).toContain('http.request');
        const ev = (await env!.eventsOf('http.request'))[0]!;
        expect(ev.payload.body).toEqual({ size: 15, captured: 15, text: '{"prompt":"hi"}' });
        // The allow decision travels in the request event, as production records it.
        expect(ev.payload.decision).toEqual({ effect: 'allow', code: 'policy.permit', reasons: ['developers'] });
        expect(await env!.eventsOf('policy.decision')).toHaveLength(0);
      } finally {
        await up.close();
      }
    });

    it('buffered mode records the request without waiting for durability', async () => {
      const pipeline = await pipelineWith({ recordingMode: 'buffered', recorder: { flushIntervalMs: 60_000 } });
      let stored: Promise<string[]> | undefined;
      const up = await startEcho({ onRequest: () => (stored ??= env!.storedEvents().then((es) => es.map((e) => e.type))) });
      try {
        running = await startProxy(pipeline, [connection({ name: 'a', upstream: up.url, route: { pathPrefix: '/' } })]);
        expect((await request(`${running.url}/x`, { headers: auth })).status).toBe(200);
        // Forwarded while the request event still sat in the recorder's buffer.
        expect(await stored).not.toContain('http.request');
        expect((await env!.waitForEvent('http.request')).payload.decision).toMatchObject({ effect: 'allow', code: 'policy.permit' });
      } finally {
        await up.close();
      }
    });

    it('a request body longer than the cap: durable prefix first, the rest streamed, size and SHA-256 in a follow-up event', async () => {
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' }, bodyCapBytes: 10 })]);
      const body = 'abcdefghij'.repeat(1000);
      const r = await request(`${running.url}/upload`, { method: 'PUT', headers: { ...auth, 'content-type': 'text/plain' }, body });
      expect(json(r.body).bodyLength).toBe(10000);
      const ev = (await env!.eventsOf('http.request'))[0]!;
      expect(ev.payload.body).toEqual({ captured: 10, truncated: true, text: 'abcdefghij', complete: false });
      const follow = await env!.waitForEvent('http.request.body');
      const { createHash } = await import('node:crypto');
      expect(follow.payload).toMatchObject({ size: 10000, sha256: createHash('sha256').update(body).digest('hex') });
    });

    it('records http.response with status, redacted headers, a capped body marked truncated, and timings', async () => {
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' }, bodyCapBytes: 100 })]);
      const r = await request(`${running.url}/big/5000`, { headers: auth });
      expect(r.body.length).toBe(5000);
      const ev = await env!.waitForEvent('http.response');
      const p = ev.payload as { status: number; body: Record<string, unknown>; timings: Record<string, number>; headers: Record<string, unknown> };
      expect(p.status).toBe(200);
      expect(p.body).toEqual({ size: 5000, captured: 100, truncated: true, text: 'x'.repeat(100) });
      expect(typeof p.timings.ttfbMs).toBe('number');
      expect(typeof p.timings.totalMs).toBe('number');
      const small = await request(`${running.url}/echo`, { headers: auth });
      expect(small.headers['set-cookie']).toEqual(['upstream=1']);
      const ev2 = await env!.waitForEvent('http.response', (e) => e.requestId !== ev.requestId);
      expect((ev2.payload as { headers: Record<string, unknown> }).headers['set-cookie']).toBe('[REDACTED]');
      expect(ev.requestId).toMatch(/^r_/);
      expect(r.headers['x-gatehouse-request-id']).toBe(ev.requestId);
    });

    it('decodes a gzip response for the record while the client gets the gzip bytes it asked for; zstd is never asked upstream', async () => {
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })]);
      const r = await request(`${running.url}/gzip`, { headers: { ...auth, 'accept-encoding': 'gzip, deflate, br, zstd' } });
      expect(r.headers['content-encoding']).toBe('gzip');
      const clientJson = JSON.parse(zlib.gunzipSync(r.body).toString('utf8')) as { headers: Record<string, string> };
      expect(clientJson.headers['accept-encoding']).toBe('gzip, deflate, br');
      const ev = await env!.waitForEvent('http.response');
      const body = ev.payload.body as { text: string; contentEncoding: string; wireSize: number; size: number };
      expect(body.contentEncoding).toBe('gzip');
      expect(body.wireSize).toBe(r.body.length);
      expect(JSON.parse(body.text)).toEqual(clientJson);
    });

    it('asks for identity when the client accepts only encodings the gateway cannot read', async () => {
      running = await startProxy(await pipelineWith(), [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })]);
      await request(`${running.url}/x`, { headers: { ...auth, 'accept-encoding': 'zstd' } });
      expect(echo.received[0]!.headers['accept-encoding']).toBe('identity');
    });
  });

  describe('streaming', () => {
    it('sends the headers of a stream before its first chunk when the upstream holds the chunk back', async () => {
      // The upstream sends its head at once and its first event only when the test releases it:
      // the client must see the head while the upstream has sent no body byte yet.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let dataSent = false;
      const held = await startUpstream(async (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.flushHeaders();
        await gate;
        dataSent = true;
        res.end('event: tick\ndata: {"n":0}\n\n');
      });
      try {
        running = await startProxy(await pipelineWith(), [connection({ name: 's', upstream: held.url, route: { pathPrefix: '/' } })]);
        const body = await new Promise<string>((resolve, reject) => {
          const req = http.request(`${running!.url}/events`, { headers: auth, agent: false }, (res) => {
            expect(res.statusCode).toBe(200);
            expect(res.headers['content-type']).toBe('text/event-stream');
            expect(dataSent).toBe(false); // the head arrived on its own
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve(text));
            res.on('error', reject);
            release();
          });
          req.on('error', reject);
          req.end();
        });
        expect(body).toBe('event: tick\ndata: {"n":0}\n\n');
      } finally {
        release();
        await held.close();
      }
    });

    it('passes SSE events through as they arrive: the client reads the first event before the upstream sends the last', async () => {
      const streamer = await startGatedStreamer(3);
      const pipeline = await pipelineWith();
      try {
        running = await startProxy(pipeline, [connection({ name: 's', upstream: streamer.url, route: { pathPrefix: '/' } })]);
        const received: string[] = [];
        let firstSeenBeforeLast: boolean | undefined;
        const done = new Promise<void>((resolve, reject) => {
          const req = http.request(`${running!.url}/events`, { headers: auth, agent: false }, (res) => {
            expect(res.headers['content-type']).toBe('text/event-stream');
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              received.push(chunk);
              if (firstSeenBeforeLast === undefined && received.join('').includes('"n":0')) {
                firstSeenBeforeLast = !streamer.lastSent;
                streamer.release();
              }
            });
            res.on('end', () => resolve());
            res.on('error', reject);
          });
          req.on('error', reject);
          req.end();
        });
        await done;
        expect(firstSeenBeforeLast).toBe(true);
        expect(received.join('')).toContain('"last":true');
        const ev = await env!.waitForEvent('http.response');
        expect((ev.payload.body as { text: string }).text).toContain('"last":true');
      } finally {
        await streamer.close();
      }
    });

    it('records http.error when the client aborts mid-stream, and closes the socket session', async () => {
      const streamer = await startGatedStreamer(3);
      const pipeline = await pipelineWith();
      try {
        running = await startProxy(pipeline, [connection({ name: 's', upstream: streamer.url, route: { pathPrefix: '/' } })]);
        await new Promise<void>((resolve, reject) => {
          const req = http.request(`${running!.url}/events`, { headers: auth, agent: false }, (res) => {
            res.once('data', () => {
              req.destroy();
              resolve();
            });
          });
          req.on('error', () => {});
          req.on('error', reject);
          req.end();
        });
        const err = await env!.waitForEvent('http.error');
        expect(err.payload).toMatchObject({ reason: 'client_aborted' });
        expect((await env!.waitForEvent('session.end')).payload.reason).toBe('client_disconnected');
      } finally {
        streamer.release();
        await streamer.close();
      }
    });
  });

  describe('metrics', () => {
    it('observes each finished exchange with its status, and refusals by code', async () => {
      const observed: [string, string, number][] = [];
      const errors: string[] = [];
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })], {
        metrics: { observeRequest: (c, m, s) => observed.push([c, m, s]), observeError: (_c, code) => errors.push(code) },
      });
      await request(`${running.url}/x`, { headers: auth });
      await request(`${running.url}/x`, { method: 'DELETE', headers: auth });
      await request(`${running.url}/x`);
      await env!.waitForEvent('http.response');
      expect(observed).toEqual([['a', 'GET', 200]]);
      expect(errors).toEqual(['GH_ERR_POLICY_DENIED', 'GH_ERR_TOKEN_MISSING']);
    });
  });

  describe('activity (busy polling)', () => {
    it('reports each request when it arrives and again when its exchange ends, refusals included', async () => {
      const seen: string[] = [];
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })], {
        onActivity: () => seen.push('activity'),
        metrics: { observeRequest: () => seen.push('finished') },
      });
      await request(`${running.url}/x`, { headers: auth });
      await env!.waitForEvent('http.response');
      // Arrival, then the end of the exchange (before its metrics are observed).
      expect(seen).toEqual(['activity', 'activity', 'finished']);
      await request(`${running.url}/x`, { method: 'DELETE', headers: auth });
      expect(seen).toEqual(['activity', 'activity', 'finished', 'activity']);
    });
  });

  describe('upstream failures', () => {
    it('answers 502 GH_ERR_UPSTREAM_UNAVAILABLE when the upstream refuses connections', async () => {
      const dead = await startEcho();
      const deadUrl = dead.url;
      await dead.close();
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: deadUrl, route: { pathPrefix: '/' } })]);
      const r = await request(`${running.url}/x`, { headers: auth });
      expect(r.status).toBe(502);
      expect((json(r.body).error as { code: string }).code).toBe('GH_ERR_UPSTREAM_UNAVAILABLE');
      expect((await env!.waitForEvent('http.error')).payload).toMatchObject({ code: 'GH_ERR_UPSTREAM_UNAVAILABLE', reason: 'upstream_unavailable' });
    });

    it('answers 504 GH_ERR_UPSTREAM_TIMEOUT when the upstream does not answer in time', async () => {
      let release: (() => void) | undefined;
      const slow = await startUpstream((_req, res) => {
        release = () => res.end('late');
      });
      try {
        const pipeline = await pipelineWith();
        running = await startProxy(pipeline, [connection({ name: 'a', upstream: slow.url, route: { pathPrefix: '/' }, timeoutMs: 100 })]);
        const r = await request(`${running.url}/x`, { headers: auth });
        expect(r.status).toBe(504);
        expect((json(r.body).error as { code: string }).code).toBe('GH_ERR_UPSTREAM_TIMEOUT');
      } finally {
        release?.();
        await slow.close();
      }
    });
  });

  it('cuts the client response when the upstream dies mid-body and records http.error upstream_aborted', async () => {
    const dying = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
      res.write('x'.repeat(1000), () => res.socket?.destroy());
    });
    const pipeline = await pipelineWith();
    try {
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: dying.url, route: { pathPrefix: '/' } })]);
      const outcome = await new Promise<string>((resolve) => {
        const req = http.request(`${running!.url}/x`, { headers: auth, agent: false }, (res) => {
          let n = 0;
          res.on('data', (c: Buffer) => (n += c.length));
          res.on('end', () => resolve(`ended:${n}`));
          res.on('error', () => resolve(`cut:${n}`));
          res.on('aborted', () => resolve(`cut:${n}`));
        });
        req.on('error', () => resolve('cut'));
        req.end();
      });
      // Never a truncated success: the client sees the stream cut, not an end.
      expect(outcome.startsWith('cut')).toBe(true);
      expect((await env!.waitForEvent('http.error')).payload).toMatchObject({ code: 'GH_ERR_UPSTREAM_UNAVAILABLE', reason: 'upstream_aborted', status: 200 });
    } finally {
      await dying.close();
    }
  });

  it('applies backpressure: while a client reads nothing, the upstream is paused (not drained into memory)', async () => {
    const size = 64 * 1024 * 1024;
    let sent = 0;
    const big = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = (): void => {
        while (sent < size) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const pipeline = await pipelineWith();
    try {
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: big.url, route: { pathPrefix: '/' }, timeoutMs: 10_000 })]);
      const received = await new Promise<{ n: number; sentWhilePaused: number }>((resolve, reject) => {
        const req = http.request(`${running!.url}/big`, { headers: auth, agent: false }, (res) => {
          let n = 0;
          res.pause();
          setTimeout(() => {
            const sentWhilePaused = sent;
            res.on('data', (c: Buffer) => (n += c.length));
            res.on('end', () => resolve({ n, sentWhilePaused }));
            res.resume();
          }, 1000);
        });
        req.on('error', reject);
        req.end();
      });
      // Only socket buffers' worth left the upstream while the client read nothing.
      expect(received.sentWhilePaused).toBeLessThan(size / 4);
      expect(received.n).toBe(size);
      expect((await env!.waitForEvent('http.response')).payload).toMatchObject({ status: 200, body: { size, truncated: true } });
    } finally {
      await big.close();
    }
  });

  it('cuts a response whose upstream stalls mid-stream and records http.error upstream_timeout', async () => {
    const streamer = await startGatedStreamer(2);
    const pipeline = await pipelineWith();
    try {
      running = await startProxy(pipeline, [connection({ name: 's', upstream: streamer.url, route: { pathPrefix: '/' }, timeoutMs: 150 })]);
      const outcome = await new Promise<string>((resolve) => {
        const req = http.request(`${running!.url}/events`, { headers: auth, agent: false }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(`ended:${text}`));
          res.on('error', () => resolve(`cut:${text}`));
          res.on('aborted', () => resolve(`cut:${text}`));
        });
        req.on('error', () => resolve('cut'));
        req.end();
      });
      expect(outcome.startsWith('cut')).toBe(true);
      expect(streamer.lastSent).toBe(false);
      expect((await env!.waitForEvent('http.error')).payload).toMatchObject({ code: 'GH_ERR_UPSTREAM_TIMEOUT', reason: 'upstream_timeout', status: 200 });
    } finally {
      streamer.release();
      await streamer.close();
    }
  });

  describe('sessions', () => {
    it('groups requests on one keep-alive socket into one session, and closes it when the socket closes', async () => {
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })]);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      await request(`${running.url}/1`, { headers: auth, agent });
      await request(`${running.url}/2`, { headers: auth, agent });
      agent.destroy();
      await env!.waitForEvent('session.end');
      expect(await env!.sessions()).toMatchObject([{ closeReason: 'client_disconnected', requests: 2 }]);
      expect(running.proxy.sessionCount).toBe(0);
    });

    it('keys sessions by a client-declared session id across sockets, per principal, and closes them when idle', async () => {
      let now = 1_000_000;
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })], { sessionIdleSeconds: 60, now: () => now });
      await request(`${running.url}/1`, { headers: { ...auth, 'x-claude-code-session-id': 'cc-1', 'x-request-id': 'client-req-1' } });
      await request(`${running.url}/2`, { headers: { ...auth, 'x-claude-code-session-id': 'cc-1' } });
      await request(`${running.url}/3`, { headers: { authorization: `Bearer ${OTHER}`, 'x-claude-code-session-id': 'cc-1' } });
      await request(`${running.url}/4`, { headers: { ...auth, 'x-gatehouse-session': 'gh-2' } });
      const sessions = await env!.sessions();
      expect(sessions.map((s) => s.subject)).toEqual(['alice', 'bob', 'alice']);
      expect(sessions[0]!.client.clientSessionId).toBe('cc-1');
      expect((await env!.eventsOf('http.request')).filter((e) => e.session === sessions[0]!.id)).toHaveLength(2);
      // The client's own request id finds its session in the index.
      expect((await env!.index.list({ requestId: 'client-req-1' })).map((row) => row.id)).toEqual([sessions[0]!.id]);
      // Sockets closed (agent: false), yet header-keyed sessions stay open until idle.
      await running.proxy.closeIdleSessions();
      expect((await env!.sessions()).every((s) => !s.closed)).toBe(true);
      now += 61_000;
      await running.proxy.closeIdleSessions();
      expect((await env!.sessions()).every((s) => s.closed && s.closeReason === 'idle')).toBe(true);
      await request(`${running.url}/5`, { headers: { ...auth, 'x-claude-code-session-id': 'cc-1' } });
      expect(await env!.sessions()).toHaveLength(4);
    });

    it('opens one session for concurrent first requests of the same client session', async () => {
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })]);
      const rs = await Promise.all([1, 2, 3, 4, 5].map((i) => request(`${running!.url}/${i}`, { headers: { ...auth, 'x-claude-code-session-id': 'parallel' } })));
      expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      const sessions = await env!.sessions();
      expect(sessions).toHaveLength(1);
      expect((await env!.eventsOf('http.request')).filter((e) => e.session === sessions[0]!.id)).toHaveLength(5);
    });

    it('close() ends every open session with reason shutdown', async () => {
      const pipeline = await pipelineWith();
      running = await startProxy(pipeline, [connection({ name: 'a', upstream: echo.url, route: { pathPrefix: '/' } })]);
      await request(`${running.url}/1`, { headers: { ...auth, 'x-gatehouse-session': 'one' } });
      await running.proxy.close();
      expect((await env!.sessions())[0]!.closeReason).toBe('shutdown');
    });
  });
});
