import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'ssh2';
import { generateClientKeyPair, registerKey, type Registration } from '../../gateway/src/protocols/ssh/registration';
import { sshModule } from '../../gateway/src/protocols/registry';
import type { SshGateway } from '../../gateway/src/protocols/ssh/server';
import type { StartOptions } from '../../gateway/src/server/gateway';
import { deepMerge, startTestGateway, type TestGateway } from './gateway';
import { startTestIssuer, type TestIssuer } from './oidc-issuer';
import { LOGIN_CLIENT_ID, startLoginIssuer, type LoginIssuer } from './oidc-login-issuer';
import { makeTempDir } from './recording-helpers';
import { sshKeygen, startSshd, type Sshd } from './sshd';

/**
 * A whole gateway (real pipeline, OIDC issuer, Cedar, fs log, state store) serving SSH from its
 * config (`listeners.ssh` with a host key and a user CA, one `box` connection) in front of
 * Debian's OpenSSH server on loopback; keys registered the way `gatehouse ssh-key` does.
 */
export interface SshTestEnv {
  readonly gw: TestGateway;
  readonly ssh: SshGateway;
  readonly issuer: TestIssuer;
  /** The issuer people sign in at with a device code (only with `deviceLogin`). */
  readonly loginIssuer?: LoginIssuer;
  readonly sshd: Sshd;
  readonly dir: string;
  /** A known_hosts file pinning the gateway's host key. */
  readonly knownHosts: string;
  /** A key pair registered (plain key, and a certificate beside it) for a `developers` token. */
  register(token: string, name?: string): Promise<RegisteredKeyFiles>;
  token(claims?: Record<string, unknown>, ttlSeconds?: number): Promise<string>;
  stop(): Promise<void>;
}

export interface RegisteredKeyFiles {
  readonly path: string;
  readonly privateKey: string;
  readonly registration: Registration;
}

export interface SshTestEnvOptions {
  readonly policy: string;
  readonly masking?: Record<string, unknown>;
  readonly start?: Partial<StartOptions>;
  readonly recordingMode?: 'strict' | 'buffered';
  /** listeners.ssh.keyTtlMinutes. */
  readonly keyTtlMinutes?: number;
  /** The `approvals` config section. @default none */
  readonly approvals?: Record<string, unknown>;
  /**
   * Serve keyboard-interactive device sign-in (listeners.ssh.deviceLogin) at a real oidc-provider
   * issuer (`loginIssuer`, trusted as `people` with the CLI client as audience), which asks for
   * 1 s polling; with an object, also its bounds on sign-ins waiting at once. @default off
   */
  readonly deviceLogin?: boolean | { readonly maxPending?: number; readonly maxPendingPerAddress?: number };
  /** More fields of the `box` connection (e.g. `bodyCapBytes`). @default none */
  readonly box?: Record<string, unknown>;
  /** More configuration, merged over the rest (e.g. `state`, `console`). @default none */
  readonly config?: (dir: string) => Record<string, unknown>;
}

export async function startSshTestEnv(options: SshTestEnvOptions): Promise<SshTestEnv> {
  const { dir, cleanup } = await makeTempDir('gh-sshenv-');
  const broker = sshKeygen(dir, 'broker');
  const hostKey = sshKeygen(dir, 'gateway-host');
  const userCa = sshKeygen(dir, 'user-ca');
  const impostor = sshKeygen(dir, 'impostor-host');
  const sshd = await startSshd(dir, [broker.publicKey]);
  const issuer = await startTestIssuer();
  const loginIssuer = options.deviceLogin !== undefined && options.deviceLogin !== false ? await startLoginIssuer({ deviceInterval: 1 }) : undefined;
  const people = loginIssuer === undefined ? [] : [{ name: 'people', issuer: loginIssuer.issuer, audiences: [LOGIN_CLIENT_ID], algorithms: ['RS256'], clockSkewSeconds: 0 }];
  const deviceLogin = loginIssuer === undefined ? {} : { deviceLogin: { issuer: 'people', clientId: LOGIN_CLIENT_ID, scopes: ['openid', 'email', 'profile', 'groups'], ...(typeof options.deviceLogin === 'object' && options.deviceLogin) } };
  const upstream = (hk: string) => ({ host: '127.0.0.1', port: sshd.port, user: sshd.user, privateKey: `file:${broker.path}`, hostKey: hk.split(' ').slice(0, 2).join(' ') });
  const gw = await startTestGateway(
    (gwDir) => deepMerge({
      identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], algorithms: ['RS256'], clockSkewSeconds: 0 }, ...people] },
      policy: { cedar: options.policy },
      recording: { mode: options.recordingMode ?? 'strict' },
      ...(options.approvals !== undefined ? { approvals: options.approvals } : {}),
      listeners: { ssh: { address: '127.0.0.1', port: 0, hostKey: `file:${hostKey.path}`, userCaKey: `file:${userCa.path}`, ...(options.keyTtlMinutes !== undefined ? { keyTtlMinutes: options.keyTtlMinutes } : {}), ...deviceLogin } },
      connections: [
        { name: 'box', kind: 'ssh', upstream: upstream(sshd.hostKey), ...(options.masking !== undefined ? { masking: options.masking } : {}), ...options.box },
        { name: 'impostor', kind: 'ssh', upstream: upstream(impostor.publicKey) },
      ],
    }, options.config?.(gwDir) ?? {}),
    options.start ?? {},
  );
  const ssh = gw.gateway.protocols.get(sshModule)!;
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${ssh.port} ${ssh.hostPublicKey}\n`);
  let n = 0;
  return {
    gw,
    ssh,
    issuer,
    ...(loginIssuer !== undefined && { loginIssuer }),
    sshd,
    dir,
    knownHosts,
    token: (claims = {}, ttlSeconds) => issuer.mintToken({ sub: 'ada', groups: ['developers'], ...claims }, ttlSeconds === undefined ? {} : { ttlSeconds }),
    async register(token, name = `client-${n++}`) {
      const pair = generateClientKeyPair(name);
      const registration = await registerKey({ host: '127.0.0.1', port: ssh.port, hostKeyFingerprint: ssh.hostKeyFingerprint, token, publicKey: pair.public });
      const path = join(dir, name);
      writeFileSync(path, pair.private, { mode: 0o600 });
      writeFileSync(`${path}.pub`, `${pair.public}\n`);
      if (registration.certificate !== undefined) writeFileSync(`${path}-cert.pub`, `${registration.certificate}\n`);
      return { path, privateKey: pair.private, registration };
    },
    async stop() {
      await gw.stop();
      await sshd.stop();
      await issuer.close();
      await loginIssuer?.close();
      await cleanup();
    },
  };
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The real OpenSSH client, strict about the gateway's host key, with only the given key (and its certificate beside it). */
export function runSsh(env: SshTestEnv, identity: string, user: string, command: string | undefined, extra: readonly string[] = [], input?: string): Promise<RunResult> {
  const args = ['-p', String(env.ssh.port), '-i', identity, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${env.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-F', '/dev/null', ...extra, '-l', user, '127.0.0.1', ...(command === undefined ? [] : [command])];
  return new Promise((resolve) => {
    const child = execFile('ssh', args, { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }));
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

/** ssh2 as a library client with a registered plain key (ssh2 cannot present certificates). */
export function ssh2Connect(env: SshTestEnv, user: string, privateKey: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port: env.ssh.port, username: user, privateKey, hostVerifier: (key: Buffer) => key.toString('base64') === env.ssh.hostPublicKey.split(' ')[1], readyTimeout: 20_000 });
  });
}

/** One exec on an ssh2 connection: exit code (null on a signal), stdout, stderr. */
export function ssh2Exec(c: Client, command: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    c.exec(command, (err, ch) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      ch.on('data', (d: Buffer) => (stdout += d.toString()));
      ch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      ch.on('exit', (x: number | null) => (code = x));
      ch.on('close', () => resolve({ code, stdout, stderr }));
    });
  });
}

/**
 * ssh2 as a library client with no key, signing in with a device code: `onPrompt` gets the
 * keyboard-interactive prompt's text (the verification URL and user code) and plays the person;
 * the prompt is answered when it resolves. Rejects when the gateway refuses the sign-in.
 */
export function ssh2DeviceConnect(env: SshTestEnv, user: string, onPrompt: (prompt: string) => Promise<void>): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => {
      onPrompt(prompts.map((p) => p.prompt).join('\n')).then(
        () => finish(prompts.map(() => '')),
        (e: unknown) => {
          c.end();
          reject(e);
        },
      );
    });
    c.connect({ host: '127.0.0.1', port: env.ssh.port, username: user, tryKeyboard: true, hostVerifier: (key: Buffer) => key.toString('base64') === env.ssh.hostPublicKey.split(' ')[1], readyTimeout: 60_000 });
  });
}
