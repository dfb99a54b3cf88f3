import http from 'node:http';
import zlib from 'node:zlib';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { readAllSegments } from '../support/log-segments';
import { startTestIssuer, type TestIssuer } from '../support/oidc-issuer';
import { startUpstream, type Upstream } from '../support/upstreams';

/**
 * Issue 15, class 3: caller credentials reaching the upstream (Cookie, the brokered header in
 * another spelling that CGI/WSGI-style frameworks map to the same name), and a brokered credential
 * that the upstream reflects reaching the caller and the record (plain, split across chunks, gzip).
 */
const BROKERED = 'brokered-key-5f1e0c9a7d3b42e8';
process.env.GH_SEC_BROKERED_KEY = BROKERED;

/** Reflects the x-api-key it received, as echo endpoints and chatty error pages do. */
function reflecting(): Promise<Upstream> {
  return startUpstream(async (req, res) => {
    const key = String(req.headers['x-api-key'] ?? '');
    const body = `{"you":"sent x-api-key: ${key}"}`;
    if (req.url === '/plain') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else if (req.url === '/split') {
      // The credential arrives split over two chunks, a while apart.
      const cut = body.indexOf(key) + 7;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(body.slice(0, cut));
      await new Promise((r) => setTimeout(r, 30));
      res.end(body.slice(cut));
    } else if (req.url === '/gzip') {
      const gz = zlib.gzipSync(body);
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': gz.length });
      res.end(gz);
    } else if (req.url === '/header') {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-debug-received-key': key });
      res.end('ok');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ headers: req.headers }));
    }
  });
}

function get(url: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; error?: string }> {
  return new Promise((resolve) => {
    const req = http.request(url, { headers: { 'accept-encoding': 'gzip', ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let buf = Buffer.concat(chunks);
        if (res.headers['content-encoding'] === 'gzip') buf = zlib.gunzipSync(buf);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf.toString('utf8') });
      });
      res.on('error', (e) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), error: e.message }));
      res.on('aborted', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), error: 'aborted' }));
    });
    req.on('error', (e) => resolve({ status: 0, headers: {}, body: '', error: e.message }));
    req.end();
  });
}

describe('security: caller and brokered credentials', () => {
  let issuer: TestIssuer;
  let upstream: Upstream;
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    upstream = await reflecting();
    const credential = { type: 'header', header: 'x-api-key', secret: 'env:GH_SEC_BROKERED_KEY' };
    gw = await startTestGateway(() => ({
      identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], groupsClaim: 'groups', algorithms: ['RS256'] }] },
      policy: { cedar: 'permit (principal, action, resource);' },
      connections: [
        { name: 'api', kind: 'http', upstream: upstream.url, route: { pathPrefix: '/api' }, credential },
        { name: 'cookies', kind: 'http', upstream: upstream.url, route: { pathPrefix: '/cookies' }, credential, forwardHeaders: ['cookie', 'x_api_key'] },
        { name: 'strict', kind: 'http', upstream: upstream.url, route: { pathPrefix: '/strict' }, credential, credentialInResponse: 'refuse' },
      ],
    }));
    token = await issuer.mintToken({ sub: 'ada', groups: ['developers'] });
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.close();
    await issuer?.close();
  });

  it('strips Cookie and every spelling of the credential header before forwarding', async () => {
    const r = await get(`${gw.url}/api/headers`, {
      authorization: `Bearer ${token}`,
      cookie: 'session=caller-cookie',
      x_api_key: 'caller-chosen-key',
      'X_Api-Key': 'caller-chosen-key-2',
      'proxy-authorization': 'Basic Y2FsbGVyOnB3',
      'api-key': 'caller-azure-style',
      // Request-target overrides (IIS, Symfony) would route the upstream elsewhere than judged.
      'x-original-url': '/admin',
      'x-rewrite-url': '/admin',
    });
    expect(r.status).toBe(200);
    const received = upstream.received.at(-1)!.headers;
    expect(received.cookie).toBeUndefined();
    expect(received.x_api_key).toBeUndefined();
    expect(received['x_api-key']).toBeUndefined();
    expect(received['proxy-authorization']).toBeUndefined();
    expect(received['api-key']).toBeUndefined();
    expect(received.authorization).toBeUndefined();
    expect(received['x-api-key']).toBe(BROKERED);
    expect(received['x-original-url']).toBeUndefined();
    expect(received['x-rewrite-url']).toBeUndefined();
    expect(JSON.stringify(received)).not.toContain('caller-');
  });

  it('forwards what a connection allow-lists, but never the brokered header in another spelling', async () => {
    await get(`${gw.url}/cookies/headers`, { authorization: `Bearer ${token}`, cookie: 'session=wanted', x_api_key: 'caller-chosen-key' });
    const received = upstream.received.at(-1)!.headers;
    expect(received.cookie).toBe('session=wanted');
    expect(received.x_api_key).toBeUndefined();
    expect(received['x-api-key']).toBe(BROKERED);
  });

  it.each(['/plain', '/split', '/gzip', '/header'])('a reflected credential (%s) never reaches the caller', async (path) => {
    const r = await get(`${gw.url}/api${path}`, { authorization: `Bearer ${token}` });
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.headers)).not.toContain(BROKERED);
    expect(r.body).not.toContain(BROKERED);
    if (path !== '/header') expect(r.body).toContain('sent x-api-key: ' + '*'.repeat(BROKERED.length));
  });

  it('refuses a reflecting response where the connection says so', async () => {
    for (const path of ['/plain', '/split', '/gzip', '/header']) {
      const r = await get(`${gw.url}/strict${path}`, { authorization: `Bearer ${token}` });
      expect(r.body).not.toContain(BROKERED);
      expect(JSON.stringify(r.headers)).not.toContain(BROKERED);
      // Before the headers went out: a 502 with the code; after: a cut response.
      if (r.error === undefined) {
        expect(r.status).toBe(502);
        expect(r.body).toContain('GH_ERR_CREDENTIAL_REFLECTED');
      }
    }
  });

  it('the record never holds the brokered credential, nor the caller cookie', async () => {
    await gw.stop({ keep: true });
    const log = await readAllSegments(gw.logDir);
    expect(log).toContain('"http.response"');
    expect(log).not.toContain(BROKERED);
    // The stripped cookie is neither forwarded (so no response echoes it) nor recorded.
    expect(log).not.toContain('caller-cookie');
    expect(log).not.toContain('caller-chosen-key');
  });
});
