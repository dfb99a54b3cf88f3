import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ListenerConfig } from '../config/schema';
import { GatehouseError } from '../errors';
import type { SecretProvider } from '../pipeline/types';
import { readListenerPem } from '../protocols/kit/upstream-tls';

export interface Listener {
  readonly server: http.Server;
  readonly address: string;
  readonly port: number;
  readonly tls: boolean;
  /** Stops accepting, lets in-flight requests finish until `graceMs`, then cuts what is left. */
  close(graceMs: number): Promise<void>;
}

export async function listen(name: string, config: ListenerConfig, handler: http.RequestListener, secrets: SecretProvider): Promise<Listener> {
  let server: http.Server;
  const options: http.ServerOptions = {
    // Agents keep connections open between turns; keep them past common client idle timeouts.
    keepAliveTimeout: 65_000,
    headersTimeout: 70_000,
    // Streaming LLM answers can take minutes; the upstream timeout bounds them instead.
    requestTimeout: 0,
  };
  if (config.tls) {
    const [cert, key] = await Promise.all([readListenerPem(config.tls.cert, secrets), readListenerPem(config.tls.key, secrets)]);
    server = https.createServer({ ...options, cert, key, minVersion: 'TLSv1.2' }, handler) as unknown as http.Server;
  } else if (config.allowPlaintext || isLoopback(config.address)) {
    server = http.createServer(options, handler);
  } else {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', `listener ${name}: TLS is required on ${config.address} (set tls, or allowPlaintext: true)`);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    server,
    address: bound.address,
    port: bound.port,
    tls: Boolean(config.tls),
    close: (graceMs) => closeGracefully(server, graceMs),
  };
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || address.startsWith('127.');
}

async function closeGracefully(server: http.Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Idle keep-alive sockets would hold close() open forever; in-flight requests may finish.
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
    timer.unref();
  });
  const idleSweep = setInterval(() => server.closeIdleConnections(), 250);
  idleSweep.unref();
  const outcome = await Promise.race([closed.then(() => 'closed' as const), deadline]);
  clearInterval(idleSweep);
  if (timer) clearTimeout(timer);
  if (outcome === 'timeout') {
    server.closeAllConnections();
    await closed;
  }
}
