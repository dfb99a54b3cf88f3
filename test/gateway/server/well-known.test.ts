import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../../gateway/src/config/schema';
import { sshModule } from '../../../gateway/src/protocols/registry';
import { buildWellKnownDocument, WellKnownPublisher, withWellKnown, type BoundListeners } from '../../../gateway/src/server/well-known';
import { StartedProtocols, type ProtocolContext, type ProtocolModule } from '../../../gateway/src/protocols/kit/module';
import { startTestGateway, type TestGateway } from '../../support/gateway';

/** `/.well-known/gatehouse`: what `gatehouse login <gateway>` needs, and nothing secret. */
describe('/.well-known/gatehouse', () => {
  let upstream: Server;
  let tg: TestGateway;
  let keys: string;
  /** The gateway's SSH host key as OpenSSH itself reads it. */
  let hostKey: { line: string; fingerprint: string };

  beforeAll(async () => {
    keys = mkdtempSync(join(tmpdir(), 'gh-wk-keys-'));
    for (const name of ['host', 'broker']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(keys, name)]);
    hostKey = {
      line: readFileSync(join(keys, 'host.pub'), 'utf8').split(' ').slice(0, 2).join(' '),
      fingerprint: execFileSync('ssh-keygen', ['-l', '-f', join(keys, 'host.pub')], { encoding: 'utf8' }).split(' ')[1]!,
    };
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
      // Port 0 for both: the document must name the ports the OS chose.
      listeners: {
        postgres: { address: '127.0.0.1', port: 0, allowPlaintext: true },
        ssh: { address: '127.0.0.1', port: 0, hostKey: `file:${join(keys, 'host')}` },
      },
      connections: [
        { name: 'everything', kind: 'http', upstream: upstreamUrl, route: { pathPrefix: '/' }, credential: { type: 'bearer', secret: 'env:GH_TEST_NEVER_SET' } },
        { name: 'anthropic', kind: 'http', upstream: upstreamUrl, route: { pathPrefix: '/anthropic' }, llm: 'anthropic' },
        { name: 'orders', kind: 'postgres', upstream: { host: '127.0.0.1', database: 'orders', user: 'gw', tls: { mode: 'disable' } } },
        { name: 'box', kind: 'ssh', upstream: { host: '127.0.0.1', user: 'deploy', privateKey: `file:${join(keys, 'broker')}`, hostKey: readFileSync(join(keys, 'broker.pub'), 'utf8').split(' ').slice(0, 2).join(' ') } },
      ],
    }));
  });
  afterAll(async () => {
    await tg?.stop();
    await new Promise((resolve) => upstream.close(resolve));
    rmSync(keys, { recursive: true, force: true });
  });

  test('the HTTP listener serves it before any connection route, with issuer, client id, audiences and connections (the ports bound, the SSH host key)', async () => {
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
        { name: 'orders', kind: 'postgres', databases: ['orders'], port: tg.gateway.postgres!.port, tls: false },
        { name: 'box', kind: 'ssh', port: tg.gateway.protocols.get(sshModule)!.port, hostKey: hostKey.line, hostKeyFingerprint: hostKey.fingerprint, deviceLogin: false },
      ],
    });
    expect(tg.gateway.postgres!.port).toBeGreaterThan(0);
    expect(tg.gateway.protocols.get(sshModule)!.port).toBeGreaterThan(0);
    // No upstream address, user, key or secret reference leaks.
    expect(text).not.toMatch(/127\.0\.0\.1|GH_TEST_NEVER_SET|env:|file:|deploy|broker/);
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

  test('behind a load balancer the advertised host and port are published instead of the bound ones', () => {
    const config = configSchema.parse({
      mode: 'development',
      listeners: {
        postgres: { port: 0, allowPlaintext: true, advertise: { host: 'db.gatehouse.example.com', port: 5432 } },
        ssh: { port: 2222, hostKey: 'env:HOST_KEY', advertise: { port: 22 } },
      },
      identity: { issuers: [{ name: 'corp', issuer: 'https://idp.example.com', audiences: ['gatehouse'] }] },
      connections: [
        { name: 'orders', kind: 'postgres', upstream: { host: 'db.internal', database: 'orders', user: 'gw' } },
        { name: 'box', kind: 'ssh', upstream: { host: 'box.internal', user: 'deploy', privateKey: 'env:K', hostKey: 'ssh-ed25519 AAAA' } },
      ],
    });
    const bound = { postgres: { port: 40001 }, ssh: { port: 2222, hostKey: 'ssh-ed25519 AAAAC3Nza', hostKeyFingerprint: 'SHA256:abc' } };
    expect(buildWellKnownDocument(config, bound).connections).toEqual([
      { name: 'orders', kind: 'postgres', databases: ['orders'], host: 'db.gatehouse.example.com', port: 5432, tls: false },
      { name: 'box', kind: 'ssh', port: 22, hostKey: 'ssh-ed25519 AAAAC3Nza', hostKeyFingerprint: 'SHA256:abc', deviceLogin: false },
    ]);
    // Offline (no running listeners): no SSH host key to publish, so no SSH entry.
    expect(buildWellKnownDocument(config).connections.map((c) => c.kind)).toEqual(['postgres']);
    expect(() => configSchema.parse({ listeners: { postgres: { port: 1, advertise: { host: 'db example' } } } })).toThrow(/host name or IP address/);
  });

  test('SSH connections say whether the listener offers the device sign-in (listeners.ssh.deviceLogin)', () => {
    const config = configSchema.parse({
      mode: 'development',
      listeners: { ssh: { port: 2222, hostKey: 'env:HOST_KEY', deviceLogin: { issuer: 'corp', clientId: 'gatehouse-ssh' } } },
      identity: { issuers: [{ name: 'corp', issuer: 'https://idp.example.com', audiences: ['gatehouse', 'gatehouse-ssh'] }] },
      connections: [{ name: 'box', kind: 'ssh', upstream: { host: 'box.internal', user: 'deploy', privateKey: 'env:K', hostKey: 'ssh-ed25519 AAAA' } }],
    });
    const bound = { ssh: { port: 2222, hostKey: 'ssh-ed25519 AAAAC3Nza', hostKeyFingerprint: 'SHA256:abc' } };
    expect(buildWellKnownDocument(config, bound).connections).toEqual([{ name: 'box', kind: 'ssh', port: 2222, hostKey: 'ssh-ed25519 AAAAC3Nza', hostKeyFingerprint: 'SHA256:abc', deviceLogin: true }]);
  });

  test('each protocol module publishes its own part through its start context; the server only publishes what they bound', async () => {
    const config = configSchema.parse({
      mode: 'development',
      listeners: { postgres: { port: 0, allowPlaintext: true }, ssh: { port: 0, hostKey: 'env:HOST_KEY' } },
      identity: { issuers: [{ name: 'corp', issuer: 'https://idp.example.com', audiences: ['gatehouse'] }] },
      connections: [
        { name: 'orders', kind: 'postgres', upstream: { host: 'db.internal', database: 'orders', user: 'gw' } },
        { name: 'box', kind: 'ssh', upstream: { host: 'box.internal', user: 'deploy', privateKey: 'env:K', hostKey: 'ssh-ed25519 AAAA' } },
      ],
    });
    const wellKnown = new WellKnownPublisher(config);
    // Two modules that only bind their part from start, as the PostgreSQL and SSH modules do.
    const binding = (name: string, part: BoundListeners): ProtocolModule => ({
      name,
      configure: () => ({}),
      async start(_section, context) {
        context.wellKnown.bind(part);
        return { handle: name, endpoint: name, metrics: () => ({ connections: 0 }), close: async () => undefined };
      },
    });
    const started = await StartedProtocols.start(
      [binding('pg', { postgres: { port: 40002 } }), binding('sshd', { ssh: { port: 40022, hostKey: 'ssh-ed25519 AAAAC3Nza', hostKeyFingerprint: 'SHA256:xyz' } })],
      { config, wellKnown } as unknown as ProtocolContext,
    );
    wellKnown.publish();
    expect(JSON.parse(wellKnown.document!.toString('utf8')).connections).toEqual([
      { name: 'orders', kind: 'postgres', databases: ['orders'], port: 40002, tls: false },
      { name: 'box', kind: 'ssh', port: 40022, hostKey: 'ssh-ed25519 AAAAC3Nza', hostKeyFingerprint: 'SHA256:xyz', deviceLogin: false },
    ]);
    await started.close(0);
  });

  test('until the listeners it names have bound, the document is 503 (retry), not a guess', async () => {
    const config = configSchema.parse({ mode: 'development', identity: { issuers: [{ name: 'corp', issuer: 'https://idp.example.com', audiences: ['gatehouse'] }] } });
    const publisher = new WellKnownPublisher(config);
    const server = createServer(withWellKnown(publisher, (_req, res) => res.writeHead(404).end()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/gatehouse`;
      const early = await fetch(url);
      expect([early.status, early.headers.get('retry-after'), await early.text()]).toEqual([503, '1', '{"error":"starting"}']);
      publisher.publish({});
      expect(await (await fetch(url)).json()).toMatchObject({ gatehouse: 1, connections: [] });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
