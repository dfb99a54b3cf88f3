import net from 'node:net';
import tls from 'node:tls';
import { GatehouseError } from '../../errors';

/**
 * The TCP listener harness for protocols that own a socket (PostgreSQL today; MySQL, SSH next):
 * listening, the server-side TLS upgrade (in-protocol like SSLRequest/STARTTLS, or direct TLS with
 * ALPN), and the graceful close. The protocol keeps its framing and its start-up deadline.
 */

/** Starts `server` on `address:port` (0: any free port); resolves to where it is bound. */
export async function listenTcp(server: net.Server, address: string, port: number): Promise<{ address: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  return { address: bound.address, port: bound.port };
}

export interface TlsUpgradeOptions {
  readonly secureContext: tls.SecureContext;
  /** ALPN protocols offered, e.g. `['postgresql']`. */
  readonly alpn: readonly string[];
  /**
   * The ALPN protocol the client must have negotiated (direct TLS: so that no other protocol
   * spoken over TLS is taken for this one). @default none required
   */
  readonly requireAlpn?: string;
  /** Bytes already read from the socket (a peeked ClientHello), put back first. */
  readonly prefix?: Buffer;
  /** The handshake must finish within this. @default 10000 */
  readonly timeoutMs?: number;
}

/** Server side of a TLS handshake on an accepted socket. Rejects with GH_ERR_REQUEST_INVALID. */
export function upgradeServerTls(raw: net.Socket, options: TlsUpgradeOptions): Promise<tls.TLSSocket> {
  if (options.prefix !== undefined && options.prefix.length > 0) raw.unshift(options.prefix);
  const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: options.secureContext, ALPNProtocols: [...options.alpn] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      secure.destroy();
      reject(new GatehouseError('GH_ERR_REQUEST_INVALID', 'TLS handshake timed out'));
    }, options.timeoutMs ?? 10000);
    secure.once('secure', () => {
      clearTimeout(timer);
      secure.off('error', onError);
      secure.on('error', () => undefined);
      if (options.requireAlpn !== undefined && secure.alpnProtocol !== options.requireAlpn) {
        secure.destroy();
        reject(new GatehouseError('GH_ERR_REQUEST_INVALID', `direct TLS without ALPN "${options.requireAlpn}"`));
        return;
      }
      secure.setNoDelay(true);
      resolve(secure);
    });
    const onError = (e: Error): void => {
      clearTimeout(timer);
      raw.destroy();
      reject(new GatehouseError('GH_ERR_REQUEST_INVALID', `TLS handshake failed: ${e.message}`));
    };
    secure.once('error', onError);
  });
}

export interface GracefulClose<C> {
  readonly server: net.Server;
  /** Live (proxying) connections; each leaves the set when it ends. */
  readonly connections: ReadonlySet<C>;
  /** Every accepted socket (also those still in start-up): destroyed at the end. */
  readonly sockets: ReadonlySet<net.Socket>;
  /** Asks a connection to end once idle (e.g. after the running statement). */
  readonly endWhenIdle: (c: C) => void;
  /** Ends a connection now, with the protocol's native "shutting down" error. */
  readonly cut: (c: C) => void;
  readonly graceMs: number;
}

/**
 * Stops accepting, asks every connection to end when idle, waits until they have or `graceMs`
 * passed, cuts the rest and destroys every socket left. Resolves once the server has closed;
 * the protocol then closes its sessions.
 */
export async function closeTcpGracefully<C>(c: GracefulClose<C>): Promise<void> {
  const closed = new Promise<void>((resolve) => c.server.close(() => resolve()));
  for (const conn of c.connections) c.endWhenIdle(conn);
  const deadline = Date.now() + c.graceMs;
  while (c.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  for (const conn of [...c.connections]) c.cut(conn);
  for (const s of [...c.sockets]) s.destroy();
  await closed;
}
