import { Client, type ClientChannel, type PseudoTtyOptions } from 'ssh2';
import type { SshConnectionConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';
import { fingerprint, parsePublicKey, sameKey } from './host-key';

/** Why the upstream connection failed, as recorded in `ssh.upstream_error`. */
export type UpstreamFailure = 'host_key_mismatch' | 'unreachable' | 'auth_failed';

export class SshUpstreamError extends GatehouseError {
  constructor(
    readonly reason: UpstreamFailure,
    message: string,
    cause?: unknown,
  ) {
    super('GH_ERR_UPSTREAM_UNAVAILABLE', message, { details: { reason }, cause });
  }
}

export interface OpenedUpstream {
  readonly client: Client;
  readonly hostKeyFingerprint: string;
}

/**
 * Opens the upstream SSH connection with the brokered private key, accepting only the pinned host
 * key (any other key, even a valid one, is refused before authentication: the brokered key never
 * signs for an impostor). Rejects with SshUpstreamError.
 */
export function connectUpstream(connection: SshConnectionConfig, privateKey: string, timeoutMs: number): Promise<OpenedUpstream> {
  const pinned = parsePublicKey(connection.upstream.hostKey);
  const { host, port, user } = connection.upstream;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let mismatch = false;
    let settled = false;
    client.once('ready', () => {
      settled = true;
      resolve({ client, hostKeyFingerprint: fingerprint(pinned.blob) });
    });
    client.once('error', (err: Error & { level?: string }) => {
      if (settled) return;
      settled = true;
      client.end();
      if (mismatch) reject(new SshUpstreamError('host_key_mismatch', `upstream ${host}:${port} presented a host key other than the pinned ${fingerprint(pinned.blob)}`));
      else if (err.level === 'client-authentication') reject(new SshUpstreamError('auth_failed', `upstream ${host}:${port} refused the brokered key for ${user}`));
      else reject(new SshUpstreamError('unreachable', `upstream ${host}:${port} unreachable: ${err.message}`, err));
    });
    client.connect({
      host,
      port,
      username: user,
      privateKey,
      readyTimeout: timeoutMs,
      // Never fall back to an agent or keyboard-interactive: only the brokered key.
      agent: undefined,
      tryKeyboard: false,
      hostVerifier: (key: Buffer) => {
        const ok = sameKey(key, pinned.blob);
        if (!ok) mismatch = true;
        return ok;
      },
    });
  });
}

/** Opens an exec channel upstream (with the client's pty when it asked for one). */
export function upstreamExec(client: Client, command: string, pty: PseudoTtyOptions | undefined): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const cb = (err: Error | undefined, ch: ClientChannel) => (err ? reject(err) : resolve(ch));
    if (pty === undefined) client.exec(command, cb);
    else client.exec(command, { pty }, cb);
  });
}

/** Opens a shell channel upstream. */
export function upstreamShell(client: Client, pty: PseudoTtyOptions | undefined): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.shell(pty ?? false, (err: Error | undefined, ch: ClientChannel) => (err ? reject(err) : resolve(ch)));
  });
}

/** Opens a subsystem channel upstream (`sftp`). */
export function upstreamSubsystem(client: Client, name: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.subsys(name, (err: Error | undefined, ch: ClientChannel) => (err ? reject(err) : resolve(ch)));
  });
}
