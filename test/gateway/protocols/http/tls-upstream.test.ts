import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPipelineWorld, startRealPipeline, type PipelineWorld, type RealPipeline } from '../../../support/real-pipeline';
import { connection, json, request, startProxy } from './harness';

/** A self-signed certificate for 127.0.0.1, made with the openssl binary for this test only. */
function makeCert(dir: string): { cert: string; key: string; certPath: string } {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath };
}

describe('HTTPS upstreams', () => {
  let dir: string;
  let server: https.Server;
  let url: string;
  let certPath: string;
  let certPem: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-tls-'));
    const c = makeCert(dir);
    certPath = c.certPath;
    certPem = c.cert;
    server = https.createServer({ cert: c.cert, key: c.key }, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url, auth: req.headers.authorization }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  let world: PipelineWorld;
  let env: RealPipeline | undefined;
  let auth = '';
  beforeAll(async () => {
    world = await startPipelineWorld();
  }, 60_000);
  afterAll(() => world.close());
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  /** The real pipeline, with `env:` secrets. */
  async function pipeline(secrets: Record<string, string> = {}) {
    env = await startRealPipeline({ world, policy: 'permit (principal, action, resource);', env: secrets });
    auth = `Bearer ${await env.token([], 'a')}`;
    return env.pipeline;
  }

  it('trusts a custom CA given as a file path', async () => {
    const running = await startProxy(await pipeline({ K: 'k1' }), [connection({ name: 'tls', upstream: `${url}/base`, route: { pathPrefix: '/' }, upstreamCa: certPath, credential: { type: 'bearer', secret: 'env:K' } })]);
    try {
      const r = await request(`${running.url}/x`, { headers: { authorization: auth } });
      expect(r.status).toBe(200);
      // The upstream echoes the brokered credential: the client gets it scrubbed (credential-scrubber.ts).
      expect(json(r.body)).toEqual({ url: '/base/x', auth: 'Bearer **' });
    } finally {
      await running.close();
    }
  });

  it('trusts a custom CA given as a secret reference', async () => {
    const running = await startProxy(await pipeline({ CA: certPem }), [connection({ name: 'tls', upstream: url, route: { pathPrefix: '/' }, upstreamCa: 'env:CA' })]);
    try {
      expect((await request(`${running.url}/y`, { headers: { authorization: auth } })).status).toBe(200);
    } finally {
      await running.close();
    }
  });

  it('refuses an upstream whose certificate is not trusted (502, nothing forwarded in the clear)', async () => {
    const running = await startProxy(await pipeline(), [connection({ name: 'tls', upstream: url, route: { pathPrefix: '/' } })]);
    try {
      const r = await request(`${running.url}/z`, { headers: { authorization: auth } });
      expect(r.status).toBe(502);
      expect((json(r.body).error as { code: string }).code).toBe('GH_ERR_UPSTREAM_UNAVAILABLE');
    } finally {
      await running.close();
    }
  });

  it('answers 502 GH_ERR_SECRET_UNAVAILABLE when the CA cannot be read', async () => {
    const running = await startProxy(await pipeline(), [connection({ name: 'tls', upstream: url, route: { pathPrefix: '/' }, upstreamCa: 'env:NOPE' })]);
    try {
      const r = await request(`${running.url}/z`, { headers: { authorization: auth } });
      expect(r.status).toBe(502);
      expect((json(r.body).error as { code: string }).code).toBe('GH_ERR_SECRET_UNAVAILABLE');
    } finally {
      await running.close();
    }
  });
});
