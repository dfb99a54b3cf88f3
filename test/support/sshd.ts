import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';

/** An ed25519 key pair made by ssh-keygen: private key text (OpenSSH format) and public line. */
export interface KeyPair {
  readonly path: string;
  readonly privateKey: string;
  readonly publicKey: string;
}

export function sshKeygen(dir: string, name: string): KeyPair {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path]);
  return { path, privateKey: readFileSync(path, 'utf8'), publicKey: readFileSync(`${path}.pub`, 'utf8').trim() };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, deadline: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Sshd {
  readonly port: number;
  /** The user sshd lets in (the user running the tests: an unprivileged sshd logs in only as itself). */
  readonly user: string;
  /** The host key's public line (`ssh-ed25519 AAAA… sshd-host`). */
  readonly hostKey: string;
  stop(): Promise<void>;
}

/**
 * Debian's OpenSSH server on 127.0.0.1, configured in `dir`: host key generated there,
 * `authorizedKeys` as the only accepted keys, no PAM, no passwords, StrictModes off (the tmp dir
 * is not the user's home). Runs as the test's own user (as root it needs /run/sshd).
 */
export async function startSshd(dir: string, authorizedKeys: readonly string[]): Promise<Sshd> {
  const host = sshKeygen(dir, 'sshd-host');
  writeFileSync(join(dir, 'authorized_keys'), authorizedKeys.join('\n') + '\n', { mode: 0o600 });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${host.path}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding yes',
      'Subsystem sftp internal-sftp',
      // Accepted here so a test can show the gateway drops env requests (the sshd would honour them).
      'AcceptEnv BASH_ENV LC_*',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-f', config, '-D', '-e'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([waitForPort(port, Date.now() + 15_000), exited.then(() => Promise.reject(new Error(`sshd exited: ${stderr}`)))]);
  } catch (e) {
    child.kill('SIGTERM');
    throw e;
  }
  return {
    port,
    user: userInfo().username,
    hostKey: host.publicKey,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
