import { GatehouseError } from '../../../../gateway/src/errors';
import type { Principal } from '../../../../gateway/src/identity/principal';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DECISION_CODES, type Operation } from '../../../../gateway/src/policy/decision';
import { HttpRefusal, type HttpDialect, type HttpRequestBody, type HttpRequestHead, type SpooledBody } from '../../../../gateway/src/protocols/kit/http-dialect';
import { dialectFor, httpOperation, plainHttpDialect } from '../../../../gateway/src/protocols/http/dialects';
import { sessionIdOfRequest } from '../../../../gateway/src/ids';
import { EVENT_CODES } from '../../../../gateway/src/recording/event-catalog';
import { startPipelineWorld, startRealPipeline, type PipelineWorld, type RealPipeline } from '../../../support/real-pipeline';
import { startEcho, type Upstream } from '../../../support/upstreams';
import { connection, json, request, startProxy, type RunningProxy } from '../http/harness';

/**
 * The HttpDialect seam through the real HTTP exchange and the real pipeline: a dialect that judges
 * on the body decides what goes through, what it judged is exactly what the upstream receives, and
 * what it cannot judge whole is refused (recorded, counted) instead of judged on a prefix.
 */
const POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("b-target")
permit (principal in Gatehouse::Group::"developers", action, resource) when { context.path == "/b" };

@id("no-danger")
@message("the danger target is not allowed")
forbid (principal, action, resource) when { context.path == "/danger" };
`;

const CAP = 64;

/** A JSON-body dialect: `{"targets": [...]}` is one operation per target. */
function targetsDialect(body: 'whole' | 'prefix'): HttpDialect {
  return {
    name: 'targets',
    body,
    bodyCap: CAP,
    decode(head: HttpRequestHead, b: HttpRequestBody | undefined): Operation | readonly Operation[] | HttpRefusal {
      let parsed: unknown;
      try {
        parsed = JSON.parse(b!.bytes.toString('utf8'));
      } catch {
        return new HttpRefusal(DECISION_CODES.httpBodyUndecodable, 'GH_ERR_REQUEST_INVALID', 'the body is not JSON');
      }
      const targets = (parsed as { targets?: unknown }).targets;
      if (!Array.isArray(targets) || targets.length === 0) return new HttpRefusal(DECISION_CODES.httpBodyUndecodable, 'GH_ERR_REQUEST_INVALID', 'no targets');
      return targets.map((t) => ({ ...httpOperation(head), attributes: { ...httpOperation(head).attributes, path: `/${String(t)}` }, summary: `target ${String(t)}` }));
    },
  };
}

let world: PipelineWorld;
beforeAll(async () => {
  world = await startPipelineWorld();
}, 60_000);
afterAll(() => world.close());

let env: RealPipeline;
let echo: Upstream;
let proxy: RunningProxy;
let token: string;

async function start(dialect: HttpDialect, recordingMode: 'strict' | 'buffered' = 'strict'): Promise<void> {
  env = await startRealPipeline({ policy: POLICY, world, recordingMode });
  echo = await startEcho();
  proxy = await startProxy(env.pipeline, [connection({ name: 'api', upstream: echo.url, route: { pathPrefix: '/api' }, credential: { type: 'none' } })], { dialects: { api: dialect } });
  token = await env.token();
}

afterEach(async () => {
  await proxy?.close();
  await echo?.close();
  await env?.close();
});

function post(body: string | Buffer): ReturnType<typeof request> {
  return request(`${proxy.url}/api/things`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
}

/** The events of the session a response's request id names, after the proxy closed it. */
async function sessionEvents(res: { headers: Record<string, unknown> }) {
  const id = sessionIdOfRequest(String(res.headers['x-gatehouse-request-id']));
  await proxy.close();
  return env.events(id!);
}

/**
 * The session's events once `type` is among them. `http.request.body` is recorded when the
 * forwarded body's stream ends, which can come a tick after the upstream already answered.
 */
async function sessionEventsWith(res: { headers: Record<string, unknown> }, type: string) {
  const id = sessionIdOfRequest(String(res.headers['x-gatehouse-request-id']))!;
  for (let i = 0; !(await env.events(id)).some((e) => e.type === type); i++) {
    if (i > 300) throw new Error(`${type} was never recorded`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return sessionEvents(res);
}

describe('HttpDialect: judging on the body', () => {
  it('forwards what it judged, byte for byte, when every operation is allowed', async () => {
    await start(targetsDialect('whole'));
    const body = '{"targets":["a","b"]}';
    const res = await post(body);
    expect(res.status).toBe(200);
    expect(echo.received).toHaveLength(1);
    expect(echo.received[0]!.body.toString('utf8')).toBe(body);
  });

  it.each(['strict', 'buffered'] as const)("records every operation's decision in the request event when all are allowed (%s)", async (mode) => {
    await start(targetsDialect('whole'), mode);
    const several = await post('{"targets":["a","b"]}');
    const single = await post('{"targets":["a"]}');
    expect([several.status, single.status]).toEqual([200, 200]);
    const [first] = (await sessionEvents(several)).filter((e) => e.type === 'http.request');
    const [second] = (await env.events(sessionIdOfRequest(String(single.headers['x-gatehouse-request-id']))!)).filter((e) => e.type === 'http.request');
    const requests = [first, second];
    const allow = (reasons: string[]) => ({ effect: 'allow', code: 'policy.permit', reasons });
    // Cedar names the permitting policies in no fixed order.
    const sorted = (d: unknown) => ({ ...(d as { reasons: string[] }), reasons: [...(d as { reasons: string[] }).reasons].sort() });
    // Several operations: each one's decision, in the order judged; `decision` keeps the single-operation shape.
    expect((requests[0]!.payload.decisions as unknown[]).map(sorted)).toEqual([allow(['developers']), allow(['b-target', 'developers'])]);
    expect(sorted(requests[0]!.payload.decision)).toEqual(allow(['b-target', 'developers']));
    // One operation: the shape is unchanged, no list.
    expect(requests[1]!.payload.decision).toEqual(allow(['developers']));
    expect(requests[1]!.payload).not.toHaveProperty('decisions');
  });

  it('refuses the request when one of its operations is denied, and the upstream never sees it', async () => {
    await start(targetsDialect('whole'));
    const res = await post('{"targets":["a","danger"]}');
    expect(res.status).toBe(403);
    expect(json(res.body)).toMatchObject({ error: { code: 'GH_ERR_POLICY_DENIED', decision: 'policy.forbid' } });
    expect(echo.received).toHaveLength(0);
    const events = await sessionEvents(res);
    expect(events.filter((e) => e.type === 'policy.denied')).toMatchObject([{ code: EVENT_CODES['policy.denied'], payload: { code: 'policy.forbid', operation: 'target danger' } }]);
    expect(events.find((e) => e.type === 'session.end')).toMatchObject({ payload: { denied: 1 } });
  });

  it('refuses a body longer than a whole-body cap with 413, recorded and counted, never judged on its prefix', async () => {
    await start(targetsDialect('whole'));
    // The prefix alone would be allowed: only the part past the cap names the forbidden target.
    const body = `{"targets":["a"${',"b"'.repeat(20)},"danger"]}`;
    expect(body.length).toBeGreaterThan(CAP);
    const res = await post(body);
    expect(res.status).toBe(413);
    expect(json(res.body)).toMatchObject({ error: { code: 'GH_ERR_MESSAGE_TOO_LARGE', decision: 'http.body_too_large' } });
    expect(echo.received).toHaveLength(0);
    const events = await sessionEvents(res);
    expect(events.filter((e) => e.type === 'policy.denied')).toMatchObject([{ payload: { code: 'http.body_too_large', action: 'http:POST' } }]);
    expect(events.find((e) => e.type === 'session.end')).toMatchObject({ payload: { denied: 1 } });
  });

  it('judges a body of exactly the cap whole', async () => {
    await start(targetsDialect('whole'));
    const base = '{"targets":["a"]}';
    const body = base.slice(0, -2) + ' '.repeat(CAP - base.length) + base.slice(-2);
    expect(body.length).toBe(CAP);
    const res = await post(body);
    expect(res.status).toBe(200);
    expect(echo.received[0]!.body.toString('utf8')).toBe(body);
  });

  it("answers a dialect's own refusal with its error and records it under its decision code", async () => {
    await start(targetsDialect('whole'), 'buffered');
    const res = await post('not json');
    expect(res.status).toBe(400);
    expect(json(res.body)).toMatchObject({ error: { code: 'GH_ERR_REQUEST_INVALID', decision: 'http.body_undecodable', message: 'the body is not JSON' } });
    expect(echo.received).toHaveLength(0);
    const events = await sessionEvents(res);
    expect(events.filter((e) => e.type === 'policy.denied')).toMatchObject([{ payload: { code: 'http.body_undecodable', action: 'http:POST' } }]);
  });
});

describe('HttpDialect: chosen once per connection', () => {
  it('is plain HTTP unless the connection is an LLM API', () => {
    expect(dialectFor(connection({ name: 'a', upstream: 'http://127.0.0.1:9', route: { pathPrefix: '/a' }, credential: { type: 'none' } }), 1024)).toBe(plainHttpDialect);
    const llm = dialectFor(connection({ name: 'b', upstream: 'http://127.0.0.1:9', route: { pathPrefix: '/b' }, credential: { type: 'none' }, llm: 'anthropic' }), 1024);
    expect(llm.name).toBe('llm.anthropic');
    expect(llm.body).toBe('none');
  });
});

/**
 * A dialect that authenticates the caller itself (as AWS does with SigV4): `x-test-caller: <token>`
 * carries an OIDC token the dialect verifies through the pipeline's verifier; it rewrites the
 * forwarded request (a header, a re-framed body) and answers errors in its own shape.
 */
function selfAuthDialect(verify: (token: string) => Promise<Principal>): HttpDialect {
  return {
    name: 'selfauth',
    body: 'prefix',
    bodyCap: CAP,
    decode: httpOperation,
    async authenticate({ req, body }) {
      const token = req.headers['x-test-caller'];
      if (typeof token !== 'string') throw new GatehouseError('GH_ERR_TOKEN_MISSING', 'no x-test-caller');
      return { principal: await verify(token), context: { bodySeen: body.bytes.toString('utf8') } };
    },
    upstreamRequest({ head, headers }) {
      headers['x-rewritten'] = `by-dialect:${String((head.caller?.context as { bodySeen: string }).bodySeen.length)}`;
      return {
        async *body(source) {
          for await (const chunk of source) yield Buffer.from(chunk.toString('utf8').toUpperCase());
        },
      };
    },
    sendError(res, err, extras) {
      res.writeHead(err.status, { 'content-type': 'text/plain' }).end(`NATIVE ${err.code} ${extras.decision ?? '-'}`);
    },
  };
}

describe('HttpDialect: caller authentication and upstream rewrite by the dialect', () => {
  async function startSelfAuth(): Promise<void> {
    env = await startRealPipeline({ policy: POLICY, world, recordingMode: 'strict' });
    echo = await startEcho();
    proxy = await startProxy(env.pipeline, [connection({ name: 'api', upstream: echo.url, route: { pathPrefix: '/api' }, credential: { type: 'none' } })], { dialects: { api: selfAuthDialect((t) => env.verifier.verify(t)) } });
    token = await env.token();
  }

  it('judges under the principal the dialect named, and forwards the rewritten request and body', async () => {
    await startSelfAuth();
    const res = await request(`${proxy.url}/api/things`, { method: 'POST', headers: { 'x-test-caller': token, 'content-type': 'text/plain' }, body: 'hello' });
    expect(res.status).toBe(200);
    expect(echo.received).toHaveLength(1);
    expect(echo.received[0]!.headers['x-rewritten']).toBe('by-dialect:5');
    expect(echo.received[0]!.body.toString('utf8')).toBe('HELLO');
    const events = await sessionEvents(res);
    expect(events.find((e) => e.type === 'session.start')?.principal).toMatchObject({ subject: expect.any(String) });
  });

  it('re-frames a body longer than what was read before judging, streaming the rest', async () => {
    await startSelfAuth();
    const body = 'x'.repeat(CAP * 40);
    const res = await request(`${proxy.url}/api/things`, { method: 'POST', headers: { 'x-test-caller': token, 'content-type': 'text/plain' }, body });
    expect(res.status).toBe(200);
    expect(echo.received[0]!.body.toString('utf8')).toBe(body.toUpperCase());
  });

  it('refuses a caller the dialect does not authenticate, in its native shape, recorded as auth.failure', async () => {
    await startSelfAuth();
    const res = await request(`${proxy.url}/api/things`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(res.status).toBe(401);
    expect(res.body.toString('utf8')).toBe('NATIVE GH_ERR_TOKEN_MISSING -');
    expect(echo.received).toHaveLength(0);
    const failure = await env.waitForEvent('auth.failure');
    expect(failure.payload).toMatchObject({ code: 'GH_ERR_TOKEN_MISSING', connection: 'api' });
  });

  it('answers a policy denial in the native shape with its decision code', async () => {
    await startSelfAuth();
    const res = await request(`${proxy.url}/api/danger`, { method: 'POST', headers: { 'x-test-caller': token }, body: 'x' });
    expect(res.status).toBe(403);
    expect(res.body.toString('utf8')).toBe('NATIVE GH_ERR_POLICY_DENIED policy.forbid');
    expect(echo.received).toHaveLength(0);
  });
});

describe('HttpDialect: spooled bodies, judged whole and asynchronously', () => {
  const RECORDING_CAP = 32;
  let spoolDir: string;
  let seen: { body: SpooledBody; fileBytes: Buffer | undefined }[];
  beforeEach(() => {
    spoolDir = mkdtempSync(join(tmpdir(), 'gh-spool-test-'));
    seen = [];
  });
  afterEach(() => rmSync(spoolDir, { recursive: true, force: true }));
  /** The spool folder's entries once the exchange has cleaned up (it removes the file after answering). */
  async function spoolLeft(): Promise<string[]> {
    for (let i = 0; i < 100 && readdirSync(spoolDir).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    return readdirSync(spoolDir);
  }

  /** Judges on the whole body, which names its target at its end; answers refusals natively. */
  function spoolDialect(cap: number): HttpDialect {
    return {
      name: 'spooler',
      body: 'spool',
      bodyCap: cap,
      spoolDir,
      decode: () => new HttpRefusal(DECISION_CODES.httpBodyUndecodable, 'GH_ERR_INTERNAL', 'never called for spool'),
      async inspect(head, body) {
        const whole = body.file === undefined ? body.prefix : readFileSync(body.file);
        seen.push({ body, fileBytes: body.file === undefined ? undefined : whole });
        const target = whole.toString('utf8').split(':').at(-1)!;
        if (target === 'explode') throw new Error('inspect exploded (test fixture)');
        return { ...httpOperation(head), attributes: { ...httpOperation(head).attributes, path: `/${target}` }, summary: `target ${target}` };
      },
      sendError(res, err, extras) {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-gatehouse-error': err.code }).end(`native: ${extras.decision ?? err.code} ${extras.operation?.summary ?? '-'}`);
      },
    };
  }

  async function startSpool(cap: number): Promise<void> {
    env = await startRealPipeline({ policy: POLICY, world, recordingMode: 'strict' });
    echo = await startEcho();
    proxy = await startProxy(env.pipeline, [connection({ name: 'api', upstream: echo.url, route: { pathPrefix: '/api' }, credential: { type: 'none' }, bodyCapBytes: RECORDING_CAP })], { dialects: { api: spoolDialect(cap) } });
    token = await env.token();
  }

  it('spools a body longer than the recording cap to a file, judges it whole, forwards exactly those bytes, then removes the file', async () => {
    await startSpool(1 << 20);
    const body = Buffer.concat([Buffer.alloc(200_000, 'x'), Buffer.from(':a')]);
    const res = await post(body);
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.body).toMatchObject({ size: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    expect(seen[0]!.body.prefix.length).toBeLessThan(body.length);
    expect(seen[0]!.fileBytes!.equals(body)).toBe(true);
    expect(echo.received[0]!.body.equals(body)).toBe(true);
    expect(await spoolLeft()).toEqual([]);
    const events = await sessionEventsWith(res, 'http.request.body');
    expect(events.find((e) => e.type === 'http.request.body')).toMatchObject({ payload: { size: body.length, sha256: seen[0]!.body.sha256 } });
  });

  it('creates the spool folder (private) when it does not exist yet, instead of failing the first long body', async () => {
    const parent = spoolDir;
    spoolDir = join(parent, 'not', 'yet');
    try {
      await startSpool(1 << 20);
      const body = Buffer.concat([Buffer.alloc(100_000, 'z'), Buffer.from(':c')]);
      const res = await post(body);
      expect(res.status).toBe(200);
      expect(echo.received[0]!.body.equals(body)).toBe(true);
      expect(statSync(spoolDir).mode & 0o777).toBe(0o700);
      expect(await spoolLeft()).toEqual([]);
    } finally {
      spoolDir = parent;
    }
  });

  it('a dialect that throws is answered as an internal error, never forwarded, and its cause is logged for the operator', async () => {
    await startSpool(1 << 20);
    const res = await post(Buffer.concat([Buffer.alloc(100_000, 'e'), Buffer.from(':explode')]));
    expect(res.headers['x-gatehouse-error']).toBe('GH_ERR_INTERNAL');
    expect(echo.received).toHaveLength(0);
    const logged = proxy.logger.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toContainEqual(expect.objectContaining({ msg: 'dialect failed to decode a request', dialect: 'spooler', err: 'inspect exploded (test fixture)' }));
    expect(await spoolLeft()).toEqual([]);
  });

  it('keeps a body within the recording cap in memory (no file)', async () => {
    await startSpool(1 << 20);
    const res = await post('short:b');
    expect(res.status).toBe(200);
    expect(seen[0]!.body.file).toBeUndefined();
    expect(seen[0]!.body.prefix.toString()).toBe('short:b');
    expect(echo.received[0]!.body.toString()).toBe('short:b');
  });

  it('judges on what only the end of a long body says, and answers the refusal natively; the upstream sees nothing and no file is left', async () => {
    await startSpool(1 << 20);
    const res = await post(Buffer.concat([Buffer.alloc(100_000, 'y'), Buffer.from(':danger')]));
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('native: policy.forbid target danger');
    expect(res.headers['x-gatehouse-error']).toBe('GH_ERR_POLICY_DENIED');
    expect(echo.received).toHaveLength(0);
    expect(await spoolLeft()).toEqual([]);
  });

  it('refuses a body longer than the spool cap (413 semantics, natively answered), never judged, no file left', async () => {
    await startSpool(50_000);
    // The client may see the answer, or a reset while it still writes the body the gateway stopped reading.
    const res = await post(Buffer.concat([Buffer.alloc(100_000, 'z'), Buffer.from(':a')])).catch(() => undefined);
    if (res !== undefined) expect(res.body.toString()).toBe('native: http.body_too_large -');
    expect(seen).toHaveLength(0);
    expect(echo.received).toHaveLength(0);
    expect(await spoolLeft()).toEqual([]);
    expect(existsSync(spoolDir)).toBe(true);
  });
});
