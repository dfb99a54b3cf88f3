import { execFile, execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sshKeyCommand } from '../../../../gateway/src/cli/commands/ssh-key';
import { REFUSED_EXIT_STATUS } from '../../../../gateway/src/protocols/ssh/server';
import { readEvents } from '../../../support/pg-gateway';
import { runSsh, ssh2Connect, startSshTestEnv, type SshTestEnv } from '../../../support/ssh-gateway';

/**
 * SSH served by the whole gateway from its configuration (listeners.ssh, the registry's module),
 * driven by the real OpenSSH client with keys and certificates from `gatehouse ssh-key`, in front
 * of Debian's OpenSSH server.
 */
const POLICY = `
permit (principal in Gatehouse::Group::"developers", action in [Gatehouse::Action::"ssh:exec", Gatehouse::Action::"ssh:shell"], resource);
@id("review-deploys")
@decision("review")
@message("deploys need an approval")
permit (principal in Gatehouse::Group::"developers", action == Gatehouse::Action::"ssh:exec", resource) when { context.command like "deploy*" };
forbid (principal, action == Gatehouse::Action::"ssh:exec", resource) when { context.command like "touch *" };
@id("review-plain-shells")
@decision("review")
@message("a shell without a terminal needs an approval")
permit (principal in Gatehouse::Group::"developers", action == Gatehouse::Action::"ssh:shell", resource) when { !context.pty };
permit (principal in Gatehouse::Group::"developers", action == Gatehouse::Action::"ssh:port-forward", resource) when { context.direction == "local" && context.host == "127.0.0.1" && context.port == ECHO_PORT };
permit (principal in Gatehouse::Group::"developers", action == Gatehouse::Action::"ssh:port-forward", resource) when { context.direction == "remote" && context.host == "localhost" && context.port == 0 };
permit (principal == Gatehouse::User::"corp|bea", action == Gatehouse::Action::"ssh:agent-forward", resource == Gatehouse::Connection::"box");
`;

type Event = { type: string; session: string; payload: Record<string, unknown> };

let env: SshTestEnv;
let keyPath: string;
/** A TCP echo server: the one destination policy lets clients forward to. */
let echo: net.Server;

async function events(): Promise<Event[]> {
  await env.gw.gateway.recorder.flush();
  return (await readEvents(env.gw.gateway.sink)) as Event[];
}

async function sessionWith(type: string, predicate: (p: Record<string, unknown>) => boolean): Promise<Event[]> {
  const all = await events();
  const hit = all.find((e) => e.type === type && predicate(e.payload));
  expect(hit).toBeDefined();
  return all.filter((e) => e.session === hit!.session);
}

/** The admin API as an approver (`approvers` group). */
async function admin(path: string, init: RequestInit = {}): Promise<Record<string, any>> {
  const approver = await env.token({ sub: 'grace', groups: ['approvers'] });
  const res = await fetch(`${env.gw.adminUrl}${path}`, { ...init, headers: { authorization: `Bearer ${approver}`, 'content-type': 'application/json' } });
  return (await res.json()) as Record<string, any>;
}

/** Waits for the pending approval of an action (the condition itself, no fixed sleep). */
async function pendingApproval(action: string): Promise<Record<string, any>> {
  for (;;) {
    const found = ((await admin('/api/approvals?status=pending')).approvals as Record<string, any>[]).find((a) => a.action === action);
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const echoPort = (echo.address() as net.AddressInfo).port;
  env = await startSshTestEnv({ policy: POLICY.replace('ECHO_PORT', String(echoPort)), recordingMode: 'buffered', approvals: { approverGroups: ['approvers'], pollIntervalMs: 100, timeoutSeconds: 60 }, config: () => ({ policy: { packs: ['ssh-guardrails'] } }) });
  // `gatehouse ssh-key` as a user runs it: a token from the environment, files under a home directory.
  const out: string[] = [];
  const code = await sshKeyCommand(
    ['--ssh', `127.0.0.1:${env.ssh.port}`, '--fingerprint', env.ssh.hostKeyFingerprint, '--token-env', 'GH_TEST_TOKEN', '--alias', 'gw'],
    { out: (l) => out.push(l), err: (l) => out.push(l) },
    { env: { GH_TEST_TOKEN: await env.token({ sub: 'ada' }) }, home: env.dir },
  );
  expect({ code, out }).toMatchObject({ code: 0 });
  keyPath = join(env.dir, '.ssh', 'gw_ed25519');
}, 90_000);

afterAll(async () => {
  await env?.stop();
  await new Promise((r) => echo?.close(r));
});

describe('gatehouse ssh-key and the SSH listener with the real OpenSSH client', () => {
  it('writes a private key only its owner reads, a certificate OpenSSH parses, known_hosts and an ssh config that works as written', async () => {
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const listed = execFileSync('ssh-keygen', ['-L', '-f', `${keyPath}-cert.pub`], { encoding: 'utf8' });
    expect(listed).toMatch(/ssh-ed25519-cert-v01@openssh.com user certificate/);
    expect(listed).toContain('Key ID: "gatehouse:corp:ada"');
    expect(readFileSync(`${keyPath}.known_hosts`, 'utf8')).toBe(`[127.0.0.1]:${env.ssh.port} ${env.ssh.hostPublicKey}\n`);
    // The snippet alone (plus batch mode) is enough: host, port, key, certificate, pinned host key.
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn('ssh', ['-F', `${keyPath}.ssh_config`, '-o', 'BatchMode=yes', 'box@gw', 'echo via-config'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('close', (code) => resolve({ code, stdout }));
    });
    expect(r).toEqual({ code: 0, stdout: 'via-config\n' });
  }, 60_000);

  it('takes the SSH listener and host key from the gateway /.well-known/gatehouse when named by URL alone; --fingerprint overrides it', async () => {
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    const deps = { env: { GH_TEST_TOKEN: await env.token({ sub: 'ada' }) }, home: env.dir };
    expect(await sshKeyCommand([env.gw.url, '--token-env', 'GH_TEST_TOKEN', '--alias', 'wk'], io, deps)).toBe(0);
    expect(out).toContain(`gateway host key: ${env.ssh.hostKeyFingerprint} (127.0.0.1:${env.ssh.port})`);
    const config = join(env.dir, '.ssh', 'wk_ed25519.ssh_config');
    expect(readFileSync(config, 'utf8')).toContain(`Port ${env.ssh.port}`);
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn('ssh', ['-F', config, '-o', 'BatchMode=yes', 'box@wk', 'echo via-well-known'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('close', (code) => resolve({ code, stdout }));
    });
    expect(r).toEqual({ code: 0, stdout: 'via-well-known\n' });
    // An explicit fingerprint wins over the published one: the gateway's key does not match it, so nothing is sent.
    const other = `SHA256:${'A'.repeat(43)}`;
    await expect(sshKeyCommand([env.gw.url, '--fingerprint', other, '--token-env', 'GH_TEST_TOKEN', '--alias', 'wk2'], io, deps)).rejects.toThrow(`presented host key ${env.ssh.hostKeyFingerprint}, not ${other}`);
    // A plain-http gateway elsewhere than loopback is not trusted for the fingerprint (refused before any request).
    await expect(sshKeyCommand(['http://gateway.example.test', '--token-env', 'GH_TEST_TOKEN'], io, deps)).rejects.toThrow(/plain http.*--fingerprint/);
  }, 60_000);

  it('logs in with the certificate alone: the key is not registered on this replica, the signed principal is used', async () => {
    // A certificate for a key the registry never saw: only the CA's signature vouches for it.
    const reg = await env.register(await env.token({ sub: 'grace' }), 'cert-only');
    env.ssh['options'].keys.revoke(reg.registration.fingerprint);
    const r = await runSsh(env, reg.path, 'box', 'echo cert');
    expect(r).toMatchObject({ code: 0, stdout: 'cert\n' });
    const s = await sessionWith('ssh.session.open', (p) => p.clientKey === reg.registration.fingerprint);
    expect(s.find((e) => e.type === 'session.start')).toMatchObject({ payload: expect.anything() });
    expect(JSON.stringify(s)).toContain('grace');
  }, 60_000);

  it('runs an interactive shell on a pseudo-terminal (ssh -tt): input, output, size and exit status recorded', async () => {
    const r = await runSsh(env, keyPath, 'box', undefined, ['-tt'], 'stty size; echo tty-$((6*7))\nexit 3\n');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('tty-42');
    const s = await sessionWith('ssh.channel.open', (p) => p.kind === 'shell');
    expect(s.find((e) => e.type === 'ssh.channel.open')?.payload).toMatchObject({ command: null, pty: { term: expect.any(String) }, decision: { effect: 'allow' } });
    expect(s.filter((e) => e.type === 'ssh.data' && e.payload.stream === 'stdin').map((e) => e.payload.text).join('')).toContain('exit 3');
    expect(s.filter((e) => e.type === 'ssh.data' && e.payload.stream === 'stdout').map((e) => e.payload.text).join('')).toContain('tty-42');
    expect(s.find((e) => e.type === 'ssh.exit')?.payload).toMatchObject({ code: 3 });
  }, 60_000);

  it('refuses a denied command with its code and decision on stderr and exit status 126; the upstream never ran it', async () => {
    const marker = join(env.dir, 'denied-marker');
    const r = await runSsh(env, keyPath, 'box', `touch ${marker}`);
    expect(r.code).toBe(REFUSED_EXIT_STATUS);
    expect(r.stderr).toContain('gatehouse: GH_ERR_POLICY_DENIED (policy.forbid)');
    expect(existsSync(marker)).toBe(false);
  }, 60_000);

  it('refuses an exec the ssh-guardrails pack forbids (a recursive remove of a top-level directory), naming the rule; never run upstream', async () => {
    const marker = join(env.dir, 'guardrail-marker');
    // Harmless if it ran: the directory does not exist; the marker shows whether it did.
    const command = `echo ran > ${marker}; rm -rf /gatehouse-no-such-dir`;
    const r = await runSsh(env, keyPath, 'box', command);
    expect(r.code).toBe(REFUSED_EXIT_STATUS);
    expect(r.stderr).toContain('gatehouse: GH_ERR_POLICY_DENIED (policy.forbid): a recursive remove of / or a top-level directory is refused');
    expect(existsSync(marker)).toBe(false);
    const s = await sessionWith('policy.denied', (p) => p.operation === `exec ${command}`);
    expect(s.find((e) => e.type === 'policy.denied')?.payload).toMatchObject({ action: 'ssh:exec', reasons: ['pack.ssh.remove-root'] });
  }, 60_000);

  it('drops env requests: SetEnv BASH_ENV and LC_* reach the upstream unset, though its sshd accepts both from a direct client', async () => {
    const command = 'echo "[${BASH_ENV-unset}] [${LC_EVIL-unset}]"';
    // One SetEnv with both (ssh_config takes the first SetEnv given).
    const setEnv = ['-o', 'SetEnv=BASH_ENV=/tmp/evil LC_EVIL=1'];
    const r = await runSsh(env, keyPath, 'box', command, setEnv);
    expect(r).toMatchObject({ code: 0, stdout: '[unset] [unset]\n' });
    // The control: straight to the upstream sshd (AcceptEnv BASH_ENV LC_*) with the brokered key, both are set.
    const direct = await new Promise<string>((resolve) => {
      const args = ['-p', String(env.sshd.port), '-i', join(env.dir, 'broker'), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-F', '/dev/null', ...setEnv, '-l', env.sshd.user, '127.0.0.1', command];
      execFile('ssh', args, { timeout: 30_000 }, (_err, stdout) => resolve(stdout));
    });
    expect(direct).toBe('[/tmp/evil] [1]\n');
  }, 60_000);

  it('holds an exec under a review policy until an approver grants it through the admin API; then it runs and is recorded', async () => {
    const marker = join(env.dir, 'deploy-marker');
    // `deploy…` is what policy reviews; the shell then runs the rest of the line.
    const running = runSsh(env, keyPath, 'box', `deploy=1; echo deployed > ${marker}; echo approved-$((6*7))`);
    const pending = await pendingApproval('ssh:exec');
    expect(pending).toMatchObject({ protocol: 'ssh', connection: 'box', requester: { subject: 'ada' }, reasons: ['review-deploys'] });
    // Held: the upstream has not run it while it waits.
    expect(existsSync(marker)).toBe(false);
    const granted = await admin(`/api/approvals/${pending.id}/approve`, { method: 'POST', body: JSON.stringify({ reason: 'release 7' }) });
    expect(granted.approval.status).toBe('granted');
    const r = await running;
    expect(r).toMatchObject({ code: 0, stdout: 'approved-42\n' });
    expect(readFileSync(marker, 'utf8')).toBe('deployed\n');
    const s = await sessionWith('approval.requested', (p) => p.approvalId === pending.id);
    const requested = s.find((e) => e.type === 'approval.requested')! as Event & { requestId?: string };
    expect(s.find((e) => e.type === 'approval.granted')).toMatchObject({ requestId: requested.requestId });
    expect(s.find((e) => e.type === 'ssh.channel.open')).toMatchObject({ requestId: requested.requestId, payload: { kind: 'exec', decision: { effect: 'allow', code: 'approval.granted' } } });
  }, 60_000);

  it('refuses the held exec when the approver denies it: exit status 126 with the code, never run upstream', async () => {
    const marker = join(env.dir, 'deploy-denied-marker');
    const running = runSsh(env, keyPath, 'box', `deploy=2; touch ${marker}`);
    const pending = await pendingApproval('ssh:exec');
    await admin(`/api/approvals/${pending.id}/deny`, { method: 'POST', body: JSON.stringify({ reason: 'not today' }) });
    const r = await running;
    expect(r.code).toBe(REFUSED_EXIT_STATUS);
    expect(r.stderr).toContain('gatehouse: GH_ERR_APPROVAL_DENIED (approval.denied)');
    expect(existsSync(marker)).toBe(false);
  }, 60_000);

  it('keeps a window change sent while the exec is held for approval: the upstream runs at the new size, one ssh.resize recorded', async () => {
    const reg = await env.register(await env.token({ sub: 'ada' }), 'resize-held');
    const c = await ssh2Connect(env, 'box', reg.privateKey);
    try {
      const command = 'deploy=resize; stty size';
      const running = new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
        c.exec(command, { pty: { term: 'xterm', cols: 100, rows: 30 } }, (err, ch) => {
          if (err) return reject(err);
          // At once, while the gateway judges the channel and holds it for the approval.
          ch.setWindow(40, 120, 0, 0);
          let stdout = '';
          let code: number | null = null;
          ch.on('data', (d: Buffer) => (stdout += d.toString()));
          ch.on('exit', (x: number | null) => (code = x));
          ch.on('close', () => resolve({ code, stdout }));
        });
      });
      const pending = await pendingApproval('ssh:exec');
      await admin(`/api/approvals/${pending.id}/approve`, { method: 'POST', body: JSON.stringify({ reason: 'resize' }) });
      const r = await running;
      expect(r).toEqual({ code: 0, stdout: '40 120\r\n' });
      const s = await sessionWith('ssh.channel.open', (p) => p.command === command);
      expect(s.find((e) => e.type === 'ssh.channel.open')?.payload).toMatchObject({ pty: { cols: 100, rows: 30 } });
      expect(s.filter((e) => e.type === 'ssh.resize').map((e) => e.payload)).toEqual([expect.objectContaining({ cols: 120, rows: 40 })]);
    } finally {
      c.end();
    }
  }, 60_000);

  it('holds a shell under a review policy: granted, the shell runs what is piped in; denied, it is refused with 126 and recorded', async () => {
    const running = runSsh(env, keyPath, 'box', undefined, ['-T'], 'echo shell-$((6*7))\n');
    const pending = await pendingApproval('ssh:shell');
    expect(pending).toMatchObject({ protocol: 'ssh', connection: 'box', reasons: ['review-plain-shells'] });
    await admin(`/api/approvals/${pending.id}/approve`, { method: 'POST', body: JSON.stringify({ reason: 'maintenance' }) });
    expect(await running).toMatchObject({ code: 0, stdout: 'shell-42\n' });
    const granted = await sessionWith('approval.requested', (p) => p.approvalId === pending.id);
    expect(granted.find((e) => e.type === 'ssh.channel.open')?.payload).toMatchObject({ kind: 'shell', pty: null, decision: { effect: 'allow', code: 'approval.granted' } });

    const marker = join(env.dir, 'shell-denied-marker');
    const refused = runSsh(env, keyPath, 'box', undefined, ['-T'], `echo ran > ${marker}\n`);
    const second = await pendingApproval('ssh:shell');
    await admin(`/api/approvals/${second.id}/deny`, { method: 'POST', body: JSON.stringify({ reason: 'no' }) });
    const r = await refused;
    expect(r.code).toBe(REFUSED_EXIT_STATUS);
    expect(r.stderr).toContain('gatehouse: GH_ERR_APPROVAL_DENIED (approval.denied)');
    expect(existsSync(marker)).toBe(false);
    const denied = await sessionWith('approval.requested', (p) => p.approvalId === second.id);
    expect(denied.some((e) => e.type === 'approval.denied')).toBe(true);
    expect(denied.some((e) => e.type === 'ssh.channel.open')).toBe(false);
  }, 60_000);

  it('judges port forwarding: a local forward policy permits carries bytes and is recorded; others are refused and recorded', async () => {
    const echoPort = (echo.address() as net.AddressInfo).port;
    const allowed = await runSsh(env, keyPath, 'box', undefined, ['-W', `127.0.0.1:${echoPort}`], 'ping through the tunnel\n');
    expect(allowed).toMatchObject({ code: 0, stdout: 'ping through the tunnel\n' });
    const s = await sessionWith('ssh.forward.open', (p) => p.port === echoPort);
    expect(s.find((e) => e.type === 'ssh.forward.open')?.payload).toMatchObject({ direction: 'local', host: '127.0.0.1', decision: { effect: 'allow', code: 'policy.permit' } });
    for (let i = 0; i < 100 && !s.some((e) => e.type === 'ssh.forward.close'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      s.splice(0, s.length, ...(await sessionWith('ssh.forward.open', (p) => p.port === echoPort)));
    }
    expect(s.find((e) => e.type === 'ssh.forward.close')?.payload).toMatchObject({ bytesIn: Buffer.byteLength('ping through the tunnel\n'), bytesOut: Buffer.byteLength('ping through the tunnel\n') });

    // To a destination policy does not name: refused (no permit), never opened upstream.
    const stdio = await runSsh(env, keyPath, 'box', undefined, ['-W', `127.0.0.1:${env.sshd.port}`]);
    expect(stdio.code).toBe(255);
    expect(stdio.stdout).not.toContain('SSH-2.0');
    await sessionWith('policy.denied', (p) => p.code === 'policy.no_permit' && p.operation === `port forward to 127.0.0.1:${env.sshd.port}`);
    // A remote forward policy does not name (a fixed port): refused (no permit), never asked upstream.
    const remote = await runSsh(env, keyPath, 'box', undefined, ['-N', '-o', 'ExitOnForwardFailure=yes', '-R', '40999:127.0.0.1:9']);
    expect(remote.code).toBe(255);
    expect(remote.stderr).toMatch(/remote port forwarding failed/i);
    await sessionWith('policy.denied', (p) => p.code === 'policy.no_permit' && p.operation === 'remote port forward on localhost:40999');
  }, 60_000);

  it('serves a remote forward policy permits (ssh -R 0:…): the upstream allocates the port, its connections reach the client side and are counted', async () => {
    const echoPort = (echo.address() as net.AddressInfo).port;
    const args = ['-p', String(env.ssh.port), '-i', keyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${env.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-F', '/dev/null', '-N', '-o', 'ExitOnForwardFailure=yes', '-R', `0:127.0.0.1:${echoPort}`, '-l', 'box', '127.0.0.1'];
    const child = spawn('ssh', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      // OpenSSH reports the port the gateway answered (the one the upstream allocated).
      let stderr = '';
      const port = await new Promise<number>((resolve, reject) => {
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          const m = /Allocated port (\d+) for remote forward/.exec(stderr);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`ssh exited ${code}: ${stderr}`)));
      });
      // The upstream host is this machine (the test sshd): connect to what it listens on.
      const reply = await new Promise<string>((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1', () => sock.write('ping back through -R\n'));
        let got = '';
        sock.on('data', (d: Buffer) => {
          got += d.toString();
          if (got.endsWith('\n')) {
            resolve(got);
            sock.end();
          }
        });
        sock.on('error', reject);
      });
      expect(reply).toBe('ping back through -R\n');
      let s = await sessionWith('ssh.forward.open', (p) => p.direction === 'remote');
      expect(s.find((e) => e.type === 'ssh.forward.open')?.payload).toMatchObject({ direction: 'remote', host: 'localhost', port: 0, decision: { effect: 'allow', code: 'policy.permit' } });
      for (let i = 0; i < 100 && !s.some((e) => e.type === 'ssh.forward.close'); i++) {
        await new Promise((r) => setTimeout(r, 50));
        s = await sessionWith('ssh.forward.open', (p) => p.direction === 'remote');
      }
      const n = Buffer.byteLength('ping back through -R\n');
      expect(s.find((e) => e.type === 'ssh.forward.close')?.payload).toMatchObject({ connection: 0, bytesIn: n, bytesOut: n });
    } finally {
      child.kill();
    }
  }, 60_000);

  it('refuses agent forwarding without a permit (ssh -A with a running agent): the upstream command sees no agent, the refusal is recorded', async () => {
    const sock = join(env.dir, 'agent.sock');
    const agent = execFileSync('ssh-agent', ['-a', sock], { encoding: 'utf8' });
    const pid = /SSH_AGENT_PID=(\d+)/.exec(agent)![1]!;
    try {
      const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const args = ['-A', '-p', String(env.ssh.port), '-i', keyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${env.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-F', '/dev/null', '-l', 'box', '127.0.0.1', 'echo "agent=[$SSH_AUTH_SOCK]"'];
        const child = spawn('ssh', args, { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.on('close', (code) => resolve({ code, stdout }));
      });
      expect(r).toEqual({ code: 0, stdout: 'agent=[]\n' });
      const s = await sessionWith('policy.denied', (p) => p.code === 'policy.no_permit' && p.action === 'ssh:agent-forward');
      expect(s.some((e) => e.type === 'ssh.agent.forward' || e.type === 'ssh.agent.use')).toBe(false);
    } finally {
      process.kill(Number(pid));
    }
  }, 60_000);

  it('forwards the agent where policy permits ssh:agent-forward: ssh-add -l upstream lists the key the client agent holds; only byte counts are recorded', async () => {
    const bea = await env.register(await env.token({ sub: 'bea' }), 'agent-bea');
    const sock = join(env.dir, 'agent-allowed.sock');
    const agent = execFileSync('ssh-agent', ['-a', sock], { encoding: 'utf8' });
    const pid = /SSH_AGENT_PID=(\d+)/.exec(agent)![1]!;
    const agentEnv = { ...process.env, SSH_AUTH_SOCK: sock };
    try {
      // The key the upstream sshd trusts: held by the client's agent only.
      execFileSync('ssh-add', [join(env.dir, 'broker')], { env: agentEnv, stdio: 'pipe' });
      const keyFingerprint = execFileSync('ssh-keygen', ['-l', '-f', join(env.dir, 'broker')], { encoding: 'utf8' }).split(' ')[1]!;
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const args = ['-A', '-p', String(env.ssh.port), '-i', bea.path, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${env.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-F', '/dev/null', '-l', 'box', '127.0.0.1', 'ssh-add -l'];
        const child = spawn('ssh', args, { env: agentEnv, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      expect(r).toMatchObject({ code: 0 });
      expect(r.stdout).toContain(keyFingerprint);
      // The agent channel's end is recorded once both ends closed it: waited for, not assumed.
      let s: Event[] = [];
      for (;;) {
        const all = await events();
        const forward = all.find((e) => e.type === 'ssh.agent.forward');
        s = forward === undefined ? [] : all.filter((e) => e.session === forward.session);
        if (s.some((e) => e.type === 'ssh.agent.use')) break;
        await new Promise((done) => setTimeout(done, 25));
      }
      expect(s.find((e) => e.type === 'ssh.agent.forward')?.payload).toMatchObject({ channel: expect.any(Number), decision: { effect: 'allow', code: 'policy.permit' } });
      const use = s.find((e) => e.type === 'ssh.agent.use')!.payload;
      expect(Object.keys(use).sort()).toEqual(['bytesIn', 'bytesOut', 't', 'use']);
      expect(use).toMatchObject({ use: 0, bytesIn: expect.any(Number), bytesOut: expect.any(Number) });
      expect((use.bytesIn as number) > 0 && (use.bytesOut as number) > 0).toBe(true);
      // The public key the agent listed crossed the gateway; it is in no recorded event.
      const blob = readFileSync(join(env.dir, 'broker.pub'), 'utf8').split(' ')[1]!;
      expect(JSON.stringify(s)).not.toContain(blob.slice(20, 60));
    } finally {
      process.kill(Number(pid));
    }
  }, 60_000);

  it('refuses an expired certificate, and ends a running command when its key expires', async () => {
    // Long enough for ssh to log in on a loaded machine, short enough to wait for.
    const reg = await env.register(await env.token({ sub: 'brief' }, 6), 'short-lived');
    const running = runSsh(env, reg.path, 'box', 'sleep 30; echo never');
    const r = await running;
    expect(r.code).toBe(REFUSED_EXIT_STATUS);
    expect(r.stderr).toContain('GH_ERR_SESSION_EXPIRED');
    expect(r.stdout).not.toContain('never');
    const again = await runSsh(env, reg.path, 'box', 'echo late');
    expect(again.code).toBe(255);
    expect(again.stderr).toMatch(/Permission denied \(publickey\)/);
    // Recorded as auth.failure with the reasons: the certificate expired, and its key (tried after
    // it) expired in the registry too.
    let failure: Event | undefined;
    for (let i = 0; i < 200 && failure === undefined; i++) {
      failure = (await events()).find((e) => e.type === 'auth.failure' && String(e.payload.message).includes(reg.registration.fingerprint));
      if (failure === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(failure?.payload).toMatchObject({ code: 'GH_ERR_SSH_KEY_REFUSED', connection: 'box', message: expect.stringContaining('certificate_expired') });
    expect(failure?.payload.message).toContain(`${reg.registration.fingerprint} (ssh-ed25519): expired`);
  }, 60_000);

  it('carries 16 MB each way byte for byte through exec (cat up, cat down), with the byte counts recorded', async () => {
    const data = randomBytes(16 * 1024 * 1024);
    const src = join(env.dir, 'big-src.bin');
    const dst = join(env.dir, 'big-dst.bin');
    writeFileSync(src, data);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    // Each direction has its own deadline: a transfer that stalls fails here, naming the direction,
    // instead of running into the test's timeout.
    const transfer = (command: string, input?: Buffer) =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: Buffer }>((resolve) => {
        const child = spawn('ssh', ['-p', String(env.ssh.port), '-i', keyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${env.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-F', '/dev/null', '-l', 'box', '127.0.0.1', command], { stdio: ['pipe', 'pipe', 'ignore'] });
        const stalled = setTimeout(() => child.kill('SIGKILL'), 40_000);
        const parts: Buffer[] = [];
        child.stdout.on('data', (d: Buffer) => parts.push(d));
        child.on('close', (code, signal) => {
          clearTimeout(stalled);
          resolve({ code, signal, out: Buffer.concat(parts) });
        });
        child.stdin.end(input);
      });
    const up = await transfer(`cat > ${dst}`, data);
    expect({ direction: 'up', code: up.code, signal: up.signal }).toEqual({ direction: 'up', code: 0, signal: null });
    expect(sha(readFileSync(dst))).toBe(sha(data));
    const down = await transfer(`cat ${src}`);
    expect({ direction: 'down', code: down.code, signal: down.signal }).toEqual({ direction: 'down', code: 0, signal: null });
    expect(sha(down.out)).toBe(sha(data));
    // Every chunk's event is queued before the chunk is passed on (channel.ts), so the flush in
    // events() stores them all. Each read parses the whole log (tens of MB here, seconds on a
    // loaded machine): read again only while short of the count, within a deadline, not a fixed
    // number of times.
    const recorded = async () => (await sessionWith('ssh.channel.open', (p) => p.command === `cat ${src}`)).filter((e) => e.type === 'ssh.data' && e.payload.stream === 'stdout').reduce((n, e) => n + (e.payload.bytes as number), 0);
    const until = Date.now() + 20_000;
    let n = await recorded();
    while (n < data.length && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      n = await recorded();
    }
    expect(n).toBe(data.length);
  }, 120_000);

  it('multiplexes execs over one connection (Ansible-style ControlMaster/ControlPersist): each judged and recorded as its own channel', async () => {
    const mux = ['-o', 'ControlMaster=auto', '-o', `ControlPath=${join(env.dir, 'cm-%C')}`, '-o', 'ControlPersist=30'];
    const n = 4;
    try {
      for (let i = 0; i < n; i++) expect(await runSsh(env, keyPath, 'box', `echo mux-${i}`, mux)).toMatchObject({ code: 0, stdout: `mux-${i}\n` });
      // A denied one on the same connection is refused on its own channel; the others were not.
      expect((await runSsh(env, keyPath, 'box', 'touch /tmp/gatehouse-mux', mux)).code).toBe(REFUSED_EXIT_STATUS);
      const s = await sessionWith('ssh.channel.open', (p) => p.command === 'echo mux-0');
      expect(s.filter((e) => e.type === 'ssh.session.open')).toHaveLength(1);
      const opened = s.filter((e) => e.type === 'ssh.channel.open');
      expect(opened.map((e) => e.payload.command)).toEqual(Array.from({ length: n }, (_, i) => `echo mux-${i}`));
      expect(new Set(opened.map((e) => e.payload.channel)).size).toBe(n);
      expect(opened.every((e) => (e.payload.decision as Record<string, unknown>).code === 'policy.permit')).toBe(true);
      expect(s.filter((e) => e.type === 'ssh.exit')).toHaveLength(n);
      expect(s.find((e) => e.type === 'policy.denied')?.payload).toMatchObject({ operation: 'exec touch /tmp/gatehouse-mux', code: 'policy.forbid' });
    } finally {
      await runSsh(env, keyPath, 'box', undefined, [...mux, '-O', 'exit']);
    }
  }, 60_000);

  it('serves many short exec sessions in a row (Ansible-style), each its own recorded and sealed session', async () => {
    const before = new Set((await events()).filter((e) => e.type === 'session.start').map((e) => e.session));
    const n = 12;
    for (let i = 0; i < n; i++) {
      const r = await runSsh(env, keyPath, 'box', `echo run-${i}`);
      expect(r).toMatchObject({ code: 0, stdout: `run-${i}\n` });
    }
    // The client's close ends the session a moment after ssh exits.
    let fresh: Event[] = [];
    for (let i = 0; i < 100; i++) {
      fresh = (await events()).filter((e) => !before.has(e.session));
      if (fresh.filter((e) => e.type === 'session.end').length >= n) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(fresh.filter((e) => e.type === 'ssh.channel.open').length).toBe(n);
    expect(fresh.filter((e) => e.type === 'session.end').length).toBe(n);
  }, 120_000);
});
