import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'ssh2';
import { sshKeyCommand } from '../../../../gateway/src/cli/commands/ssh-key';
import { DeviceLogin } from '../../../../gateway/src/protocols/ssh/device-login';
import { REFUSED_EXIT_STATUS } from '../../../../gateway/src/protocols/ssh/server';
import type { LoginIssuer } from '../../../support/oidc-login-issuer';
import { readEvents } from '../../../support/pg-gateway';
import { ssh2DeviceConnect, ssh2Exec, startSshTestEnv, type SshTestEnv } from '../../../support/ssh-gateway';

/**
 * Keyboard-interactive sign-in with a device code (listeners.ssh.deviceLogin) through the whole
 * gateway, at a real oidc-provider issuer that plays the person's side through its own /device
 * pages: `ssh2` and the real OpenSSH client (SSH_ASKPASS) as clients without a key, Debian's
 * OpenSSH server upstream.
 */
const POLICY = `
permit (principal in Gatehouse::Group::"developers", action in [Gatehouse::Action::"ssh:exec", Gatehouse::Action::"ssh:shell"], resource);
`;

type Event = { type: string; session: string; principal?: Record<string, unknown>; payload: Record<string, unknown> };

let env: SshTestEnv;
let issuer: LoginIssuer;

async function events(): Promise<Event[]> {
  await env.gw.gateway.recorder.flush();
  return (await readEvents(env.gw.gateway.sink)) as Event[];
}

/** The auth.failure with this code (and message; in none of the sessions `notIn`), once recorded (it is recorded as the refusal is answered). */
async function authFailure(code: string, message?: string, notIn: ReadonlySet<string> = new Set()): Promise<Event> {
  for (let i = 0; i < 400; i++) {
    const hit = (await events()).find((e) => e.type === 'auth.failure' && e.payload.code === code && (message === undefined || String(e.payload.message).includes(message)) && !notIn.has(e.session));
    if (hit !== undefined) return hit;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no auth.failure with ${code} was recorded`);
}

function userCode(prompt: string): string {
  const code = /enter the code (\S+)/.exec(prompt)?.[1];
  if (code === undefined) throw new Error(`no user code in the prompt: ${prompt}`);
  return code;
}

/** The client address recorded for the session an event belongs to. */
async function clientAddress(event: Event): Promise<unknown> {
  const start = (await events()).find((e) => e.session === event.session && e.type === 'session.start');
  return (start?.payload.client as { address?: unknown } | undefined)?.address;
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2400 && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(condition()).toBe(true);
}

/**
 * An ssh2 client without a key from `localAddress` (every 127.x address is loopback) that starts
 * a device sign-in and never answers it: `prompt` resolves with what it was shown, `refused` with
 * the error when the gateway refuses it.
 */
function waitingSignIn(localAddress: string): { client: Client; prompt: Promise<string>; refused: Promise<Error> } {
  const client = new Client();
  let shown: (text: string) => void = () => undefined;
  const prompt = new Promise<string>((resolve) => (shown = resolve));
  const refused = new Promise<Error>((resolve) => client.once('error', resolve));
  client.on('keyboard-interactive', (_name, _instructions, _lang, prompts) => shown(prompts.map((p) => p.prompt).join('\n')));
  client.connect({ host: '127.0.0.1', port: env.ssh.port, localAddress, username: 'box', tryKeyboard: true, hostVerifier: (key: Buffer) => key.toString('base64') === env.ssh.hostPublicKey.split(' ')[1], readyTimeout: 60_000 });
  return { client, prompt, refused };
}

/** Waits for a file another process writes atomically (the condition itself, no fixed sleep). */
async function fileText(path: string): Promise<string> {
  for (let i = 0; i < 1200 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 25));
  return readFileSync(path, 'utf8');
}

/**
 * The real OpenSSH client with no key, keyboard-interactive only and no terminal: each prompt goes
 * to SSH_ASKPASS, a script that writes it to `promptFile` and answers with an empty line at once
 * (before the person approved: the gateway then waits for the issuer).
 */
function sshDevice(user: string, command: string, promptFile: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const askpass = join(env.dir, 'askpass.sh');
  writeFileSync(askpass, '#!/bin/sh\nprintf \'%s\' "$1" > "$GH_PROMPT_FILE.tmp" && mv "$GH_PROMPT_FILE.tmp" "$GH_PROMPT_FILE"\necho\n', { mode: 0o755 });
  const args = ['-F', '/dev/null', '-p', String(env.ssh.port), '-o', 'PreferredAuthentications=keyboard-interactive', '-o', 'PubkeyAuthentication=no', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${env.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-l', user, '127.0.0.1', command];
  return new Promise((resolve) => {
    const child = spawn('ssh', args, { env: { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', GH_PROMPT_FILE: promptFile }, stdio: ['ignore', 'pipe', 'pipe'] });
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  // Tight bounds so the limits are reached with a few clients; the other tests sign in one at a time.
  env = await startSshTestEnv({ policy: POLICY, deviceLogin: { maxPending: 2, maxPendingPerAddress: 1 } });
  issuer = env.loginIssuer!;
}, 90_000);

afterAll(async () => {
  await env?.stop();
});

describe('SSH sign-in with a device code (keyboard-interactive)', () => {
  it('shows the verification URL and user code in the prompt; once approved, the connection runs as the ID token principal, recorded as a device login', async () => {
    let shown = '';
    const c = await ssh2DeviceConnect(env, 'box', async (prompt) => {
      shown = prompt;
      await issuer.approveUserCode(userCode(prompt));
    });
    const r = await ssh2Exec(c, 'echo signed-in');
    c.end();
    expect(r).toEqual({ code: 0, stdout: 'signed-in\n', stderr: '' });
    expect(shown).toMatch(new RegExp(`open ${issuer.issuer}/device and enter the code \\S+`));
    const all = await events();
    const open = all.find((e) => e.type === 'ssh.session.open' && e.payload.login === 'device');
    expect(open?.payload).toMatchObject({ login: 'device', clientKey: null, requestedUser: 'box' });
    const start = all.find((e) => e.session === open!.session && e.type === 'session.start');
    expect(start?.principal).toMatchObject({ issuer: issuer.issuer, subject: 'alice', groups: ['developers'], kind: 'human' });
  }, 60_000);

  it('signs in the real OpenSSH client through SSH_ASKPASS: answered before the approval, the gateway waits for the issuer', async () => {
    const promptFile = join(env.dir, 'prompt-approve');
    const running = sshDevice('box', 'echo via-openssh', promptFile);
    const prompt = await fileText(promptFile);
    expect(prompt).toContain(`open ${issuer.issuer}/device and enter the code`);
    await issuer.approveUserCode(userCode(prompt));
    expect(await running).toMatchObject({ code: 0, stdout: 'via-openssh\n' });
  }, 60_000);

  it('refuses a sign-in denied at the issuer: the client is told the code, auth.failure GH_ERR_SSH_DEVICE_DENIED is recorded', async () => {
    const promptFile = join(env.dir, 'prompt-deny');
    const running = sshDevice('box', 'echo never', promptFile);
    await issuer.denyUserCode(userCode(await fileText(promptFile)));
    const r = await running;
    expect(r.code).toBe(255);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('gatehouse: GH_ERR_SSH_DEVICE_DENIED: the sign-in was denied at the issuer');
    expect(r.stderr).toMatch(/Permission denied/);
    expect((await authFailure('GH_ERR_SSH_DEVICE_DENIED')).payload).toMatchObject({ connection: 'box' });
  }, 60_000);

  it('refuses a token the gateway verifier rejects (a malformed groups claim), recorded with the verifier code', async () => {
    const groups = issuer.groups;
    issuer.groups = [{ not: 'a group' }] as unknown as string[];
    try {
      await expect(ssh2DeviceConnect(env, 'box', async (prompt) => issuer.approveUserCode(userCode(prompt)))).rejects.toThrow(/authentication methods failed/);
    } finally {
      issuer.groups = groups;
    }
    expect((await authFailure('GH_ERR_TOKEN_CLAIMS')).payload).toMatchObject({ connection: 'box', message: expect.stringContaining('groups') });
  }, 60_000);

  it('refuses when the code expires before anyone approves it (GH_ERR_SSH_DEVICE_EXPIRED)', async () => {
    issuer.deviceCodeTtl = 2;
    try {
      await expect(ssh2DeviceConnect(env, 'box', async () => undefined)).rejects.toThrow(/authentication methods failed/);
    } finally {
      issuer.deviceCodeTtl = 600;
    }
    expect((await authFailure('GH_ERR_SSH_DEVICE_EXPIRED')).payload).toMatchObject({ connection: 'box' });
  }, 60_000);

  it('refuses an unknown target before asking the issuer, and never takes a token as a password', async () => {
    let prompted = false;
    await expect(ssh2DeviceConnect(env, 'nowhere', async () => void (prompted = true))).rejects.toThrow(/authentication methods failed/);
    expect(prompted).toBe(false);
    expect((await authFailure('GH_ERR_SSH_TARGET_UNKNOWN')).payload).toMatchObject({ connection: null });
    const password = await new Promise<Error | undefined>((resolve) => {
      const c = new Client();
      c.once('ready', () => {
        c.end();
        resolve(undefined);
      });
      c.once('error', resolve);
      void env.token().then((token) => c.connect({ host: '127.0.0.1', port: env.ssh.port, username: 'box', password: token, hostVerifier: () => true, readyTimeout: 20_000 }));
    });
    expect(password?.message).toMatch(/authentication methods failed/);
  }, 60_000);

  it('ends the connection at the token expiry: a running command is told GH_ERR_SESSION_EXPIRED and exits 126', async () => {
    // Long enough for the exec to start on a loaded machine, short enough to wait for.
    issuer.idTokenTtl = 6;
    let c: Client;
    try {
      c = await ssh2DeviceConnect(env, 'box', async (prompt) => issuer.approveUserCode(userCode(prompt)));
    } finally {
      issuer.idTokenTtl = 3600;
    }
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    const r = await ssh2Exec(c, 'sleep 30; echo never');
    expect(r.code).toBe(REFUSED_EXIT_STATUS);
    expect(r.stderr).toContain('GH_ERR_SESSION_EXPIRED: the sign-in expired');
    expect(r.stdout).not.toContain('never');
    await closed;
  }, 60_000);
});

describe('device sign-ins waiting at once, and abandoned ones', () => {
  it('refuses a sign-in beyond maxPendingPerAddress from one address and beyond maxPending in total at once, without asking the issuer (GH_ERR_SSH_DEVICE_LIMIT)', async () => {
    const asked = issuer.deviceAuthorizations;
    const first = waitingSignIn('127.0.0.1');
    const second = waitingSignIn('127.0.0.2');
    const refusedClients: Client[] = [];
    try {
      userCode(await first.prompt);
      userCode(await second.prompt);
      expect(env.ssh.deviceSignInsPending).toBe(2);
      // The same address as the first: its per-address bound (1) is reached.
      const sameAddress = waitingSignIn('127.0.0.1');
      refusedClients.push(sameAddress.client);
      expect((await sameAddress.refused).message).toMatch(/authentication methods failed/);
      const perAddress = await authFailure('GH_ERR_SSH_DEVICE_LIMIT', 'maxPendingPerAddress');
      expect(perAddress.payload).toMatchObject({ connection: 'box', message: expect.stringContaining('from 127.0.0.1 are already waiting') });
      expect(await clientAddress(perAddress)).toBe('127.0.0.1');
      // A third address: the total bound (2) is reached.
      const third = waitingSignIn('127.0.0.3');
      refusedClients.push(third.client);
      expect((await third.refused).message).toMatch(/authentication methods failed/);
      const total = await authFailure('GH_ERR_SSH_DEVICE_LIMIT', '(listeners.ssh.deviceLogin.maxPending)');
      expect(await clientAddress(total)).toBe('127.0.0.3');
      // Neither refused client was shown a code, and the issuer was asked for two codes only.
      await expect(Promise.race([sameAddress.prompt, third.prompt, Promise.resolve('not shown')])).resolves.toBe('not shown');
      expect(issuer.deviceAuthorizations - asked).toBe(2);
    } finally {
      for (const c of [first.client, second.client, ...refusedClients]) c.end();
    }
    await until(() => env.ssh.deviceSignInsPending === 0);
  }, 60_000);

  it('records a client that goes away before approving as auth.failure GH_ERR_SSH_DEVICE_ABANDONED (target, address); the gateway stops polling the issuer at once and frees its place', async () => {
    const gone = waitingSignIn('127.0.0.1');
    const goneCode = userCode(await gone.prompt);
    await until(() => issuer.pollsFor(goneCode) >= 1);
    // Another sign-in, polled at the same 1 s interval: the clock the test reads polls by.
    const clock = waitingSignIn('127.0.0.2');
    const clockCode = userCode(await clock.prompt);
    try {
      const earlier = new Set((await events()).map((e) => e.session));
      gone.client.end();
      const abandoned = await authFailure('GH_ERR_SSH_DEVICE_ABANDONED', undefined, earlier);
      expect(abandoned.payload).toMatchObject({ connection: 'box', message: expect.stringContaining('went away before the sign-in was approved') });
      expect(await clientAddress(abandoned)).toBe('127.0.0.1');
      // A poll in flight when the client went away has arrived once the other sign-in polled again;
      // from then on, while it polls twice more, the abandoned code is not polled.
      const mark = issuer.pollsFor(clockCode);
      await until(() => issuer.pollsFor(clockCode) >= mark + 1);
      const after = issuer.pollsFor(goneCode);
      await until(() => issuer.pollsFor(clockCode) >= mark + 3);
      expect(issuer.pollsFor(goneCode)).toBe(after);
      // Its place is free: the same address (bound 1) signs in again at once.
      const again = await ssh2DeviceConnect(env, 'box', async (prompt) => issuer.approveUserCode(userCode(prompt)));
      expect(await ssh2Exec(again, 'echo again')).toMatchObject({ code: 0, stdout: 'again\n' });
      again.end();
    } finally {
      clock.client.end();
    }
    await until(() => env.ssh.deviceSignInsPending === 0);
  }, 60_000);
});

describe('advertising the device sign-in', () => {
  it('/.well-known/gatehouse says the SSH listener offers it, and gatehouse ssh-key tells how to use it', async () => {
    const doc = (await (await fetch(`${env.gw.url}/.well-known/gatehouse`)).json()) as { connections: { name: string; kind: string; deviceLogin?: boolean }[] };
    expect(doc.connections.filter((c) => c.kind === 'ssh').map((c) => [c.name, c.deviceLogin])).toEqual([
      ['box', true],
      ['impostor', true],
    ]);
    const out: string[] = [];
    const code = await sshKeyCommand([env.gw.url, '--token-env', 'GH_TEST_TOKEN', '--alias', 'device-doc'], { out: (l) => out.push(l), err: (l) => out.push(l) }, { env: { GH_TEST_TOKEN: await env.token() }, home: env.dir });
    expect(code).toBe(0);
    expect(out).toContain(`without a key: ssh -p ${env.ssh.port} CONNECTION@127.0.0.1 signs in with a device code at the prompt (keyboard-interactive)`);
  }, 30_000);
});

describe('DeviceLogin against issuers that cannot serve it', () => {
  const options = { clientId: 'gatehouse-cli', scopes: ['openid'], timeoutMs: 10_000 };

  it('fails with GH_ERR_ISSUER_UNAVAILABLE when discovery cannot be read, and with GH_ERR_SSH_DEVICE_FAILED when the issuer has no device endpoint', async () => {
    // Port 9 (discard) on loopback: nothing answers.
    await expect(new DeviceLogin({ ...options, issuer: 'http://127.0.0.1:9' }).start()).rejects.toMatchObject({ code: 'GH_ERR_ISSUER_UNAVAILABLE' });
    // The machine-token issuer of the test environment is a real oidc-provider without the device flow.
    await expect(new DeviceLogin({ ...options, issuer: env.issuer.issuer }).start()).rejects.toMatchObject({ code: 'GH_ERR_SSH_DEVICE_FAILED', message: expect.stringContaining('no device authorization endpoint') });
  }, 30_000);
});
