import http from 'node:http';
import zlib from 'node:zlib';
import type { Detector } from '../../../../gateway/src/masking/detector';
import { openOriginal, type SealedOriginal } from '../../../../gateway/src/masking/originals';
import { startEcho, startUpstream, type Upstream } from '../../../support/upstreams';
import { startPipelineWorld, startRealPipeline, type EventView, type PipelineWorld, type RealPipeline } from '../../../support/real-pipeline';
import { connection, json, request, startProxy, type RunningProxy } from './harness';

const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const EMAIL = 'ada.lovelace@example.com';
const HASH_KEY = 'a-masking-hash-key-of-32-bytes!!';
const ORIGINALS_KEY = Buffer.alloc(32, 7).toString('base64');
const auth = { authorization: '' };
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 2));

/** Throws on any text containing BOOM: proves fail-closed behaviour (a test-only hook). */
const boomDetector: Detector = {
  id: 'test-boom',
  type: 'boom',
  family: 'secret',
  maxLength: 4,
  find(text: string) {
    if (text.includes('BOOM')) throw new Error('detector exploded on purpose');
    return [];
  },
};

/**
 * On the real GatewayPipeline (one per file: OIDC issuer, Cedar, the recorder on a filesystem log
 * store, PGlite's session index): what is checked is what the log store holds.
 */
let world: PipelineWorld;
let env: RealPipeline;
beforeAll(async () => {
  world = await startPipelineWorld();
  env = await startRealPipeline({
    world,
    policy: '@id("developers") permit (principal in Gatehouse::Group::"developers", action, resource);',
    env: { MASK_HASH_KEY: HASH_KEY, ORIGINALS_KEY },
    bodyCapBytes: 65536,
  });
  auth.authorization = `Bearer ${await env.token(['developers'], 'alice')}`;
}, 60_000);
afterAll(async () => {
  await env?.close();
  await world?.close();
});

/** One-shot upstream answers: a body with a content type, optionally in several timed writes. */
function startScripted(): Promise<Upstream> {
  return startUpstream(async (req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/json')) {
      const body = JSON.stringify({ user: { email: EMAIL, name: 'Ada' }, note: `key ${AWS_KEY} here`, token: 'tok-123456', list: [{ token: 'tok-2' }] });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else if (url.startsWith('/boom-json')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ text: `BOOM ${AWS_KEY}` }));
    } else if (url.startsWith('/text-split')) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.write(`first line\nthe key is ${AWS_KEY.slice(0, 9)}`);
      await tick();
      res.end(`${AWS_KEY.slice(9)} and mail ${EMAIL}\n`);
    } else if (url.startsWith('/sse-split')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const ev1 = `id: 1\nevent: note\ndata: {"text":"contact ${EMAIL} now"}\n\n`;
      const ev2 = `: a comment\nevent: note\ndata: plain ${AWS_KEY}\ndata: second line\n\n`;
      const all = ev1 + ev2;
      // Cut inside the email and inside the key: events and values split across TCP writes.
      const cuts = [all.indexOf('@') - 3, all.indexOf('AKIA') + 6, all.length];
      let from = 0;
      for (const to of cuts) {
        res.write(all.slice(from, to));
        from = to;
        await tick();
      }
      res.end();
    } else if (url.startsWith('/sse-boom')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: note\ndata: {"text":"fine"}\n\n');
      await tick();
      await tick();
      res.write(`event: note\ndata: {"text":"BOOM ${AWS_KEY}"}\n\n`);
      await tick();
      res.end('event: note\ndata: {"text":"after"}\n\n');
    } else if (url.startsWith('/binary')) {
      const body = Buffer.concat([Buffer.from([0, 1, 2, 255]), Buffer.from(AWS_KEY)]);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    } else if (url.startsWith('/emails')) {
      const body = JSON.stringify({ a: EMAIL, b: EMAIL, c: 'grace.hopper@example.com' });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    } else if (url.startsWith('/zstd')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'zstd' });
      res.end(Buffer.from('not really zstd'));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
}

/** A request that reports whether the response ended cleanly (a cut stream is not a success). */
function rawRequest(url: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers, agent: false }, (res) => {
      let body = '';
      let settled = false;
      const settle = (complete: boolean): void => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, complete });
      };
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => settle(res.complete));
      res.on('aborted', () => settle(false));
      res.on('error', () => settle(false));
      res.on('close', () => settle(res.complete));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP masking', () => {
  let upstream: Upstream;
  let running: RunningProxy | undefined;
  /** What this test's sessions recorded. */
  let recorded: EventView;
  const pipeline = () => env.pipeline;

  beforeEach(async () => {
    upstream = await startScripted();
    recorded = await env.newSessions();
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
    await upstream.close();
  });

  async function start(masking: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}, options: Record<string, unknown> = {}): Promise<void> {
    running = await startProxy(pipeline(), [connection({ name: 'api', upstream: upstream.url, route: { pathPrefix: '/' }, ...(masking ? { masking } : {}), ...extra })], options);
  }

  it('masks a JSON response by path and by value, with a correct content-length, and records the masked body and counts', async () => {
    await start({ jsonPaths: ['$.token', '$..list[*].token'] });
    const r = await request(`${running!.url}/json`, { headers: auth });
    expect(r.status).toBe(200);
    const text = r.body.toString('utf8');
    expect(Number(r.headers['content-length'])).toBe(r.body.length);
    expect(text).not.toContain(AWS_KEY);
    expect(text).not.toContain(EMAIL);
    expect(json(r.body)).toEqual({
      user: { email: '[EMAIL]', name: 'Ada' },
      note: 'key [AWS_ACCESS_KEY_ID] here',
      token: '[JSON_PATH]',
      list: [{ token: '[JSON_PATH]' }],
    });
    const ev = await recorded.waitFor('http.response');
    const body = ev.payload.body as { text: string; masked: Record<string, number>; original?: unknown };
    expect(body.text).toBe(text);
    expect(body.masked).toEqual({ email: 1, aws_access_key_id: 1, json_path: 2 });
    expect(body.original).toBeUndefined();
    // Counted in the session's end (the index entry): the proxy closes its sessions when it closes.
    await running!.close();
    running = undefined;
    expect(await recorded.counters()).toMatchObject({ 'masked.email': 1, 'masked.aws_access_key_id': 1, 'masked.json_path': 2 });
  });

  it('masks a chunked text stream when a secret is split across two chunks', async () => {
    await start({});
    const r = await request(`${running!.url}/text-split`, { headers: auth });
    const text = r.body.toString('utf8');
    expect(text).toBe('first line\nthe key is [AWS_ACCESS_KEY_ID] and mail [EMAIL]\n');
    expect(r.headers['content-length']).toBeUndefined();
    const ev = await recorded.waitFor('http.response');
    expect((ev.payload.body as { text: string }).text).toBe(text);
  });

  it('masks inside each server-sent event, keeping the framing, when events and values are split across chunks', async () => {
    await start({});
    const r = await request(`${running!.url}/sse-split`, { headers: auth });
    const text = r.body.toString('utf8');
    expect(text).toBe(
      'id: 1\nevent: note\ndata: {"text":"contact [EMAIL] now"}\n\n' + ': a comment\nevent: note\ndata: plain [AWS_ACCESS_KEY_ID]\ndata: second line\n\n',
    );
  });

  it('decodes a gzip response, masks it and sends it uncompressed', async () => {
    const echo = await startEcho();
    try {
      running = await startProxy(pipeline(), [connection({ name: 'echo', upstream: echo.url, route: { pathPrefix: '/' }, masking: {} })]);
      const r = await request(`${running.url}/gzip/x`, { method: 'POST', headers: { ...auth, 'accept-encoding': 'gzip', 'content-type': 'application/json' }, body: JSON.stringify({ mail: EMAIL }) });
      expect(r.status).toBe(200);
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(Number(r.headers['content-length'])).toBe(r.body.length);
      const echoed = json(r.body) as { body: string; url: string };
      expect(echoed.url).toBe('/gzip/x');
      expect(echoed.body).toBe('{"mail":"[EMAIL]"}');
      expect(r.body.toString()).not.toContain(EMAIL);
      // The recorded request body is masked too.
      const req = await recorded.waitFor('http.request');
      expect((req.payload.body as { text: string }).text).toBe('{"mail":"[EMAIL]"}');
      const res = await recorded.waitFor('http.response');
      expect(res.payload.body).toMatchObject({ contentEncoding: 'gzip', sentAs: 'identity' });
    } finally {
      await running?.close();
      running = undefined;
      await echo.close();
    }
  });

  it.each([
    ['a fixed mask', { kind: 'mask', text: '***' }, (t: Record<string, string>) => expect(t).toEqual({ a: '***', b: '***', c: '***' })],
    ['a type tag', { kind: 'type_tag' }, (t: Record<string, string>) => expect(t).toEqual({ a: '[EMAIL]', b: '[EMAIL]', c: '[EMAIL]' })],
    [
      'a keyed hash (equal in, equal out)',
      { kind: 'keyed_hash', key: 'env:MASK_HASH_KEY' },
      (t: Record<string, string>) => {
        expect(t.a).toMatch(/^\[EMAIL:[0-9a-f]{8}\]$/);
        expect(t.b).toBe(t.a);
        expect(t.c).toMatch(/^\[EMAIL:[0-9a-f]{8}\]$/);
        expect(t.c).not.toBe(t.a);
      },
    ],
  ])('replaces with %s as the connection chooses', async (_name, replacement, check) => {
    await start({ replacement });
    const r = await request(`${running!.url}/emails`, { headers: auth });
    check(json(r.body) as Record<string, string>);
  });

  it('stores originals encrypted beside the masked copy, with the key id and never the key; the decrypt helper opens them', async () => {
    await start({ storeOriginals: true, originalsKey: 'env:ORIGINALS_KEY' });
    const r = await request(`${running!.url}/json`, { headers: auth });
    expect(r.body.toString()).not.toContain(EMAIL);
    const ev = await recorded.waitFor('http.response');
    const body = ev.payload.body as { text: string; original: SealedOriginal };
    expect(body.text).not.toContain(EMAIL);
    expect(body.original).toMatchObject({ alg: 'AES-256-GCM', kid: expect.stringMatching(/^sha256:[0-9a-f]{16}$/) });
    const everything = JSON.stringify(await recorded.all());
    expect(everything).not.toContain(EMAIL);
    expect(everything).not.toContain(ORIGINALS_KEY);
    const context = `${ev.session}/${ev.requestId}/response.body`;
    const plain = openOriginal(body.original, ORIGINALS_KEY, context).toString('utf8');
    expect(JSON.parse(plain)).toMatchObject({ user: { email: EMAIL }, note: `key ${AWS_KEY} here` });
    // A wrong key or another place in the record does not open it.
    expect(() => openOriginal(body.original, Buffer.alloc(32, 8))).toThrow(/does not open/);
    expect(() => openOriginal(body.original, ORIGINALS_KEY, 'elsewhere')).toThrow(/another place/);
  });

  it('fails closed before headers: 502 GH_ERR_MASKING_FAILED, no upstream byte delivered, masking.failed recorded', async () => {
    await start({}, {}, { extraMaskingDetectors: { api: [boomDetector] } });
    const r = await request(`${running!.url}/boom-json`, { headers: auth });
    expect(r.status).toBe(502);
    const text = r.body.toString('utf8');
    expect((json(r.body).error as { code: string }).code).toBe('GH_ERR_MASKING_FAILED');
    expect(text).not.toContain(AWS_KEY);
    expect(text).not.toContain('BOOM');
    const failed = await recorded.waitFor('masking.failed');
    expect(failed.payload).toMatchObject({ code: 'GH_ERR_MASKING_FAILED', phase: 'response', afterHeaders: false, details: { detector: 'test-boom' } });
    const err = await recorded.waitFor('http.error');
    expect(err.payload).toMatchObject({ code: 'GH_ERR_MASKING_FAILED', reason: 'masking_failed' });
    expect(await recorded.of('http.response')).toHaveLength(0);
    expect(JSON.stringify(await recorded.all())).not.toContain(AWS_KEY);
  });

  it('fails closed mid-stream: the connection is cut (never a clean end), nothing after the failure arrives, masking.failed recorded', async () => {
    await start({}, {}, { extraMaskingDetectors: { api: [boomDetector] } });
    const r = await rawRequest(`${running!.url}/sse-boom`, auth);
    expect(r.status).toBe(200);
    expect(r.complete).toBe(false);
    expect(r.body).toBe('event: note\ndata: {"text":"fine"}\n\n');
    const failed = await recorded.waitFor('masking.failed');
    expect(failed.payload).toMatchObject({ code: 'GH_ERR_MASKING_FAILED', phase: 'response', afterHeaders: true });
    await recorded.waitFor('http.error');
    expect(JSON.stringify(await recorded.all())).not.toContain(AWS_KEY);
  });

  it('refuses a response in an encoding it cannot decode (cannot mask what it cannot read)', async () => {
    await start({});
    const r = await request(`${running!.url}/zstd`, { headers: auth });
    expect(r.status).toBe(502);
    expect((json(r.body).error as { code: string }).code).toBe('GH_ERR_MASKING_FAILED');
  });

  it('refuses to forward a request whose recorded body cannot be masked', async () => {
    await start({}, {}, { extraMaskingDetectors: { api: [boomDetector] } });
    const r = await request(`${running!.url}/json`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'BOOM' });
    expect(r.status).toBe(502);
    expect(upstream.received).toHaveLength(0);
    expect((await recorded.waitFor('masking.failed')).payload).toMatchObject({ phase: 'request' });
  });

  it('passes binary content unmasked by default and refuses it with binary: refuse', async () => {
    await start({});
    const r = await request(`${running!.url}/binary`, { headers: auth });
    expect(r.body.subarray(4).toString()).toBe(AWS_KEY);
    await running!.close();
    running = undefined;
    await start({ binary: 'refuse' });
    const s = await request(`${running!.url}/binary`, { headers: auth });
    expect(s.status).toBe(502);
  });

  it('leaves a connection without masking unaffected (same bytes, same headers)', async () => {
    await start(undefined);
    const r = await request(`${running!.url}/json`, { headers: auth });
    expect(r.body.toString()).toContain(EMAIL);
    expect(r.body.toString()).toContain(AWS_KEY);
    expect(Number(r.headers['content-length'])).toBe(r.body.length);
    const ev = await recorded.waitFor('http.response');
    expect((ev.payload.body as { masked?: unknown }).masked).toBeUndefined();
    await running!.close();
    running = undefined;
    expect(Object.keys(await recorded.counters()).filter((k) => k.startsWith('masked.'))).toEqual([]);
  });

  it('uses the top-level default for connections without their own block; enabled: false opts out', async () => {
    running = await startProxy(
      pipeline(),
      [
        connection({ name: 'dflt', upstream: upstream.url, route: { pathPrefix: '/d' } }),
        connection({ name: 'off', upstream: upstream.url, route: { pathPrefix: '/o' }, masking: { enabled: false } }),
      ],
      { defaultMasking: connection({ name: 'x', upstream: upstream.url, route: { pathPrefix: '/x' }, masking: { replacement: { kind: 'mask' } } }).masking },
    );
    const d = await request(`${running.url}/d/emails`, { headers: auth });
    expect(json(d.body)).toEqual({ a: '[MASKED]', b: '[MASKED]', c: '[MASKED]' });
    const o = await request(`${running.url}/o/emails`, { headers: auth });
    expect(json(o.body).a).toBe(EMAIL);
  });

  it('gzip-compresses nothing back and still masks a gzip stream of text', async () => {
    const gz = await startUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
      const z = zlib.createGzip();
      z.pipe(res);
      z.write(`mail ${EMAIL.slice(0, 5)}`);
      z.flush();
      await tick();
      z.end(`${EMAIL.slice(5)} end`);
    });
    try {
      running = await startProxy(pipeline(), [connection({ name: 'gz', upstream: gz.url, route: { pathPrefix: '/' }, masking: {} })]);
      const r = await request(`${running.url}/t`, { headers: { ...auth, 'accept-encoding': 'gzip' } });
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(r.body.toString()).toBe('mail [EMAIL] end');
    } finally {
      await running?.close();
      running = undefined;
      await gz.close();
    }
  });
});
