import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../gateway/src/main';

/** `gatehouse health`, the image's HEALTHCHECK, against a real listener on loopback. */
describe('gatehouse health', () => {
  let server: Server;
  let port: number;
  let status = 200;
  const paths: string[] = [];
  let dir: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(status).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'gh-health-'));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['health', ...args], { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join(''), err: err.join('') };
  };

  test('exits 0 when /healthz on the configured admin listener answers 200', async () => {
    status = 200;
    const config = join(dir, 'gatehouse.yaml');
    writeFileSync(config, `mode: production\nlisteners:\n  admin: { address: 0.0.0.0, port: ${port} }\n`);
    paths.length = 0;
    await expect(run(['--config', config])).resolves.toMatchObject({ code: 0, out: expect.stringContaining('live') });
    expect(paths).toEqual(['/healthz']);
  });

  test('exits 1 when the gateway answers anything but 200, or nothing', async () => {
    status = 503;
    await expect(run(['--url', `http://127.0.0.1:${port}/healthz`])).resolves.toMatchObject({ code: 1, err: expect.stringContaining('HTTP 503') });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(run(['--url', `http://127.0.0.1:${closedPort}/healthz`])).resolves.toMatchObject({ code: 1, err: expect.stringContaining('ECONNREFUSED') });
  });

  test('refuses a timeout out of range', async () => {
    await expect(run(['--timeout', '0'])).resolves.toMatchObject({ code: 2 });
  });
});
