import { Client, type ClientChannel, type ExecOptions, type PseudoTtyOptions, type ShellOptions } from 'ssh2';
import type { SshConnectionConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';
import type { ForwardedAgent } from './agent-forward';
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
export function connectUpstream(connection: SshConnectionConfig, privateKey: string, timeoutMs: number, agent?: ForwardedAgent): Promise<OpenedUpstream> {
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
      // The agent (when given) only answers agent channels the upstream opens once forwarding was
      // allowed and requested on a channel; authentication is pinned to the brokered key (never
      // the agent, never keyboard-interactive) by naming the methods.
      agent,
      authHandler: ['none', 'publickey'],
      tryKeyboard: false,
      hostVerifier: (key: Buffer) => {
        const ok = sameKey(key, pinned.blob);
        if (!ok) mismatch = true;
        return ok;
      },
    });
  });
}

/**
 * Opens an exec channel upstream (with the client's pty when it asked for one), asking for agent
 * forwarding on it first when policy allowed it (needs the connection's ForwardedAgent).
 */
export function upstreamExec(client: Client, command: string, pty: PseudoTtyOptions | undefined, agentForward = false): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const cb = (err: Error | undefined, ch: ClientChannel) => (err ? reject(err) : resolve(ch));
    if (pty === undefined && !agentForward) client.exec(command, cb);
    // `agentForward` is read by ssh2 1.17 (client.js) though its types do not declare it.
    else client.exec(command, { ...(pty === undefined ? {} : { pty }), agentForward } as ExecOptions, cb);
  });
}

/** Opens a shell channel upstream (agent forwarding requested first when allowed). */
export function upstreamShell(client: Client, pty: PseudoTtyOptions | undefined, agentForward = false): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const cb = (err: Error | undefined, ch: ClientChannel) => (err ? reject(err) : resolve(ch));
    if (agentForward) client.shell(pty ?? false, { agentForward } as ShellOptions, cb);
    else client.shell(pty ?? false, cb);
  });
}

/** Opens a subsystem channel upstream (`sftp`). */
export function upstreamSubsystem(client: Client, name: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.subsys(name, (err: Error | undefined, ch: ClientChannel) => (err ? reject(err) : resolve(ch)));
  });
}
