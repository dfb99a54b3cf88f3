import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen } from '../../../gateway/src/server/listener';
import { createSecretProvider } from '../../../gateway/src/secrets';

/** TLS on every listener, from files or the secret store; plaintext only where it is allowed. */
describe('listeners', () => {
  let dir: string;
  let certPath: string;
  let keyPath: string;
  const secrets = createSecretProvider({ mode: 'development' });
  const hello: http.RequestListener = (_req, res) => res.end('hello');

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-tls-'));
    certPath = join(dir, 'cert.pem');
    keyPath = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
    execFileSync('chmod', ['600', keyPath]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const getTls = (port: number, options: https.RequestOptions = {}) =>
    new Promise<{ status: number; body: string; protocol: string }>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port, path: '/', ca: readFileSync(certPath), agent: false, ...options }, (res) => {
        const protocol = (res.socket as import('node:tls').TLSSocket).getProtocol() ?? '';
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, protocol }));
      });
      req.on('error', reject);
    });

  test.each([
    ['file paths', () => ({ cert: certPath, key: keyPath })],
    ['secret references', () => ({ cert: `file:${certPath}`, key: `file:${keyPath}` })],
  ])('serves TLS 1.2+ with a certificate and key given as %s', async (_name, tls) => {
    const l = await listen('http', { address: '127.0.0.1', port: 0, tls: tls(), allowPlaintext: false }, hello, secrets);
    try {
      expect(l.tls).toBe(true);
      const res = await getTls(l.port);
      expect(res.body).toBe('hello');
      expect(['TLSv1.2', 'TLSv1.3']).toContain(res.protocol);
      await expect(getTls(l.port, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' })).rejects.toThrow();
    } finally {
      await l.close(100);
    }
  });

  test('an unreadable certificate is a clear configuration error', async () => {
    await expect(listen('http', { address: '127.0.0.1', port: 0, tls: { cert: join(dir, 'missing.pem'), key: keyPath }, allowPlaintext: false }, hello, secrets)).rejects.toMatchObject({
      code: 'GH_ERR_CONFIG_UNREADABLE',
      message: expect.stringContaining('missing.pem'),
    });
  });

  test('plaintext is refused off loopback unless explicitly allowed', async () => {
    await expect(listen('http', { address: '0.0.0.0', port: 0, allowPlaintext: false }, hello, secrets)).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID' });
    const l = await listen('http', { address: '0.0.0.0', port: 0, allowPlaintext: true }, hello, secrets);
    await l.close(100);
  });

  test('close lets an in-flight request finish within the grace period and cuts it after', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const l = await listen('http', { address: '127.0.0.1', port: 0, allowPlaintext: false }, (_req, res) => void held.then(() => res.end('late')), secrets);
    const inFlight = fetch(`http://127.0.0.1:${l.port}/`).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 50));
    const closing = l.close(5_000);
    release();
    expect(await inFlight).toBe('late');
    await closing;

    const l2 = await listen('http', { address: '127.0.0.1', port: 0, allowPlaintext: false }, () => undefined, secrets); // never answers
    const stuck = fetch(`http://127.0.0.1:${l2.port}/`).then(() => 'answered', () => 'cut');
    await new Promise((r) => setTimeout(r, 50));
    await l2.close(100);
    expect(await stuck).toBe('cut');
  });
});
