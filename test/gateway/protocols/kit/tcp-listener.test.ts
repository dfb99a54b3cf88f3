import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { closeTcpGracefully, listenTcp, upgradeServerTls } from '../../../../gateway/src/protocols/kit/tcp-listener';
import { makeTempDir } from '../../../support/recording-helpers';

let cert: string;
let key: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  const t = await makeTempDir('gh-tcp-');
  cleanup = t.cleanup;
  const [c, k] = [join(t.dir, 'cert.pem'), join(t.dir, 'key.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', k, '-out', c], { stdio: 'ignore' });
  [cert, key] = [readFileSync(c, 'utf8'), readFileSync(k, 'utf8')];
});
afterAll(() => cleanup());

/** A listener that upgrades every connection to TLS at once (direct TLS) and reports the outcome. */
async function directTlsServer(requireAlpn: string | undefined): Promise<{ server: net.Server; port: number; outcome: Promise<string> }> {
  const secureContext = tls.createSecureContext({ cert, key });
  let report!: (s: string) => void;
  const outcome = new Promise<string>((r) => (report = r));
  const server = net.createServer((raw) => {
    upgradeServerTls(raw, { secureContext, alpn: ['testproto'], requireAlpn }).then(
      (s) => {
        report(`secure ${s.alpnProtocol || 'none'}`);
        s.end('hello');
      },
      (e: { code: string; message: string }) => report(`${e.code}: ${e.message}`),
    );
  });
  const { port } = await listenTcp(server, '127.0.0.1', 0);
  return { server, port, outcome };
}

function connect(port: number, alpn?: string[]): Promise<void> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: cert, ALPNProtocols: alpn });
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.resume();
  });
}

describe('kit TCP listener harness', () => {
  it('upgrades to TLS and negotiates the offered ALPN protocol', async () => {
    const t = await directTlsServer('testproto');
    await connect(t.port, ['testproto']);
    expect(await t.outcome).toBe('secure testproto');
    t.server.close();
  });

  it('refuses direct TLS without the required ALPN protocol', async () => {
    const t = await directTlsServer('testproto');
    await connect(t.port);
    expect(await t.outcome).toBe('GH_ERR_REQUEST_INVALID: direct TLS without ALPN "testproto"');
    t.server.close();
  });

  it('reports a failed handshake as GH_ERR_REQUEST_INVALID', async () => {
    const t = await directTlsServer(undefined);
    await new Promise<void>((resolve) => {
      const s = net.connect(t.port, '127.0.0.1', () => s.end('this is not a ClientHello\r\n'));
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    expect(await t.outcome).toMatch(/^GH_ERR_REQUEST_INVALID: TLS handshake failed/);
    t.server.close();
  });

  it('graceful close: connections that end when asked are not cut; the rest are, and every socket goes', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    const { port } = await listenTcp(server, '127.0.0.1', 0);
    const clients = await Promise.all([0, 1].map(() => new Promise<net.Socket>((r) => { const c = net.connect(port, '127.0.0.1', () => r(c)); c.on('error', () => undefined); })));
    while (sockets.size < 2) await new Promise((r) => setImmediate(r));
    const [polite, stubborn] = [...sockets] as [net.Socket, net.Socket];
    const live = new Set([polite, stubborn]);
    const log: string[] = [];
    await closeTcpGracefully({
      server,
      connections: live,
      sockets,
      endWhenIdle: (c) => {
        if (c === polite) {
          log.push('polite ends');
          live.delete(c);
          c.end();
        }
      },
      cut: (c) => {
        log.push(c === stubborn ? 'stubborn cut' : 'polite cut');
        live.delete(c);
      },
      graceMs: 0,
    });
    expect(log).toEqual(['polite ends', 'stubborn cut']);
    expect(server.listening).toBe(false);
    for (const c of clients) c.destroy();
  });
});
