import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createAdminAudit } from '../../../gateway/src/admin/audit';
import { createGatewayMetrics } from '../../../gateway/src/admin/metrics';
import { createAdminServer } from '../../../gateway/src/admin/server';
import { GatehouseError } from '../../../gateway/src/errors';
import type { Principal } from '../../../gateway/src/identity/principal';
import { GatehouseRecorder } from '../../../gateway/src/recording/recorder';
import { FsLogSink } from '../../../gateway/src/recording/sinks/fs/fs-sink';
import { verifyLog } from '../../../gateway/src/recording/verify';
import { createSessionIndex, type SqlSessionIndex } from '../../../gateway/src/state/sql-session-index';
import { makeTempDir, recorderOptions, TEST_KEY } from '../../support/recording-helpers';
import { gunzipSync } from 'node:zlib';

/**
 * Admin API actions and refusals land in the tamper-evident record (admin/audit.ts), recorded
 * before the action is served; an action that cannot be recorded is refused.
 */
const principal = (subject: string, groups: string[]): Principal => ({
  issuer: 'https://idp.test',
  issuerName: 'test',
  subject,
  name: `${subject}@example.com`,
  groups,
  kind: 'human',
  tokenId: `jti-${subject}`,
});

describe('admin API audit trail', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let index: SqlSessionIndex;
  let recorder: GatehouseRecorder;
  let sink: FsLogSink;
  let server: Server;
  let base: string;
  const exported: string[] = [];

  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir('gh-admin-audit-'));
    index = createSessionIndex({ embeddedPath: 'memory://' });
    await index.init();
    sink = new FsLogSink(dir);
    recorder = new GatehouseRecorder(recorderOptions(sink, { clock: () => new Date() }));
    const tokens = new Map([
      ['admin-token', principal('admin-1', ['gatehouse-admins'])],
      ['dev-token', principal('dev-1', ['dev'])],
    ]);
    const handler = createAdminServer({
      index,
      verifier: {
        async verify(token) {
          const p = tokens.get(token);
          if (!p) throw new GatehouseError('GH_ERR_TOKEN_MALFORMED', 'the token is not a JWT');
          return p;
        },
      },
      adminGroups: ['gatehouse-admins'],
      readSession: async (id) => {
        exported.push(id);
        return { sessionId: id, events: [] };
      },
      metrics: createGatewayMetrics({ processMetrics: false }).registry,
      health: () => ({ live: true, ready: true }),
      logger: pino({ level: 'silent' }),
      audit: createAdminAudit(recorder),
    });
    server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    exported.length = 0;
  }, 60_000);

  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await recorder.close().catch(() => undefined);
    await index.close();
    await cleanup();
  });

  async function recorded(): Promise<Array<Record<string, any>>> {
    const out: Array<Record<string, any>> = [];
    for (const key of await sink.list('segments/')) {
      for (const line of gunzipSync((await sink.get(key))!).toString().split('\n')) if (line) out.push(JSON.parse(line) as Record<string, any>);
    }
    return out;
  }

  it('records an export with the exporting principal, in a verified and sealed log', async () => {
    const res = await fetch(`${base}/api/sessions/sess-1/export`, { headers: { authorization: 'Bearer admin-token' } });
    expect(res.status).toBe(200);
    await res.text();
    await recorder.close();
    const events = await recorded();
    const exportEvent = events.find((e) => e.type === 'admin.session.export');
    expect(exportEvent).toMatchObject({ code: 'GH5002W', payload: { sessionId: 'sess-1' } });
    const start = events.find((e) => e.session === exportEvent!.session && e.type === 'session.start');
    expect(start).toMatchObject({ principal: { subject: 'admin-1' }, payload: { protocol: 'admin' } });
    expect((await verifyLog(sink, { trustedKeys: [TEST_KEY.publicKeyPem] })).ok).toBe(true);
  });

  it('records reads, listings and refused tokens (with the refused subject)', async () => {
    for (const [path, token] of [
      ['/api/sessions?user=alice', 'admin-token'],
      ['/api/sessions/sess-2', 'admin-token'],
      ['/api/sessions', 'dev-token'],
      ['/api/sessions', 'garbage'],
    ] as const) {
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
      await res.text();
    }
    await recorder.flush();
    const types = (await recorded()).filter((e) => e.type.startsWith('admin.'));
    expect(types.map((e) => [e.type, e.payload])).toEqual([
      ['admin.sessions.list', { path: '/api/sessions', query: { user: 'alice' } }],
      ['admin.session.read', { path: '/api/sessions/sess-2', sessionId: 'sess-2' }],
      ['admin.auth.failure', { code: 'GH_ERR_FORBIDDEN', path: '/api/sessions', subject: 'dev-1' }],
      ['admin.auth.failure', { code: 'GH_ERR_TOKEN_MALFORMED', path: '/api/sessions' }],
    ]);
  });

  it('refuses an export it cannot record, and never reads the session', async () => {
    await recorder.close();
    const res = await fetch(`${base}/api/sessions/sess-3/export`, { headers: { authorization: 'Bearer admin-token' } });
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('GH_ERR_RECORDING_CLOSED');
    expect(exported).toEqual([]);
  });
});
