import { execFileSync } from 'node:child_process';
import { createHmac, createPublicKey, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyLog } from '../../../gateway/src/recording/verify';
import { FsLogSink } from '../../../gateway/src/recording/sinks/fs/fs-sink';
import { startTestIssuer, type TestIssuer } from '../../support/oidc-issuer';
import { startEcho, startGatedStreamer, type Upstream } from '../../support/upstreams';
import { startTestGateway, type TestGateway } from '../../support/gateway';

/**
 * End to end through the real pipeline: a real OIDC issuer (oidc-provider), Cedar policy, the
 * recorder on the filesystem sink, the embedded state store, the HTTP proxy and the admin API.
 */
const UPSTREAM_SECRET = 'upstream-secret-never-seen-by-agents';
process.env.GH_E2E_UPSTREAM_TOKEN = UPSTREAM_SECRET;

const POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource == Gatehouse::Connection::"echo");

@id("no-deletes")
forbid (principal, action == Gatehouse::Action::"http:DELETE", resource);
`;

describe('gateway end to end', () => {
  let issuer: TestIssuer;
  let echo: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    echo = await startEcho();
  });
  afterAll(async () => {
    await echo.close();
    await issuer.close();
  });
  beforeEach(async () => {
    echo.received.length = 0;
    gw = await startTestGateway(overrides);
  });
  const overrides = () => ({
    identity: {
      issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], groupsClaim: 'groups', algorithms: ['RS256'] }],
    },
    policy: { cedar: POLICY },
    connections: [
      { name: 'echo', kind: 'http', upstream: echo.url, route: { pathPrefix: '/echo' }, credential: { type: 'bearer', secret: 'env:GH_E2E_UPSTREAM_TOKEN' } },
      { name: 'other', kind: 'http', upstream: echo.url, route: { pathPrefix: '/other' } },
    ],
    admin: { groups: ['auditors'] },
  });
  afterEach(async () => {
    await gw.stop();
  });

  const token = (groups: string[] = ['developers'], sub = 'ada') => issuer.mintToken({ sub, groups, email: `${sub}@example.com` });

  test('an allowed request reaches the upstream with the brokered credential, never the caller token, and is recorded', async () => {
    const t = await token();
    const res = await fetch(`${gw.url}/echo/v1/items?x=1`, { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json', 'x-request-id': 'client-req-42' }, body: '{"hello":"world"}' });
    expect(res.status).toBe(200);
    await res.text();
    expect(echo.received).toHaveLength(1);
    const got = echo.received[0]!;
    expect(got.url).toBe('/v1/items?x=1');
    expect(got.headers.authorization).toBe(`Bearer ${UPSTREAM_SECRET}`);
    expect(JSON.stringify(got.headers)).not.toContain(t);

    await gw.stop({ keep: true });
    const logText = await readAllSegments(gw.logDir);
    // The echo upstream reflects the credential it received into its response body (masking
    // responses is a separate feature); what the gateway itself records of the request and the
    // caller must hold neither the brokered secret nor the caller's token.
    const requestEvent = logText.split('\n').find((l) => l.includes('"type":"http.request"'))!;
    expect(requestEvent).not.toContain(UPSTREAM_SECRET);
    expect(logText).not.toContain(t);
    expect(logText).toContain('"http.request"');
    expect(logText).toContain('"http.response"');
    expect(logText).toContain('{\\"hello\\":\\"world\\"}');
    const verdict = await verifyLog(new FsLogSink(gw.logDir), { trustedKeys: [await readFile(join(gw.dir, 'dev-signing-key.pem.pub'), 'utf8')] });
    expect(verdict.firstFailure).toBeUndefined();
    expect(verdict.ok).toBe(true);
    expect(verdict.stats.sessions).toBe(1);
    await rm(gw.dir, { recursive: true, force: true });
  });

  const badTokens: [string, () => Promise<string | undefined>, string][] = [
    ['garbage', async () => 'not-a-jwt', 'GH_ERR_TOKEN_MALFORMED'],
    ['expired', async () => issuer.mintToken({ sub: 'ada', groups: ['developers'], exp: Math.floor(Date.now() / 1000) - 3600, iat: Math.floor(Date.now() / 1000) - 7200 }), 'GH_ERR_TOKEN_EXPIRED'],
    ['wrong audience', async () => issuer.mintToken({ sub: 'ada', groups: ['developers'], aud: 'someone-else' }), 'GH_ERR_TOKEN_AUDIENCE'],
    ['missing', async () => undefined, 'GH_ERR_TOKEN_MISSING'],
    ['wrong issuer', async () => issuer.mintToken({ sub: 'ada', groups: ['developers'], iss: 'https://idp.elsewhere.example' }), 'GH_ERR_TOKEN_ISSUER'],
    ['unknown key', async () => issuer.mintToken({ sub: 'ada', groups: ['developers'] }, { kid: 'not-a-published-key' }), 'GH_ERR_TOKEN_KEY_UNKNOWN'],
    ['alg none', async () => unsigned({ alg: 'none', typ: 'JWT' }, { iss: issuer.issuer, sub: 'ada', aud: 'gatehouse', groups: ['developers'] }), 'GH_ERR_TOKEN_ALGORITHM'],
    ['HMAC signed with the public key', async () => hmacWithPublicKey(issuer), 'GH_ERR_TOKEN_ALGORITHM'],
    ['tampered payload', async () => tampered(await issuer.mintToken({ sub: 'ada', groups: ['readers'] })), 'GH_ERR_TOKEN_SIGNATURE'],
  ];
  test.each(badTokens)('a %s token gets 401 with its reason code, never reaches the upstream, and is recorded as an authentication failure', async (_name, make, code) => {
    const t = await make();
    const res = await fetch(`${gw.url}/echo/anything`, { headers: t ? { authorization: `Bearer ${t}` } : {} });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe(code);
    expect(echo.received).toHaveLength(0);

    const admin = await token(['auditors'], 'auditor');
    const list = await adminGet(gw, '/api/sessions?status=auth_failed', admin);
    expect(list.sessions).toHaveLength(1);
    const exported = await adminGet(gw, `/api/sessions/${list.sessions[0].id}/export`, admin);
    const failure = exported.events.find((e: { type: string }) => e.type === 'auth.failure');
    expect(failure.payload.code).toBe(code);
  });

  test('a policy denial answers 403 with the reason, is recorded, and the upstream is not contacted', async () => {
    const t = await token();
    const res = await fetch(`${gw.url}/echo/v1/items/7`, { method: 'DELETE', headers: { authorization: `Bearer ${t}` } });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('GH_ERR_POLICY_DENIED');
    expect(echo.received).toHaveLength(0);
    const other = await fetch(`${gw.url}/other/x`, { headers: { authorization: `Bearer ${t}` } });
    expect(other.status).toBe(403);
    await other.text();

    const admin = await token(['auditors'], 'auditor');
    const list = await adminGet(gw, '/api/sessions?user=ada', admin);
    expect(list.sessions.length).toBeGreaterThanOrEqual(1);
    await gw.stop({ keep: true });
    const logText = await readAllSegments(gw.logDir);
    expect(logText).toContain('"policy.denied"');
    expect(logText).toContain('no-deletes');
  });

  test('sessions are found by user, connection, time range and request id through the admin API, for admins only', async () => {
    const t = await token();
    const res = await fetch(`${gw.url}/echo/find-me`, { headers: { authorization: `Bearer ${t}`, 'x-request-id': 'client-req-77' } });
    expect(res.status).toBe(200);
    await res.text();
    const admin = await token(['auditors'], 'auditor');

    expect(await adminStatus(gw, '/api/sessions', await token(['developers'], 'mallory'))).toBe(403);
    expect(await adminStatus(gw, '/api/sessions', 'garbage')).toBe(401);

    await gw.gateway.recorder.flush();
    const byUser = await adminGet(gw, '/api/sessions?user=ada&connection=echo', admin);
    expect(byUser.sessions).toHaveLength(1);
    const id = byUser.sessions[0].id;
    expect((await adminGet(gw, '/api/sessions?user=nobody', admin)).sessions).toHaveLength(0);
    expect((await adminGet(gw, '/api/sessions?connection=other', admin)).sessions).toHaveLength(0);
    const from = new Date(Date.now() - 60_000).toISOString();
    expect((await adminGet(gw, `/api/sessions?from=${from}`, admin)).sessions.map((s: { id: string }) => s.id)).toContain(id);
    expect((await adminGet(gw, '/api/sessions?to=2001-01-01T00:00:00Z', admin)).sessions).toHaveLength(0);
    await waitFor(async () => (await adminGet(gw, '/api/sessions?request_id=client-req-77', admin)).sessions.length === 1);
    const byRequest = await adminGet(gw, '/api/sessions?request_id=client-req-77', admin);
    expect(byRequest.sessions[0].id).toBe(id);

    const exported = await adminGet(gw, `/api/sessions/${id}/export`, admin);
    const types = exported.events.map((e: { type: string }) => e.type);
    expect(types.slice(0, 3)).toEqual(['session.start', 'http.request', 'http.response']);
    expect(exported.events[1].payload.decision).toMatchObject({ effect: 'allow', code: 'policy.permit', reasons: ['developers'] });
    const gatehouseRequestId = exported.events.find((e: { type: string }) => e.type === 'http.request').requestId;
    expect((await adminGet(gw, `/api/sessions?request_id=${gatehouseRequestId}`, admin)).sessions[0].id).toBe(id);
  });

  test('health, readiness and Prometheus metrics on the admin port', async () => {
    const t = await token();
    await (await fetch(`${gw.url}/echo/m`, { headers: { authorization: `Bearer ${t}` } })).text();
    expect((await fetch(`${gw.adminUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${gw.adminUrl}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_requests_total\{[^}]*connection="echo"[^}]*\} 1/);
    expect(metrics).toMatch(/gatehouse_decisions_total\{[^}]*effect="allow"/);
    // Busy polling is off by default, and so is its metric.
    expect(metrics).not.toContain('gatehouse_busy_poll_seconds_total');
  });

  test('with busy polling on, requests go through and the time spent polling is exported', async () => {
    await gw.stop();
    gw = await startTestGateway(() => ({ ...overrides(), tuning: { busyPollMicroseconds: 2000 } }));
    const t = await token();
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gw.url}/echo/poll/${i}`, { headers: { authorization: `Bearer ${t}` } });
      expect(res.status).toBe(200);
      await res.text();
    }
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    const spun = Number(/^gatehouse_busy_poll_seconds_total\{[^}]*\} (\S+)$/m.exec(metrics)?.[1]);
    // Each request polls for at least the 2 ms window after it.
    expect(spun).toBeGreaterThanOrEqual(0.002);
    expect(metrics).toMatch(/gatehouse_requests_total\{[^}]*connection="echo"[^}]*\} 3/);
  });

  test('when the disk is full, the request is refused and never forwarded unrecorded', async () => {
    // A real full disk: the log lives on a tiny tmpfs that a filler file then exhausts. (Root ignores
    // permission bits, so chmod cannot prove this here; the recorder's own tests cover EACCES.)
    await gw.stop();
    const mnt = await mkdtemp(join(tmpdir(), 'gh-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mnt]);
    try {
      gw = await startTestGateway(() => ({
        identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], algorithms: ['RS256'] }] },
        policy: { cedar: 'permit (principal, action, resource);' },
        connections: [{ name: 'echo', kind: 'http', upstream: echo.url, route: { pathPrefix: '/echo' } }],
        recording: { sink: { type: 'fs', path: join(mnt, 'log') } },
      }));
      const t = await token();
      const ok = await fetch(`${gw.url}/echo/before`, { headers: { authorization: `Bearer ${t}` } });
      expect(ok.status).toBe(200);
      await ok.text();
      echo.received.length = 0;
      await writeFile(join(mnt, 'filler'), Buffer.alloc(2 * 1024 * 1024)).catch(() => undefined); // ENOSPC once full
      // The body is random (incompressible), so its record needs space the volume no longer has.
      const res = await fetch(`${gw.url}/echo/must-not-pass`, { method: 'POST', headers: { authorization: `Bearer ${t}` }, body: randomBytes(150_000).toString('base64') });
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { code: string } };
      expect(body.error.code).toMatch(/^GH_ERR_RECORDING_/);
      expect(echo.received).toHaveLength(0);
      expect((await fetch(`${gw.adminUrl}/readyz`)).status).toBe(503);
      // Space comes back: the gateway recovers and stores what it held.
      await rm(join(mnt, 'filler'));
      await waitFor(async () => (await fetch(`${gw.adminUrl}/readyz`)).status === 200, 10_000);
      const after = await fetch(`${gw.url}/echo/after`, { headers: { authorization: `Bearer ${t}` } });
      expect(after.status).toBe(200);
      await after.text();
      await gw.stop({ keep: true });
      const verdict = await verifyLog(new FsLogSink(join(mnt, 'log')));
      expect(verdict.firstFailure).toBeUndefined();
    } finally {
      await gw.stop();
      execFileSync('umount', ['-l', mnt]);
      await rm(mnt, { recursive: true, force: true });
    }
  });

  test('graceful shutdown lets an in-flight stream finish, then seals the session and writes a final digest', async () => {
    const streamer = await startGatedStreamer(5);
    await gw.stop();
    gw = await startTestGateway(() => ({
      identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], algorithms: ['RS256'] }] },
      policy: { cedar: 'permit (principal, action, resource);' },
      connections: [{ name: 'stream', kind: 'http', upstream: streamer.url, route: { pathPrefix: '/s' } }],
    }));
    try {
      const t = await token();
      const res = await fetch(`${gw.url}/s/events`, { headers: { authorization: `Bearer ${t}` } });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain('"n":0');
      const stopping = gw.gateway.shutdown('test');
      // New connections are refused while draining.
      await expect(fetch(`${gw.url}/s/events`, { headers: { authorization: `Bearer ${t}` } })).rejects.toThrow();
      streamer.release();
      let text = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      expect(text).toContain('"last":true');
      await stopping;
      const verdict = await verifyLog(new FsLogSink(gw.logDir));
      expect(verdict.ok).toBe(true);
      expect(verdict.stats.digests).toBeGreaterThanOrEqual(1);
      expect(verdict.stats.segmentsUndigested).toBe(0);
      expect(verdict.stats.sessionsOpen).toBe(0);
      expect(await readAllSegments(gw.logDir)).toContain('"session.end"');
    } finally {
      await streamer.close();
    }
  });
});

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function unsigned(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  return `${b64(header)}.${b64({ iat: now, exp: now + 300, ...claims })}.`;
}

/** Algorithm confusion: HS256 keyed with the issuer's published public key. */
function hmacWithPublicKey(idp: TestIssuer): string {
  const jwk = idp.publicJwks().keys[0]!;
  const pem = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const now = Math.floor(Date.now() / 1000);
  const signingInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: jwk.kid })}.${b64({ iss: idp.issuer, sub: 'mallory', aud: 'gatehouse', iat: now, exp: now + 300, groups: ['developers'] })}`;
  return `${signingInput}.${createHmac('sha256', pem).update(signingInput).digest('base64url')}`;
}

/** A validly signed token whose payload was edited afterwards (groups escalated). */
function tampered(token: string): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
  return `${header}.${b64({ ...claims, groups: ['developers', 'admins'] })}.${signature}`;
}

async function adminGet(gw: TestGateway, path: string, token: string) {
  const res = await fetch(`${gw.adminUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body as any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function adminStatus(gw: TestGateway, path: string, token: string): Promise<number> {
  const res = await fetch(`${gw.adminUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  await res.text();
  return res.status;
}

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every segment's NDJSON, decompressed, concatenated. */
async function readAllSegments(logDir: string): Promise<string> {
  const { readdir } = await import('node:fs/promises');
  const { gunzipSync } = await import('node:zlib');
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.name.endsWith('.ndjson.gz')) out.push(gunzipSync(await readFile(p)).toString('utf8'));
    }
  };
  await walk(join(logDir, 'segments'));
  return out.join('');
}
