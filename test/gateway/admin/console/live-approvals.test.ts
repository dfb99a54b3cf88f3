import { createServer, request, type ClientRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApprovalService } from '../../../../gateway/src/approvals/service';
import { ApprovalStore, type ListApprovalsFilter } from '../../../../gateway/src/approvals/store';
import { CookieSealer, SESSION_COOKIE } from '../../../../gateway/src/admin/console/cookies';
import { createConsole } from '../../../../gateway/src/admin/console/router';
import { silentLogger } from '../../../../gateway/src/observability/logger';
import { SqlSessionSearch } from '../../../../gateway/src/state/session-search';
import { createSessionIndex, type SqlSessionIndex } from '../../../../gateway/src/state/sql-session-index';
import { testPrincipal } from '../../../support/principals';

/**
 * The approvals inbox's live stream: every open tab listens to the approval service's one poll
 * of the store, so tabs add listeners, not database reads. The poll's interval is an hour: each
 * read here is the first tab's or one a change signalled.
 */
class CountingStore extends ApprovalStore {
  lists = 0;
  override list(filter?: ListApprovalsFilter) {
    this.lists++;
    return super.list(filter);
  }
}

const ISSUER = 'https://idp.test';
const grace = testPrincipal('grace', { groups: ['approvers'], issuer: ISSUER });
const ada = testPrincipal('ada', { groups: ['developers'], issuer: ISSUER });

describe('live approvals stream', () => {
  let index: SqlSessionIndex;
  let store: CountingStore;
  let approvals: ApprovalService;
  let server: Server;
  let base = '';
  const sealer = CookieSealer.generate();

  beforeAll(async () => {
    index = createSessionIndex({ embeddedPath: 'memory://' });
    await index.init();
    store = new CountingStore(index.store);
    approvals = new ApprovalService({ store, approverGroups: ['approvers'], timeoutSeconds: 300, minApprovals: 1, pollIntervalMs: 3_600_000, logger: silentLogger() });
    await approvals.init();
    const handler = createConsole({
      sealer,
      login: { start: async () => ({ url: `${ISSUER}/auth`, login: { state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/console/' } }), finish: async () => grace },
      externalUrl: 'https://console.test',
      sessionSeconds: 600,
      adminGroups: ['admins'],
      search: new SqlSessionSearch(index),
      index,
      readSession: async () => ({}),
      approvals,
      logger: silentLogger(),
    });
    server = createServer((req, res) => void handler.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);
  afterAll(async () => {
    await approvals.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await index.close();
  });

  /** Opens the stream; resolves once the server answered (it subscribes before its first byte). */
  const openStream = async (cookie: string) => {
    let text = '';
    let req!: ClientRequest;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      req = request(`${base}/console/approvals/events`, { headers: { cookie } }, resolve);
      req.on('error', reject);
      req.end();
    });
    res.setEncoding('utf8');
    const changed = new Promise<void>((resolve) => res.on('data', (c: string) => (text += c).includes('event: changed') && resolve()));
    await new Promise<void>((resolve) => res.once('data', () => resolve()));
    return { changed, close: () => req.destroy() };
  };

  const until = async (what: string, ok: () => boolean | Promise<boolean>) => {
    for (let i = 0; !(await ok()); i++) {
      if (i > 500) throw new Error(`never: ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('five open tabs cost one read of the store, and a decision one more for all of them', async () => {
    const now = new Date();
    await store.create({
      id: 'ap_live',
      sessionId: 's_live',
      requestId: 'r_live.1',
      connection: 'api',
      protocol: 'http',
      action: 'http:DELETE',
      summary: 'DELETE /users/7',
      attributes: {},
      details: null,
      requester: { subject: ada.subject, issuer: ada.issuer, name: ada.name, groups: [...ada.groups] },
      reasons: ['review'],
      minApprovals: 1,
      createdAt: now,
      expiresAt: new Date(now.getTime() + 300_000),
      instanceId: null,
    });
    const { value } = await sealer.sealSession(grace, 600);
    const cookie = `${SESSION_COOKIE}=${value}`;
    const tabs = [];
    for (let i = 0; i < 5; i++) tabs.push(await openStream(cookie));
    // Every tab has its baseline once the one read has come back.
    await until('the first read', async () => store.lists >= 1 && (await approvals.list({ status: 'pending' })).length === 1);
    const before = store.lists;
    await approvals.decide('ap_live', grace, 'deny', 'not now');
    await Promise.all(tabs.map((t) => t.changed));
    // One read after the decision, whatever the number of tabs (the list() above was the test's own).
    expect(store.lists - before).toBe(1);
    expect(before).toBe(2);

    for (const t of tabs) t.close();
    await until('the streams to close', () => new Promise<boolean>((r) => server.getConnections((_e, n) => r(n === 0))));
    // Nobody watches: a signalled change reads nothing.
    approvals.wakeAll();
    await new Promise((r) => setImmediate(r));
    expect(store.lists - before).toBe(1);
  });
});
