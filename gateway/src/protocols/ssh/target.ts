import type { SshConnectionConfig } from '../../config/schema';

/**
 * The target of an SSH login, chosen by the SSH user name (docs/ssh.md):
 * - `<connection>` logs in upstream as the connection's configured user;
 * - `<user>@<connection>` asks for that user, which must be the configured one (a brokered key
 *   logs in as one user; a different user is refused rather than silently replaced).
 * With OpenSSH: `ssh -p 2222 db1@gateway` or `ssh -p 2222 -l deploy@db1 gateway`.
 */
export function resolveTarget(username: string, connections: readonly SshConnectionConfig[]): SshConnectionConfig | undefined {
  const at = username.lastIndexOf('@');
  const name = at < 0 ? username : username.slice(at + 1);
  const user = at < 0 ? undefined : username.slice(0, at);
  const connection = connections.find((c) => c.name === name);
  if (connection === undefined) return undefined;
  if (user !== undefined && user !== connection.upstream.user) return undefined;
  return connection;
}
