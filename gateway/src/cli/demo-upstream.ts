import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The quickstart's demo API: a tiny JSON service on loopback that only answers callers holding
 * its own credential, so the first request shows credential brokering at work (the agent never
 * sees `expectedToken`; Gatehouse injects it).
 */
export async function startDemoUpstream(port: number, expectedToken: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const authorized = req.headers.authorization === `Bearer ${expectedToken}`;
      const body = authorized
        ? {
            message: 'hello from the demo API',
            method: req.method,
            path: req.url,
            receivedBody: Buffer.concat(chunks).toString('utf8') || null,
            credential: 'the demo API saw the credential Gatehouse injected; your token never reached it',
            forwardedFor: req.headers['x-forwarded-for'] ?? null,
          }
        : { error: 'the demo API requires its own credential' };
      const text = JSON.stringify(body, null, 2) + '\n';
      res.writeHead(authorized ? 200 : 401, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound.port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
