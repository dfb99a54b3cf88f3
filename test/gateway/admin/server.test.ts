import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createGatewayMetrics, type GatewayMetrics } from '../../../gateway/src/admin/metrics';
import { createAdminServer, type HealthReport } from '../../../gateway/src/admin/server';
import { GatehouseError } from '../../../gateway/src/errors';
import type { Principal } from '../../../gateway/src/identity/principal';
import type { IdentityVerifier } from '../../../gateway/src/pipeline/types';
import { createSessionIndex, type SqlSessionIndex } from '../../../gateway/src/state/sql-session-index';

/** Accepts a fixed set of test tokens; identity itself is tested in test/gateway/identity. */
function testVerifier(): IdentityVerifier {
  const principal = (subject: string, groups: string[]): Principal => ({
    issuer: 'https://idp.test',
    issuerName: 'test',
    subject,
    name: `${subject}@example.com`,
    groups,
    kind: 'human',
    tokenId: `jti-${subject}`,
  });
  const tokens = new Map<string, Principal>([
    ['admin-token', principal('admin-1', ['dev', 'gatehouse-admins'])],
    ['auditor-token', principal('auditor-1', ['auditors'])],
    ['dev-token', principal('dev-1', ['dev'])],
  ]);
  return {
    async verify(token) {
      if (token === 'expired-token') throw new GatehouseError('GH_ERR_TOKEN_EXPIRED', 'the token has expired');
      if (token === 'issuer-down-token') throw new GatehouseError('GH_ERR_ISSUER_UNAVAILABLE', 'the issuer could not be reached');
      const p = tokens.get(token);
      if (p === undefined) throw new GatehouseError('GH_ERR_TOKEN_MALFORMED', 'the token is not a JWT');
      return p;
    },
  };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

let baseUrl = '';

function call(path: string, options: { token?: string; method?: string; authorization?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.authorization !== undefined) headers.authorization = options.authorization;
    const req = request(`${baseUrl}${path}`, { method: options.method ?? 'GET', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('admin API over loopback HTTP', () => {
  let index: SqlSessionIndex;
  let server: Server;
  let metrics: GatewayMetrics;
  let health: HealthReport;
  const exported: string[] = [];

  beforeAll(async () => {
    index = createSessionIndex({ embeddedPath: 'memory://' });
    await index.init();
    const t = (hhmm: string): Date => new Date(`2026-03-01T${hhmm}:00Z`);
    const base = { protocol: 'http', issuer: 'https://idp.test', groups: ['dev'], clientAddress: '127.0.0.1', status: 'open' };
    await index.sessionStarted({ ...base, id: 'sess-a', connection: 'anthropic', subject: 'alice', userName: 'alice@example.com', startedAt: t('09:00') });
    await index.sessionEnded('sess-a', { endedAt: t('09:30'), status: 'closed', eventCount: 4, requestCount: 2, deniedCount: 0 });
    await index.sessionStarted({ ...base, id: 'sess-b', connection: 'github', subject: 'bob', userName: 'bob@example.com', startedAt: t('10:00') });
    await index.sessionStarted({ ...base, id: 'sess-c', connection: 'anthropic', subject: 'alice', userName: 'alice@example.com', startedAt: t('11:00') });
    await index.segmentSealed('2026/03/01/seg-1.ndjson.gz', ['sess-a']);
    index.requestSeen('sess-b', 'req-b-1', 'client-77', t('10:01'));
    await index.flush();

    metrics = createGatewayMetrics({ processMetrics: false });
    health = { live: true, ready: true, details: { state: 'ok' } };
    const handler = createAdminServer({
      index,
      verifier: testVerifier(),
      adminGroups: ['gatehouse-admins', 'auditors'],
      readSession: async (id) => {
        exported.push(id);
        if (id === 'sess-a') return { sessionId: 'sess-a', events: [{ seq: 0, type: 'session.start' }, { seq: 1, type: 'session.end' }] };
        if (id === 'sess-broken') throw new Error('disk path /var/secret/x unreadable');
        throw new GatehouseError('GH_ERR_NOT_FOUND', `no recorded session ${id}`);
      },
      metrics: metrics.registry,
      health: () => health,
      logger: pino({ level: 'silent' }),
      onAuthFailure: (code) => metrics.authFailure(code, 'admin'),
    });
    server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60000);

  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await index?.close();
  });

  beforeEach(() => {
    health = { live: true, ready: true, details: { state: 'ok' } };
    exported.length = 0;
  });

  describe('health, readiness and metrics (no auth)', () => {
    it('answers /healthz 200 while live and 503 when not', async () => {
      expect(await call('/healthz')).toMatchObject({ status: 200, json: { live: true } });
      health = { live: false, ready: false };
      expect(await call('/healthz')).toMatchObject({ status: 503, json: { live: false } });
    });

    it('answers /readyz 200 when ready and 503 with details when not', async () => {
      expect(await call('/readyz')).toMatchObject({ status: 200, json: { ready: true, details: { state: 'ok' } } });
      health = { live: true, ready: false, details: { state: 'unreachable' } };
      expect(await call('/readyz')).toMatchObject({ status: 503, json: { ready: false, details: { state: 'unreachable' } } });
    });

    it('serves Prometheus text on /metrics with the gateway metrics', async () => {
      metrics.requestCompleted('http', 'anthropic', 200);
      const reply = await call('/metrics');
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(reply.text).toContain('# TYPE gatehouse_requests_total counter');
      expect(reply.text).toContain('gatehouse_requests_total{protocol="http",connection="anthropic",status="200"} 1');
    });

    it('answers HEAD without a body', async () => {
      const reply = await call('/healthz', { method: 'HEAD' });
      expect(reply.status).toBe(200);
      expect(reply.text).toBe('');
    });
  });

  describe('authentication and authorization of /api', () => {
    it('refuses a request without a token with 401 GH_ERR_TOKEN_MISSING and a Bearer challenge', async () => {
      const reply = await call('/api/sessions');
      expect(reply.status).toBe(401);
      expect(reply.json).toEqual({ error: { code: 'GH_ERR_TOKEN_MISSING', message: expect.any(String) } });
      expect(reply.headers['www-authenticate']).toMatch(/^Bearer /);
    });

    it('refuses a garbage token with 401 and the verifier’s code', async () => {
      expect(await call('/api/sessions', { token: 'not-a-token' })).toMatchObject({ status: 401, json: { error: { code: 'GH_ERR_TOKEN_MALFORMED' } } });
      expect(await call('/api/sessions', { token: 'expired-token' })).toMatchObject({ status: 401, json: { error: { code: 'GH_ERR_TOKEN_EXPIRED' } } });
      expect(await call('/api/sessions', { authorization: 'Basic YWRtaW46YWRtaW4=' })).toMatchObject({ status: 401, json: { error: { code: 'GH_ERR_TOKEN_MALFORMED' } } });
    });

    it('never echoes the token in an error', async () => {
      const reply = await call('/api/sessions', { token: 'super-secret-garbage' });
      expect(reply.text).not.toContain('super-secret-garbage');
    });

    it('answers 503 when the issuer cannot be reached (still refusing)', async () => {
      expect(await call('/api/sessions', { token: 'issuer-down-token' })).toMatchObject({ status: 503, json: { error: { code: 'GH_ERR_ISSUER_UNAVAILABLE' } } });
    });

    it('refuses an authenticated caller outside the admin groups with 403', async () => {
      expect(await call('/api/sessions', { token: 'dev-token' })).toMatchObject({ status: 403, json: { error: { code: 'GH_ERR_FORBIDDEN' } } });
      expect(await call('/api/sessions/sess-a', { token: 'dev-token' })).toMatchObject({ status: 403 });
      expect(await call('/api/sessions/sess-a/export', { token: 'dev-token' })).toMatchObject({ status: 403 });
      expect(exported).toEqual([]);
    });

    it('counts refused admin requests by code', async () => {
      await call('/api/sessions');
      await call('/api/sessions', { token: 'dev-token' });
      const text = (await call('/metrics')).text;
      expect(text).toMatch(/gatehouse_auth_failures_total\{code="GH_ERR_TOKEN_MISSING",protocol="admin"\} [1-9]/);
      expect(text).toMatch(/gatehouse_auth_failures_total\{code="GH_ERR_FORBIDDEN",protocol="admin"\} [1-9]/);
    });

    it('lets a member of any admin group in', async () => {
      expect((await call('/api/sessions', { token: 'admin-token' })).status).toBe(200);
      expect((await call('/api/sessions', { token: 'auditor-token' })).status).toBe(200);
    });
  });

  describe('session search and export', () => {
    const ids = async (query: string): Promise<string[]> => {
      const reply = await call(`/api/sessions${query}`, { token: 'admin-token' });
      expect(reply.status).toBe(200);
      return (reply.json.sessions as Array<{ id: string }>).map((s) => s.id);
    };

    it('lists sessions newest first with ISO times', async () => {
      const reply = await call('/api/sessions', { token: 'admin-token' });
      expect(reply.json.limit).toBe(100);
      expect(reply.json.sessions.map((s: { id: string }) => s.id)).toEqual(['sess-c', 'sess-b', 'sess-a']);
      expect(reply.json.sessions[2]).toMatchObject({ id: 'sess-a', startedAt: '2026-03-01T09:00:00.000Z', endedAt: '2026-03-01T09:30:00.000Z', status: 'closed', segments: ['2026/03/01/seg-1.ndjson.gz'] });
    });

    it('applies each filter', async () => {
      expect(await ids('?user=alice')).toEqual(['sess-c', 'sess-a']);
      expect(await ids('?user=bob%40example.com')).toEqual(['sess-b']);
      expect(await ids('?connection=github')).toEqual(['sess-b']);
      expect(await ids('?status=closed')).toEqual(['sess-a']);
      expect(await ids('?request_id=client-77')).toEqual(['sess-b']);
      expect(await ids('?request_id=req-b-1')).toEqual(['sess-b']);
      expect(await ids('?from=2026-03-01T09:10:00Z&to=2026-03-01T09:20:00Z')).toEqual(['sess-a']);
      expect(await ids('?from=2026-03-01T09:45:00Z')).toEqual(['sess-c', 'sess-b']);
      expect(await ids('?limit=1')).toEqual(['sess-c']);
      // A date alone is midnight UTC; a local time without a zone is read as UTC; offsets are honoured.
      expect(await ids('?to=2026-03-01')).toEqual([]);
      expect(await ids('?from=2026-03-01T10:30&to=2026-03-01T10:45')).toEqual(['sess-b']);
      expect(await ids('?from=2026-03-01T11:10:00%2B02:00&to=2026-03-01T11:20:00%2B02:00')).toEqual(['sess-a']);
    });

    it('combines filters', async () => {
      expect(await ids('?user=alice&connection=anthropic&status=open')).toEqual(['sess-c']);
      expect(await ids('?user=alice&to=2026-03-01T10:30:00Z')).toEqual(['sess-a']);
    });

    it('returns one session by id, 404 for an unknown one', async () => {
      expect(await call('/api/sessions/sess-b', { token: 'admin-token' })).toMatchObject({ status: 200, json: { session: { id: 'sess-b', connection: 'github', userName: 'bob@example.com', endedAt: null } } });
      expect(await call('/api/sessions/sess-zzz', { token: 'admin-token' })).toMatchObject({ status: 404, json: { error: { code: 'GH_ERR_NOT_FOUND' } } });
    });

    it('exports the full transcript as a JSON download', async () => {
      const reply = await call('/api/sessions/sess-a/export', { token: 'admin-token' });
      expect(reply.status).toBe(200);
      expect(reply.headers['content-disposition']).toBe('attachment; filename="session-sess-a.json"');
      expect(reply.json).toEqual({ sessionId: 'sess-a', events: [{ seq: 0, type: 'session.start' }, { seq: 1, type: 'session.end' }] });
      expect(exported).toEqual(['sess-a']);
    });

    it('answers 404 for an export of an unknown session and 500 without internals on a failure', async () => {
      expect(await call('/api/sessions/sess-zzz/export', { token: 'admin-token' })).toMatchObject({ status: 404, json: { error: { code: 'GH_ERR_NOT_FOUND' } } });
      const broken = await call('/api/sessions/sess-broken/export', { token: 'admin-token' });
      expect(broken).toMatchObject({ status: 500, json: { error: { code: 'GH_ERR_INTERNAL', message: 'internal error' } } });
      expect(broken.text).not.toContain('/var/secret');
    });
  });

  describe('bad requests', () => {
    const bad = async (query: string, parameter: string): Promise<void> => {
      const reply = await call(`/api/sessions${query}`, { token: 'admin-token' });
      expect(reply.status).toBe(400);
      expect(reply.json.error.code).toBe('GH_ERR_REQUEST_INVALID');
      expect(reply.json.error.parameter).toBe(parameter);
      expect(reply.json.error.message).toContain(parameter);
    };

    it('rejects invalid dates naming the parameter', async () => {
      await bad('?from=yesterday', 'from');
      await bad('?to=2026-13-45T00:00:00Z', 'to');
      await bad('?from=1700000000', 'from');
      await bad('?from=2026-02-30T00:00:00Z', 'from');
      await bad('?to=2026-03-01T10:00:00%2B0200', 'to');
      await bad('?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', 'from');
    });

    it('rejects a negative, zero, fractional, huge or non-numeric limit', async () => {
      await bad('?limit=-1', 'limit');
      await bad('?limit=0', 'limit');
      await bad('?limit=2.5', 'limit');
      await bad('?limit=100000', 'limit');
      await bad('?limit=ten', 'limit');
    });

    it('rejects unknown, repeated and empty parameters', async () => {
      await bad('?usr=alice', 'usr');
      await bad('?user=a&user=b', 'user');
      await bad('?connection=', 'connection');
    });

    it('rejects a malformed session id', async () => {
      const reply = await call('/api/sessions/%E0%A4%A', { token: 'admin-token' });
      expect(reply).toMatchObject({ status: 400, json: { error: { code: 'GH_ERR_REQUEST_INVALID', parameter: 'id' } } });
    });

    it('answers 405 for other methods and 404 for unknown routes', async () => {
      const post = await call('/api/sessions', { token: 'admin-token', method: 'POST' });
      expect(post).toMatchObject({ status: 405, json: { error: { code: 'GH_ERR_METHOD_NOT_ALLOWED' } } });
      expect(post.headers.allow).toBe('GET, HEAD');
      expect(await call('/nope')).toMatchObject({ status: 404, json: { error: { code: 'GH_ERR_NOT_FOUND' } } });
      expect(await call('/api/other', { token: 'admin-token' })).toMatchObject({ status: 404 });
    });

    it('checks the token before the parameters', async () => {
      expect(await call('/api/sessions?limit=-1')).toMatchObject({ status: 401 });
    });
  });
});

describe('admin API when the session index is unavailable', () => {
  it('answers 503 GH_ERR_STATE_UNAVAILABLE', async () => {
    const index = createSessionIndex({ embeddedPath: 'memory://' });
    await index.close(); // a closed index rejects every call, as an unreachable one does
    const server = createServer(
      createAdminServer({
        index,
        verifier: testVerifier(),
        adminGroups: ['gatehouse-admins'],
        readSession: async () => ({}),
        metrics: createGatewayMetrics({ processMetrics: false }).registry,
        health: () => ({ live: true, ready: false }),
        logger: pino({ level: 'silent' }),
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await call('/api/sessions', { token: 'admin-token' })).toMatchObject({ status: 503, json: { error: { code: 'GH_ERR_STATE_UNAVAILABLE' } } });
      expect(await call('/api/sessions/sess-a', { token: 'admin-token' })).toMatchObject({ status: 503 });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('refuses to start without admin groups', () => {
    expect(() =>
      createAdminServer({
        index: createSessionIndex({ embeddedPath: 'memory://' }),
        verifier: testVerifier(),
        adminGroups: [],
        readSession: async () => ({}),
        metrics: createGatewayMetrics({ processMetrics: false }).registry,
        health: () => ({ live: true, ready: true }),
        logger: pino({ level: 'silent' }),
      }),
    ).toThrow(/admin group/);
  });
});
