import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpConnectionSchema, type HttpConnectionConfig } from '../../../../gateway/src/config/schema';
import { createHttpProxy, type HttpProxy, type HttpProxyOptions } from '../../../../gateway/src/protocols/http';
import type { ProxyLogger } from '../../../../gateway/src/protocols/http/types';
import type { Pipeline } from '../../../../gateway/src/pipeline/types';

/** Collects log lines so tests can prove secrets never reach the logs. */
export class MemoryLogger implements ProxyLogger {
  readonly lines: string[] = [];
  debug(obj: object, msg?: string): void {
    this.lines.push(JSON.stringify({ level: 'debug', ...obj, msg }));
  }
  info(obj: object, msg?: string): void {
    this.lines.push(JSON.stringify({ level: 'info', ...obj, msg }));
  }
  warn(obj: object, msg?: string): void {
    this.lines.push(JSON.stringify({ level: 'warn', ...obj, msg }));
  }
  error(obj: object, msg?: string): void {
    this.lines.push(JSON.stringify({ level: 'error', ...obj, msg }));
  }
}

export function connection(input: Record<string, unknown>): HttpConnectionConfig {
  return httpConnectionSchema.parse({ kind: 'http', ...input });
}

export interface RunningProxy {
  readonly url: string;
  readonly proxy: HttpProxy;
  readonly server: http.Server;
  readonly logger: MemoryLogger;
  close(): Promise<void>;
}

/** The proxy behind a real loopback listener, as the integrator will wire it. */
export async function startProxy(
  pipeline: Pipeline,
  connections: HttpConnectionConfig[],
  options: Partial<HttpProxyOptions> = {},
): Promise<RunningProxy> {
  const logger = new MemoryLogger();
  const proxy = createHttpProxy({ pipeline, connections, logger, idleSweepMs: 0, ...options });
  const server = http.createServer(proxy.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    proxy,
    server,
    logger,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await proxy.close();
    },
  };
}

/** A plain request through node:http (fetch/undici would add its own encodings and pooling). */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: http.Agent } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export function json(body: Buffer): Record<string, unknown> {
  return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
}
