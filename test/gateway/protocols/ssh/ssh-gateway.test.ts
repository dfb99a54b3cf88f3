import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'ssh2';
import { sshConnectionSchema, type SshConnectionConfig } from '../../../../gateway/src/config/schema';
import { silentLogger } from '../../../../gateway/src/observability/logger';
import { DeviceLogin } from '../../../../gateway/src/protocols/ssh/device-login';
import { SshKeyRegistry } from '../../../../gateway/src/protocols/ssh/key-registry';
import { REFUSED_EXIT_STATUS, SshGateway } from '../../../../gateway/src/protocols/ssh/server';
import { terminalRecording } from '../../../../gateway/src/protocols/ssh/terminal-replay';
import { toAsciicast } from '../../../../gateway/src/admin/console/session-page/terminal';
import { LOGIN_CLIENT_ID, startLoginIssuer, type LoginIssuer } from '../../../support/oidc-login-issuer';
import { makeTempDir } from '../../../support/recording-helpers';
import { startPipelineWorld, startRealPipeline, type PipelineWorld, type RealPipeline } from '../../../support/real-pipeline';
import { sshKeygen, startSshd, type KeyPair, type Sshd } from '../../../support/sshd';

const POLICY = `
permit (principal in Gatehouse::Group::"developers", action in [Gatehouse::Action::"ssh:exec", Gatehouse::Action::"ssh:shell"], resource);
forbid (principal, action == Gatehouse::Action::"ssh:exec", resource) when { context.command like "touch *" };
`;

let world: PipelineWorld;
let rp: RealPipeline;
let sshd: Sshd;
let gateway: SshGateway;
let port: number;
let dir: string;
let cleanup: () => Promise<void>;
let client: KeyPair;
let keys: SshKeyRegistry;
let knownHosts: string;
/** The issuer people sign in at with a device code (trusted by the pipeline as `people`). */
let people: LoginIssuer;

function connection(name: string, hostKey: string): SshConnectionConfig {
  return sshConnectionSchema.parse({ name, kind: 'ssh', upstream: { host: '127.0.0.1', port: sshd.port, user: sshd.user, privateKey: 'env:BROKER_KEY', hostKey: hostKey.split(' ').slice(0, 2).join(' ') } });
}

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir('gh-ssh-'));
  const broker = sshKeygen(dir, 'broker');
  const gatewayHost = sshKeygen(dir, 'gateway-host');
  const impostor = sshKeygen(dir, 'impostor-host');
  client = sshKeygen(dir, 'client');
  sshd = await startSshd(dir, [broker.publicKey]);
  world = await startPipelineWorld();
  people = await startLoginIssuer({ deviceInterval: 1 });
  rp = await startRealPipeline({ world, policy: POLICY, env: { BROKER_KEY: broker.privateKey, HOST_KEY: gatewayHost.privateKey }, issuers: [{ name: 'people', issuer: people.issuer, audiences: [LOGIN_CLIENT_ID] }] });
  keys = new SshKeyRegistry();
  gateway = new SshGateway({
    pipeline: rp.pipeline,
    hostKey: 'env:HOST_KEY',
    keys,
    connections: [connection('box', sshd.hostKey), connection('impostor', impostor.publicKey)],
    logger: silentLogger(),
  });
  port = (await gateway.listen(0)).port;
  knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${gateway.hostPublicKey}\n`);
  keys.registerKey(await rp.principal(['developers'], 'agent-1'), client.publicKey, new Date(Date.now() + 600_000));
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await rp?.close();
  await world?.close();
  await people?.close();
  await sshd?.stop();
  await cleanup?.();
});

/** The real OpenSSH client, strict about the gateway's host key, with the registered key only. */
function ssh(user: string, command: string, extra: string[] = [], identity = client.path): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ['-p', String(port), '-i', identity, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', ...extra, '-l', user, '127.0.0.1', command];
  return new Promise((resolve) => {
    execFile('ssh', args, { timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }));
  });
}

function ssh2Connect(user: string, privateKey: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port, username: user, privateKey, hostVerifier: (key: Buffer) => key.toString('base64') === gateway.hostPublicKey.split(' ')[1], readyTimeout: 20_000 });
  });
}

function ssh2Exec(c: Client, command: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    c.exec(command, (err, ch) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      ch.on('data', (d: Buffer) => (stdout += d.toString()));
      ch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      ch.on('exit', (c2: number | null) => (code = c2));
      ch.on('close', () => resolve({ code, stdout, stderr }));
    });
  });
}

async function sessionEventsWith(type: string, predicate: (p: Record<string, unknown>) => boolean) {
  const all = await rp.allEvents();
  const hit = all.find((e) => e.type === type && predicate(e.payload));
  expect(hit).toBeDefined();
  return all.filter((e) => e.session === hit!.session);
}

describe('SSH gateway against a real OpenSSH server', () => {
  it('runs an allowed exec through ssh2 and records it: upstream, channel with decision, output, exit; replayable', async () => {
    const c = await ssh2Connect('box', client.privateKey);
    const r = await ssh2Exec(c, 'echo hello; echo oops >&2');
    c.end();
    expect(r).toEqual({ code: 0, stdout: 'hello\n', stderr: 'oops\n' });
    const events = await sessionEventsWith('ssh.channel.open', (p) => p.command === 'echo hello; echo oops >&2');
    expect(events.find((e) => e.type === 'ssh.session.open')?.payload).toMatchObject({ upstream: `127.0.0.1:${sshd.port}`, upstreamUser: sshd.user, requestedUser: 'box', clientKey: expect.stringMatching(/^SHA256:/) });
    const open = events.find((e) => e.type === 'ssh.channel.open')!;
    expect(open.payload).toMatchObject({ kind: 'exec', pty: null, decision: { effect: 'allow', code: 'policy.permit' } });
    const data = events.filter((e) => e.type === 'ssh.data');
    expect(data.filter((e) => e.payload.stream === 'stdout').map((e) => e.payload.text).join('')).toBe('hello\n');
    expect(data.filter((e) => e.payload.stream === 'stderr').map((e) => e.payload.text).join('')).toBe('oops\n');
    expect(events.find((e) => e.type === 'ssh.exit')?.payload).toMatchObject({ code: 0 });
    const cast = toAsciicast(terminalRecording(events, open.payload.channel as number)!);
    expect(cast).toContain('"hello\\n"');
  }, 60_000);

  it('runs an exec from the real ssh client (strict host key checking against the gateway key)', async () => {
    const r = await ssh('box', 'echo hello');
    expect(r).toMatchObject({ code: 0, stdout: 'hello\n' });
    const r2 = await ssh(`${sshd.user}@box`, 'echo again');
    expect(r2).toMatchObject({ code: 0, stdout: 'again\n' });
  }, 60_000);

  it('opens an interactive shell on a pty at the client size, follows a window change, and records both', async () => {
    const c = await ssh2Connect('box', client.privateKey);
    const out = await new Promise<{ text: string; code: number | null }>((resolve, reject) => {
      c.shell({ term: 'xterm', cols: 100, rows: 30 }, (err, ch) => {
        if (err) return reject(err);
        let text = '';
        let step = 0;
        let code: number | null = null;
        ch.on('data', (d: Buffer) => {
          text += d.toString();
          if (step === 0 && text.includes('30 100')) {
            step = 1;
            ch.setWindow(40, 120, 0, 0);
            ch.write('stty size\n');
          } else if (step === 1 && text.includes('40 120')) {
            step = 2;
            ch.write('exit 3\n');
          }
        });
        ch.on('exit', (x: number | null) => (code = x));
        ch.on('close', () => resolve({ text, code }));
        ch.write('stty size\n');
      });
    });
    c.end();
    expect(out.code).toBe(3);
    expect(out.text).toContain('40 120');
    const events = await sessionEventsWith('ssh.channel.open', (p) => p.kind === 'shell');
    const open = events.find((e) => e.type === 'ssh.channel.open')!;
    expect(open.payload).toMatchObject({ command: null, pty: { term: 'xterm', cols: 100, rows: 30 }, decision: { effect: 'allow' } });
    expect(events.find((e) => e.type === 'ssh.resize')?.payload).toMatchObject({ cols: 120, rows: 40 });
    expect(events.filter((e) => e.type === 'ssh.data' && e.payload.stream === 'stdin').map((e) => e.payload.text).join('')).toContain('exit 3');
    expect(events.find((e) => e.type === 'ssh.exit')?.payload).toMatchObject({ code: 3 });
    const rec = terminalRecording(events, open.payload.channel as number)!;
    expect(rec).toMatchObject({ cols: 100, rows: 30, title: 'shell' });
    expect(rec.frames.some((f) => f.kind === 'resize' && f.cols === 120 && f.rows === 40)).toBe(true);
  }, 60_000);

  it('refuses a denied command with its decision on stderr and exit status 126; the upstream never ran it', async () => {
    const marker = join(dir, 'denied-marker');
    const r = await ssh('box', `touch ${marker}`);
    expect(r.code).toBe(REFUSED_EXIT_STATUS);
    expect(r.stderr).toContain('gatehouse: GH_ERR_POLICY_DENIED (policy.forbid)');
    expect(existsSync(marker)).toBe(false);
    const events = await sessionEventsWith('policy.denied', (p) => p.action === 'ssh:exec');
    expect(events.some((e) => e.type === 'ssh.channel.open')).toBe(false);
  }, 60_000);

  it('refuses local port forwarding policy does not permit, recorded as policy.denied (policy.no_permit)', async () => {
    const c = await ssh2Connect('box', client.privateKey);
    const err = await new Promise<Error | undefined>((resolve) => c.forwardOut('127.0.0.1', 0, '127.0.0.1', sshd.port, (e) => resolve(e)));
    c.end();
    expect(err).toBeInstanceOf(Error);
    await sessionEventsWith('policy.denied', (p) => p.code === 'policy.no_permit' && p.action === 'ssh:port-forward');
  }, 60_000);

  it('refuses an upstream whose host key is not the pinned one, before any command runs', async () => {
    const marker = join(dir, 'impostor-marker');
    const r = await ssh('impostor', `echo x > ${marker}`);
    expect(r.code).not.toBe(0);
    expect(existsSync(marker)).toBe(false);
    const events = await sessionEventsWith('ssh.upstream_error', (p) => p.reason === 'host_key_mismatch');
    expect(events.some((e) => e.type === 'ssh.channel.open' || e.type === 'ssh.session.open')).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'session.end', payload: { reason: 'upstream_host_key_mismatch' } });
  }, 60_000);

  it('refuses an unregistered key, an expired key and an unknown target', async () => {
    const stranger = sshKeygen(dir, 'stranger');
    await expect(ssh2Connect('box', stranger.privateKey)).rejects.toThrow(/authentication methods failed/);
    const late = sshKeygen(dir, 'late');
    keys.registerKey(await rp.principal(['developers'], 'agent-2'), late.publicKey, new Date(Date.now() - 1000));
    await expect(ssh2Connect('box', late.privateKey)).rejects.toThrow(/authentication methods failed/);
    const r = await ssh('box', 'echo hello', [], late.path);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/Permission denied \(publickey\)/);
    await expect(ssh2Connect('nowhere', client.privateKey)).rejects.toThrow(/authentication methods failed/);
    await expect(ssh2Connect('someone-else@box', client.privateKey)).rejects.toThrow(/authentication methods failed/);
    // Each connection that never logged in is recorded as an auth.failure naming its keys' reasons
    // (recorded when the client's connection closes, a moment after it gave up).
    const fp = (publicKey: string) => `SHA256:${createHash('sha256').update(Buffer.from(publicKey.split(' ')[1]!, 'base64')).digest('base64').replace(/=+$/, '')}`;
    const wanted = [`${fp(stranger.publicKey)} (ssh-ed25519): unknown`, `${fp(late.publicKey)} (ssh-ed25519): expired`, 'unknown_target'];
    let failures: Record<string, unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      failures = (await rp.allEvents()).filter((e) => e.type === 'auth.failure').map((e) => e.payload);
      if (wanted.every((w) => failures.some((f) => String(f.message).includes(w))) && failures.length >= 5) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const w of wanted) expect(failures).toContainEqual(expect.objectContaining({ code: 'GH_ERR_SSH_KEY_REFUSED', message: expect.stringContaining(w) }));
    expect(failures.filter((f) => String(f.message).includes(': expired'))).toEqual(expect.arrayContaining([expect.objectContaining({ connection: 'box' })]));
  }, 60_000);
});

describe('validity on new channels of an open connection (a clock the test moves)', () => {
  /** ssh2 on another listener: a key, or (without one) a device sign-in the issuer approves. */
  function connectTo(listenerPort: number, privateKey?: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const c = new Client();
      c.once('ready', () => resolve(c));
      c.once('error', reject);
      c.on('keyboard-interactive', (_n, _i, _l, prompts, finish) => {
        const code = /enter the code (\S+)/.exec(prompts.map((p) => p.prompt).join('\n'))?.[1];
        people.approveUserCode(code ?? '').then(() => finish(prompts.map(() => '')), reject);
      });
      c.connect({ host: '127.0.0.1', port: listenerPort, username: 'box', ...(privateKey !== undefined ? { privateKey } : { tryKeyboard: true }), hostVerifier: () => true, readyTimeout: 30_000 });
    });
  }

  it('refuses new channels once a registered key is revoked, or a key or device sign-in expired, with GH_ERR_SESSION_EXPIRED and exit 126', async () => {
    let clock = Date.now();
    const clocked = new SshKeyRegistry(() => clock);
    const gw = new SshGateway({
      pipeline: rp.pipeline,
      hostKey: 'env:HOST_KEY',
      keys: clocked,
      connections: [connection('box', sshd.hostKey)],
      logger: silentLogger(),
      now: () => clock,
      deviceLogin: new DeviceLogin({ issuer: people.issuer, clientId: LOGIN_CLIENT_ID, scopes: ['openid', 'groups'], timeoutMs: 60_000 }),
    });
    const listenerPort = (await gw.listen(0)).port;
    const clients: Client[] = [];
    try {
      const revoked = sshKeygen(dir, 'revoked-later');
      const revokedFp = clocked.registerKey(await rp.principal(['developers'], 'agent-r'), revoked.publicKey, new Date(clock + 600_000)).fingerprint;
      const expiring = sshKeygen(dir, 'expiring-later');
      clocked.registerKey(await rp.principal(['developers'], 'agent-e'), expiring.publicKey, new Date(clock + 600_000));
      const byRevoked = await connectTo(listenerPort, revoked.privateKey);
      const byKey = await connectTo(listenerPort, expiring.privateKey);
      const byDevice = await connectTo(listenerPort);
      clients.push(byRevoked, byKey, byDevice);
      for (const c of clients) expect(await ssh2Exec(c, 'echo open')).toEqual({ code: 0, stdout: 'open\n', stderr: '' });

      clocked.revoke(revokedFp);
      const afterRevoke = await ssh2Exec(byRevoked, 'echo revoked');
      expect(afterRevoke).toMatchObject({ code: REFUSED_EXIT_STATUS, stdout: '' });
      expect(afterRevoke.stderr).toContain('GH_ERR_SESSION_EXPIRED: the SSH key expired or was revoked');
      // The others are untouched by that revocation.
      expect(await ssh2Exec(byKey, 'echo still')).toMatchObject({ code: 0, stdout: 'still\n' });
      expect(await ssh2Exec(byDevice, 'echo still')).toMatchObject({ code: 0, stdout: 'still\n' });

      // Past the key's 10 minutes and the ID token's hour (the device sign-in's expiry).
      clock += 3_600_000 + 1_000;
      const key = await ssh2Exec(byKey, 'echo late');
      expect(key).toMatchObject({ code: REFUSED_EXIT_STATUS, stdout: '' });
      expect(key.stderr).toContain('GH_ERR_SESSION_EXPIRED: the SSH key expired');
      const device = await ssh2Exec(byDevice, 'echo late');
      expect(device).toMatchObject({ code: REFUSED_EXIT_STATUS, stdout: '' });
      expect(device.stderr).toContain('GH_ERR_SESSION_EXPIRED: the sign-in expired');
    } finally {
      for (const c of clients) c.end();
      await gw.close();
    }
  }, 60_000);
});
