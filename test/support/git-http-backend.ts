import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * A real Git smart-HTTP server for tests: Debian's `git http-backend` run as a CGI program per
 * request (as Apache or nginx+fcgiwrap would), serving the bare repositories under `root` on
 * 127.0.0.1, port 0. It demands the brokered credential when one is given (HTTP Basic), counts
 * what it received, and never sees anything but what a gateway forwards.
 */
export interface GitHttpBackend {
  /** `http://127.0.0.1:<port>/`: repositories are `<url><name>.git`. */
  readonly url: string;
  /** Every request received (method, path with query, authorization header as sent). */
  readonly received: { method: string; url: string; authorization: string | undefined; protocol: string | undefined }[];
  close(): Promise<void>;
}

export interface GitHttpBackendOptions {
  /** The directory holding the bare repositories. */
  readonly root: string;
  /** The only `Authorization` header accepted; undefined: none required. */
  readonly authorization?: string;
  /** Serve HTTPS with this certificate (PEM) instead of HTTP: `url` is then `https://…`. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export async function startGitHttpBackend(options: GitHttpBackendOptions): Promise<GitHttpBackend> {
  const received: GitHttpBackend['received'] = [];
  const handler: http.RequestListener = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://backend');
    received.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, protocol: header(req, 'git-protocol') });
    if (options.authorization !== undefined && req.headers.authorization !== options.authorization) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="backend"', 'content-type': 'text/plain' }).end('bad credential\n');
      return;
    }
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: options.root,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_PROJECT_ROOT: options.root,
      GIT_HTTP_EXPORT_ALL: '1',
      GIT_HTTP_MAX_REQUEST_BUFFER: String(1 << 30),
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? 'GET',
      // receive-pack is enabled for an authenticated user
      REMOTE_USER: 'gatehouse',
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
    };
    const set = (name: string, value: string | undefined): void => {
      if (value !== undefined) env[name] = value;
    };
    set('CONTENT_TYPE', header(req, 'content-type'));
    set('CONTENT_LENGTH', header(req, 'content-length'));
    set('HTTP_CONTENT_ENCODING', header(req, 'content-encoding'));
    set('HTTP_GIT_PROTOCOL', header(req, 'git-protocol'));
    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    req.pipe(child.stdin);
    child.stdin.on('error', () => undefined);
    child.stderr.resume();
    let head = Buffer.alloc(0);
    let started = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (started) {
        if (!res.write(chunk)) {
          child.stdout.pause();
          res.once('drain', () => child.stdout.resume());
        }
        return;
      }
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf('\r\n\r\n');
      const lf = head.indexOf('\n\n');
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
      if (end < 0) return;
      started = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end));
    });
    child.on('close', () => {
      if (!started) res.writeHead(502).end('http-backend wrote no headers\n');
      else res.end();
    });
    res.on('close', () => {
      if (child.exitCode === null) child.kill();
    });
  };
  const server = options.tls === undefined ? http.createServer(handler) : https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}/`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
