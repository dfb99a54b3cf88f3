import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { configSchema } from '../../../gateway/src/config/schema';
import { buildWellKnownDocument } from '../../../gateway/src/server/well-known';
import { startTestGateway, type TestGateway } from '../../support/gateway';

/** `/.well-known/gatehouse`: what `gatehouse login <gateway>` needs, and nothing secret. */
describe('/.well-known/gatehouse', () => {
  let upstream: Server;
  let tg: TestGateway;

  beforeAll(async () => {
    // An upstream that would answer every path: the document must come from the gateway, not it.
    upstream = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"from":"upstream"}'));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    tg = await startTestGateway(() => ({
      identity: {
        issuers: [
          { name: 'corp', issuer: 'https://idp.example.com', audiences: ['gatehouse-cli', 'gatehouse'] },
          { name: 'gha', issuer: 'https://token.actions.githubusercontent.com', audiences: ['gatehouse'], kind: 'workload', subjectRules: [{ subject: 'repo:acme/*' }] },
        ],
      },
      login: { issuer: 'corp', clientId: 'gatehouse-cli' },
      connections: [
        { name: 'everything', kind: 'http', upstream: upstreamUrl, route: { pathPrefix: '/' }, credential: { type: 'bearer', secret: 'env:GH_TEST_NEVER_SET' } },
        { name: 'anthropic', kind: 'http', upstream: upstreamUrl, route: { pathPrefix: '/anthropic' }, llm: 'anthropic' },
      ],
    }));
  });
  afterAll(async () => {
    await tg?.stop();
    await new Promise((resolve) => upstream.close(resolve));
  });

  test('the HTTP listener serves it before any connection route, with issuer, client id, audiences and connections', async () => {
    const res = await fetch(`${tg.url}/.well-known/gatehouse`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      gatehouse: 1,
      login: { configured: true, issuer: 'https://idp.example.com', clientId: 'gatehouse-cli', scopes: ['openid', 'email', 'profile', 'offline_access'], credential: 'id_token' },
      // Workload issuers are no business of a person logging in.
      issuers: [{ issuer: 'https://idp.example.com', audiences: ['gatehouse-cli', 'gatehouse'] }],
      connections: [
        { name: 'everything', kind: 'http', pathPrefix: '/' },
        { name: 'anthropic', kind: 'http', pathPrefix: '/anthropic', llm: 'anthropic' },
      ],
    });
    // No upstream address and no secret reference leaks.
    expect(text).not.toMatch(/127\.0\.0\.1|GH_TEST_NEVER_SET|env:/);
  });

  test('the admin listener serves the same document', async () => {
    const [a, b] = await Promise.all([fetch(`${tg.url}/.well-known/gatehouse`).then((r) => r.json()), fetch(`${tg.adminUrl}/.well-known/gatehouse`).then((r) => r.json())]);
    expect(b).toEqual(a);
  });

  test('only GET and HEAD; other paths still reach the connection', async () => {
    expect((await fetch(`${tg.url}/.well-known/gatehouse`, { method: 'POST', body: '{}' })).status).toBe(405);
    const head = await fetch(`${tg.url}/.well-known/gatehouse`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    // Without a token the gateway refuses: proof the request went down the proxy path, not ours.
    expect((await fetch(`${tg.url}/.well-known/gatehousex`)).status).toBe(401);
  });

  test('without a login block the document says login is not configured', () => {
    const config = configSchema.parse({ mode: 'development', identity: { issuers: [{ name: 'corp', issuer: 'https://idp.example.com', audiences: ['gatehouse'] }] } });
    expect(buildWellKnownDocument(config).login).toEqual({ configured: false, reason: expect.stringMatching(/no login block/) });
  });

  test('PostgreSQL connections are published with their database names and the listener port', () => {
    const config = configSchema.parse({
      mode: 'development',
      listeners: { postgres: { port: 6543, allowPlaintext: true } },
      identity: { issuers: [{ name: 'corp', issuer: 'https://idp.example.com', audiences: ['gatehouse'] }] },
      connections: [{ name: 'orders', kind: 'postgres', databases: ['orders', 'orders_ro'], upstream: { host: 'db.internal', database: 'orders', user: 'gw', password: 'env:PGPW' } }],
    });
    expect(buildWellKnownDocument(config).connections).toEqual([{ name: 'orders', kind: 'postgres', databases: ['orders', 'orders_ro'], port: 6543, tls: false }]);
  });
});
