import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real nginx (Debian's /usr/sbin/nginx) on 127.0.0.1, unprivileged, in the foreground, with its
 * files in a temporary directory. `server` is the body of one `server {}` block (without `listen`).
 * nginx normalizes the request URI before matching locations (decodes escapes, resolves dot
 * segments, merges slashes): the upstream behaviour the gateway's canonical form must agree with.
 */
export interface RunningNginx {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error('nginx did not start listening');
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startNginx(server: string): Promise<RunningNginx> {
  const dir = await mkdtemp(join(tmpdir(), 'gh-nginx-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type text/plain;
  server {
    listen 127.0.0.1:${port};
    server_name _;
${server}
  }
}
`;
    await writeFile(join(dir, 'nginx.conf'), conf);
    const child = spawn('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: 'ignore' });
    try {
      await waitForPort(port, child);
    } catch (e) {
      child.kill('SIGKILL');
      if (attempt < 3) continue; // the port was taken between probing and binding
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      async stop() {
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGQUIT');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
          if (child.exitCode === null) child.kill('SIGKILL');
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}

/** One request with an exact request target (no client-side normalization), `Connection: close`. */
export function rawRequest(port: number, requestLine: string, headers: Record<string, string>, body = ''): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('error', reject);
    c.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end === -1 ? text : text.slice(0, end);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      let rest = end === -1 ? '' : text.slice(end + 4);
      if (/\r\ntransfer-encoding: chunked/i.test(head)) rest = dechunk(rest);
      resolve({ status, head, body: rest });
    });
    let lines = `${requestLine}\r\n`;
    for (const [k, v] of Object.entries({ connection: 'close', ...headers })) lines += `${k}: ${v}\r\n`;
    if (body !== '') lines += `content-length: ${Buffer.byteLength(body)}\r\n`;
    c.write(`${lines}\r\n${body}`);
  });
}

function dechunk(s: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const eol = s.indexOf('\r\n', i);
    if (eol === -1) return out;
    const size = parseInt(s.slice(i, eol), 16);
    if (!(size > 0)) return out;
    out += s.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}
