import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CookieSealer, SESSION_COOKIE } from '../../../../../gateway/src/admin/console/cookies';
import { CONTENT_SECURITY_POLICY, createConsole, PLAYER_CONTENT_SECURITY_POLICY } from '../../../../../gateway/src/admin/console/router';
import { CONSOLE_ASSET_PATHS, createSessionPageService, type ChannelRecording } from '../../../../../gateway/src/admin/console/session-page';
import type { AuditEvent } from '../../../../../gateway/src/recording/events';
import { exportSession, type SessionTranscript } from '../../../../../gateway/src/recording/reader';
import { GatehouseRecorder } from '../../../../../gateway/src/recording/recorder';
import { FsLogSink } from '../../../../../gateway/src/recording/sinks/fs/fs-sink';
import { FileWitness } from '../../../../../gateway/src/recording/witness';
import { silentLogger } from '../../../../../gateway/src/observability/logger';
import { SqlSessionSearch } from '../../../../../gateway/src/state/session-search';
import { createSessionIndex, type SqlSessionIndex } from '../../../../../gateway/src/state/sql-session-index';
import { makeTempDir, PRINCIPAL, recorderOptions, synthetic, TEST_KEY } from '../../../../support/recording-helpers';
import { testPrincipal } from '../../../../support/principals';

/**
 * The session page behind the console's router: authorization as the router does it, the full
 * page (badge verified on a real recorded log), the JSON export as `sessions export` prints it,
 * the `.cast` export, the player's assets and the CSP that lets the player run on terminal pages only.
 */
const ISSUER = 'https://idp.test';
const alice = testPrincipal('alice', { groups: ['developers'], issuer: ISSUER });
const bob = testPrincipal('bob', { groups: ['developers'], issuer: ISSUER });

function terminalTranscript(): SessionTranscript {
  const raw = [
    { type: 'session.start', payload: { protocol: 'ssh', client: {} } },
    { type: 'ssh.channel.open', payload: { channel: 3, kind: 'exec', command: 'uptime', pty: { cols: 90, rows: 20 } } },
    { type: 'ssh.data', payload: { channel: 3, stream: 'stdout', t: 5, text: ' 10:00 up 1 day\r\n', bytes: 17 } },
  ];
  const events: AuditEvent[] = raw.map((e, seq) => ({ seq, type: e.type, code: 'GH0000I', time: '2026-01-15T10:00:00.000Z', session: 'ssh-1', payload: e.payload, prev: '', hash: '' }));
  return { session: { id: 'ssh-1', protocol: 'ssh', eventCount: events.length, chain: { intact: true } }, events };
}

function terminalsOf(events: readonly AuditEvent[]): ChannelRecording[] {
  const open = events.find((e) => e.type === 'ssh.channel.open');
  if (!open) return [];
  const frames = events.filter((e) => e.type === 'ssh.data').map((e) => ({ kind: 'data' as const, t: (e.payload.t as number) / 1000, stream: 'output' as const, data: e.payload.text as string }));
  return [{ channel: 3, label: 'uptime', recording: { cols: 90, rows: 20, startedAt: open.time, frames } }];
}

let base = '';
function call(path: string, cookie?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers: cookie ? { cookie } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('console session page route', () => {
  let index: SqlSessionIndex;
  let server: Server;
  let cleanup: () => Promise<void>;
  let http1: SessionTranscript;
  const sealer = CookieSealer.generate();
  const cookie = async (p: typeof alice): Promise<string> => `${SESSION_COOKIE}=${(await sealer.sealSession(p, 600)).value}`;

  beforeAll(async () => {
    let dir: string;
    ({ dir, cleanup } = await makeTempDir('gh-route-'));
    const sink = new FsLogSink(join(dir, 'log'));
    const witness = new FileWitness(join(dir, 'witness.json'));
    const rec = new GatehouseRecorder(recorderOptions(sink, { witness }));
    const s = await rec.openSession({ sessionId: 'h-1', protocol: 'http', principal: PRINCIPAL, connection: 'api', client: {} });
    await s.append('http.request', synthetic({ method: 'POST', path: '/v1/items', query: '', headers: { 'content-type': 'application/json' }, body: { size: 9, text: '{"a":"<b>"}' } }), { durable: true, requestId: 'r-1' });
    await s.end({ reason: 'closed' });
    await rec.close();
    http1 = await exportSession(sink, 'h-1');

    index = createSessionIndex({ embeddedPath: 'memory://' });
    await index.init();
    for (const [id, protocol] of [['h-1', 'http'], ['ssh-1', 'ssh']] as const) {
      await index.sessionStarted({ id, protocol, connection: 'c', subject: alice.subject, userName: alice.name, issuer: alice.issuer, groups: [...alice.groups], clientAddress: null, startedAt: new Date(Date.UTC(2026, 0, 1)), status: 'open' });
    }
    const handler = createConsole({
      sealer,
      login: { start: async () => ({ url: `${ISSUER}/auth`, login: { state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/' } }), finish: async () => alice },
      externalUrl: 'https://console.test',
      sessionSeconds: 600,
      adminGroups: ['gatehouse-admins'],
      search: new SqlSessionSearch(index),
      index,
      readSession: async (id) => (id === 'ssh-1' ? terminalTranscript() : exportSession(sink, id)),
      logger: silentLogger(),
      sessionPages: createSessionPageService({ sink, witness, trustedKeys: [TEST_KEY.publicKeyPem], terminalsOf }),
    });
    server = createServer((req, res) => void handler.handle(req, res).then((served) => (served ? undefined : res.writeHead(404).end())));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60000);
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await index.close();
    await cleanup();
  });

  it('renders the full page in the console layout, verified, under the strict CSP', async () => {
    const r = await call('/console/sessions/h-1', await cookie(alice));
    expect(r.status).toBe(200);
    expect(r.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(r.text).toContain('/console/static/console.css');
    expect(r.text).toContain('<strong>verified</strong> against the signed digests and the witness');
    expect(r.text).toContain('<code class="gh-path">/v1/items</code>');
    expect(r.text).toContain('&lt;b&gt;');
    expect(r.text).not.toContain('gh-player');
  });

  it('exports JSON exactly as `gatehouse sessions export` prints it', async () => {
    const r = await call('/console/sessions/h-1/export.json', await cookie(alice));
    expect(r.status).toBe(200);
    expect(r.headers['content-disposition']).toBe('attachment; filename="session-h-1.json"');
    expect(r.text).toBe(JSON.stringify(http1, null, 2));
  });

  it('plays and exports a terminal session at its size; the player is allowed its WebAssembly on that page only', async () => {
    const page = await call('/console/sessions/ssh-1', await cookie(alice));
    expect(page.headers['content-security-policy']).toBe(PLAYER_CONTENT_SECURITY_POLICY);
    expect(PLAYER_CONTENT_SECURITY_POLICY).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(PLAYER_CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    expect(page.text).toContain('data-cast="/console/sessions/ssh-1/export.cast?channel=3&amp;version=3" data-cols="90" data-rows="20"');
    const cast = await call('/console/sessions/ssh-1/export.cast?channel=3', await cookie(alice));
    expect(cast.status).toBe(200);
    expect(cast.headers['content-type']).toMatch(/^application\/x-asciicast/);
    expect(JSON.parse(cast.text.split('\n')[0]!)).toMatchObject({ version: 2, width: 90, height: 20 });
    expect((await call('/console/sessions/ssh-1/export.cast', await cookie(alice))).status).toBe(200);
    expect((await call('/console/sessions/ssh-1/export.cast?channel=9', await cookie(alice))).status).toBe(404);
    const v3 = await call('/console/sessions/ssh-1/export.cast?channel=3&version=3', await cookie(alice));
    expect(v3.headers['content-disposition']).toBe('attachment; filename="session-ssh-1.v3.cast"');
    expect(JSON.parse(v3.text.split('\n')[0]!)).toMatchObject({ version: 3, term: { cols: 90, rows: 20 } });
    expect((await call('/console/sessions/ssh-1/export.cast?channel=3&version=4', await cookie(alice))).status).toBe(400);
    const text = await call('/console/sessions/ssh-1/export.txt?channel=3', await cookie(alice));
    expect(text.status).toBe(200);
    expect(text.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(text.headers['content-disposition']).toBe('attachment; filename="session-ssh-1-channel-3.txt"');
    expect((await call('/console/sessions/ssh-1/export.txt?channel=3&view=1', await cookie(alice))).headers['content-disposition']).toBe('inline; filename="session-ssh-1-channel-3.txt"');
    expect((await call('/console/sessions/ssh-1/export.txt?channel=9', await cookie(alice))).status).toBe(404);
    expect((await call('/console/sessions/h-1/export.cast', await cookie(alice))).status).toBe(404);
  });

  it("answers another user's session and its exports as missing", async () => {
    for (const path of ['/console/sessions/ssh-1', '/console/sessions/ssh-1/export.cast', '/console/sessions/ssh-1/export.txt', '/console/sessions/h-1/export.json']) {
      expect((await call(path, await cookie(bob))).status).toBe(404);
    }
  });

  it('serves the player and its loader from the gateway', async () => {
    const js = await call(CONSOLE_ASSET_PATHS.playerJs);
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.text).toContain('AsciinemaPlayer');
    expect((await call(CONSOLE_ASSET_PATHS.loaderJs)).text).toContain('AsciinemaPlayer.create');
    expect((await call('/console/assets/nope.js')).status).not.toBe(200);
  });
});
