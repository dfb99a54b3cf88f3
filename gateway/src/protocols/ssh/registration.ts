import { Client } from 'ssh2';
import { GatehouseError } from '../../errors';
import { generateOpenSshEd25519 } from './openssh-key';
import { fingerprint } from './host-key';

/**
 * Key registration over the SSH listener itself (docs/ssh.md, "Login without a long-lived key"):
 * `gatehouse ssh-key` logs in as `REGISTER_USER` (auth method `none`; no connection can be named
 * so, connection names cannot hold "+"), runs the one `REGISTER_COMMAND` exec served there, sends
 * `{token, publicKey}` as a JSON line on stdin and reads the answer on stdout. The token travels
 * inside the encrypted channel to a host key the caller pinned, never as an SSH password
 * (OpenSSH truncates passwords at 1023 bytes), and the SSH port is all a client needs.
 */
export const REGISTER_USER = 'gatehouse+ssh-key';
export const REGISTER_COMMAND = 'register-key';

export interface Registration {
  /** Fingerprint of the registered key. */
  readonly fingerprint: string;
  /** ISO time: the key (and certificate) are refused from then on. */
  readonly expiresAt: string;
  readonly subject: string;
  /** The gateway's host key, `ssh-ed25519 AAAA…`, for known_hosts. */
  readonly hostKey: string;
  /** The gateway-signed OpenSSH certificate, when the gateway has a user CA (`<key>-cert.pub`). */
  readonly certificate?: string;
}

export interface RegisterOptions {
  readonly host: string;
  readonly port: number;
  /** The gateway host key's `SHA256:` fingerprint: the token is sent to no other host. */
  readonly hostKeyFingerprint: string;
  readonly token: string;
  /** The public key to register, OpenSSH one-line form. */
  readonly publicKey: string;
  /** @default 20000 */
  readonly timeoutMs?: number;
}

/** Registers a public key with the gateway's SSH listener. Rejects with a GatehouseError (the gateway's code when it refused). */
export function registerKey(options: RegisterOptions): Promise<Registration> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented = '';
    let settled = false;
    const done = (e: GatehouseError | undefined, r?: Registration): void => {
      if (settled) return;
      settled = true;
      client.end();
      if (e !== undefined) reject(e);
      else resolve(r!);
    };
    client.once('error', (err) => {
      if (presented !== '' && presented !== options.hostKeyFingerprint) done(new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `the gateway at ${options.host}:${options.port} presented host key ${presented}, not ${options.hostKeyFingerprint}: nothing was sent`));
      else done(new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `cannot reach the gateway's SSH listener at ${options.host}:${options.port}: ${err.message}`));
    });
    client.once('ready', () => {
      client.exec(REGISTER_COMMAND, (err, ch) => {
        if (err) return done(new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `the gateway refused the registration channel: ${err.message}`));
        let out = '';
        let errText = '';
        let code: number | null = null;
        ch.on('data', (d: Buffer) => (out += d.toString('utf8')));
        ch.stderr.on('data', (d: Buffer) => (errText += d.toString('utf8')));
        ch.on('exit', (c: number | null) => (code = c));
        ch.on('close', () => {
          if (code !== 0) {
            const m = /^gatehouse: (GH_ERR_[A-Z_]+): (.*)$/m.exec(errText);
            return done(m ? new GatehouseError(m[1] as 'GH_ERR_INTERNAL', m[2]!) : new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', `registration failed: ${errText.trim() || `exit status ${code}`}`));
          }
          try {
            done(undefined, JSON.parse(out) as Registration);
          } catch {
            done(new GatehouseError('GH_ERR_UPSTREAM_UNAVAILABLE', 'the gateway answered the registration with something that is not JSON'));
          }
        });
        ch.end(`${JSON.stringify({ token: options.token, publicKey: options.publicKey })}\n`);
      });
    });
    client.connect({
      host: options.host,
      port: options.port,
      username: REGISTER_USER,
      readyTimeout: options.timeoutMs ?? 20_000,
      tryKeyboard: false,
      hostVerifier: (key: Buffer) => {
        presented = fingerprint(key);
        return presented === options.hostKeyFingerprint;
      },
    });
  });
}

/** A fresh ed25519 key pair in OpenSSH's formats (`private`: the key file; `public`: the one-line form). */
export function generateClientKeyPair(comment: string): { readonly private: string; readonly public: string } {
  return generateOpenSshEd25519(comment);
}
