import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOGIN_COOKIE, SESSION_COOKIE } from '../../../../gateway/src/admin/console/cookies';
import { sessionsCommand } from '../../../../gateway/src/cli/commands/sessions';
import { mintDevToken } from '../../../../gateway/src/identity/dev-issuer';
import { freePort } from '../../../support/ports';
import { readEvents } from '../../../support/pg-gateway';
import { ssh2Connect, startSshTestEnv, type SshTestEnv } from '../../../support/ssh-gateway';

/**
 * What an SSH session's record gives an auditor, through the whole gateway in front of Debian's
 * OpenSSH: an interactive shell on a real pty (ssh2 client) whose plain-text transcript, made by
 * terminal emulation, reads as the screen did (cursor movement, a typo corrected with backspace,
 * colours, a clear); the same transcript and asciicast v3 from `gatehouse sessions export` and
 * the console; the console's search finding the session by a word of its output; and SFTP file
 * contents recorded up to the connection's cap, masked, with the whole file's hash (OpenSSH's
 * `sftp`). One sshd, one gateway.
 */
const POLICY = 'permit (principal in Gatehouse::Group::"developers", action, resource);';
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const CAP = 1024;

type Event = { type: string; session: string; payload: Record<string, unknown> };

let env: SshTestEnv;
let key: string;
let consoleUrl: string;
let work: string;
/** Where the upstream's files are (the same machine: sshd runs as the test's user). */
let remote: string;

async function events(): Promise<Event[]> {
  await env.gw.gateway.recorder.flush();
  return (await readEvents(env.gw.gateway.sink)) as Event[];
}

/** The events of the session holding a matching event, once it is recorded. */
async function sessionWith(type: string, predicate: (p: Record<string, unknown>) => boolean): Promise<Event[]> {
  for (let i = 0; ; i++) {
    const all = await events();
    const hit = all.find((e) => e.type === type && predicate(e.payload));
    if (hit !== undefined) return all.filter((e) => e.session === hit.session);
    if (i >= 200) throw new Error(`no ${type} event matched`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function adminToken(): Promise<string> {
  return mintDevToken({ subject: 'auditor', groups: ['gatehouse-admins'], keyPath: env.gw.config.identity.devIssuer.keyPath, createKey: false });
}

/** `gatehouse sessions …` against the running gateway's admin API: exit code and stdout. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await sessionsCommand([...args, '--admin-url', env.gw.adminUrl, '--token', await adminToken()], { out: (l) => (out += l.endsWith('\n') ? l : `${l}\n`), err: (l) => (err += `${l}\n`) });
  return { code, out, err };
}

/** A console session cookie through the development login (as dev-login.test.ts). */
async function consoleCookie(): Promise<string> {
  const form = await fetch(`${consoleUrl}/console/login`, { redirect: 'manual' });
  const state = /name="state" value="([^"]+)"/.exec(await form.text())![1]!;
  const loginCookie = form.headers.getSetCookie().find((c) => c.startsWith(`${LOGIN_COOKIE}=`))!.split(';')[0]!;
  const res = await fetch(`${consoleUrl}/console/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: consoleUrl, cookie: loginCookie },
    body: new URLSearchParams({ state, subject: 'auditor', groups: 'gatehouse-admins' }).toString(),
  });
  expect(res.status).toBe(303);
  return res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!.split(';')[0]!;
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60_000 }, (e, stdout, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? -1) : 0, stdout, stderr }));
  });
}

beforeAll(async () => {
  const port = await freePort();
  consoleUrl = `http://127.0.0.1:${port}`;
  env = await startSshTestEnv({
    policy: POLICY,
    recordingMode: 'buffered',
    masking: {},
    box: { bodyCapBytes: CAP },
    config: (dir) => ({
      identity: { devIssuer: { enabled: true, keyPath: join(dir, 'dev-issuer.json') } },
      // Events indexed as with PostgreSQL (off by default on the embedded store): the console's text search.
      state: { indexEvents: true },
      listeners: { console: { address: '127.0.0.1', port } },
      admin: { groups: ['gatehouse-admins'] },
      console: { enabled: true, issuer: 'dev', externalUrl: consoleUrl },
    }),
  });
  key = (await env.register(await env.token())).path;
  work = join(env.dir, 'work');
  remote = join(env.dir, 'remote');
  mkdirSync(work);
  mkdirSync(remote);
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

describe('an interactive shell: transcript, exports, search', () => {
  let sessionId = '';
  let channel = -1;

  beforeAll(async () => {
    const c = await ssh2Connect(env, 'box', readFileSync(key, 'utf8'));
    // Each step is typed once the previous one's output showed (the shell reads a line at a time).
    // Each trigger is in the command's output, never in the echo of the command line.
    const steps: [string, string][] = [
      ['', "printf 'left\\033[4Dright\\n'\n"],
      ['\u001b[4Dright', `echo zebra-ohno${'\x7f'.repeat(4)}okay\n`],
      ['\rzebra-okay\r', "printf '\\033[31mred-alert\\033[0m\\n'\n"],
      ['\u001b[31mred-alert', "printf '\\033[H\\033[2J'; echo after-clear\n"],
      ['Jafter-clear', 'exit 0\n'],
    ];
    await new Promise<void>((resolve, reject) => {
      c.shell({ term: 'xterm', cols: 80, rows: 24 }, (err, ch) => {
        if (err) return reject(err);
        let text = '';
        let seen = '';
        let step = 0;
        // Says where it stuck (a step whose output never came) instead of only timing out.
        const stuck = setTimeout(() => reject(new Error(`step ${step} never saw ${JSON.stringify(steps[step]?.[0])}; output: ${JSON.stringify(seen.slice(-2000))}`)), 40_000);
        const next = (): void => {
          while (step < steps.length && text.includes(steps[step]![0])) {
            ch.write(steps[step]![1]);
            text = '';
            step++;
          }
        };
        ch.on('data', (d: Buffer) => {
          text += d.toString();
          seen += d.toString();
          next();
        });
        ch.on('close', () => {
          clearTimeout(stuck);
          resolve();
        });
        next();
      });
    });
    c.end();
    const session = await sessionWith('ssh.transcript', (p) => typeof p.text === 'string' && p.text.includes('after-clear'));
    sessionId = session[0]!.session;
    channel = session.find((e) => e.type === 'ssh.transcript')!.payload.channel as number;
  }, 60_000);

  /** What a transcript of this shell must hold, and must not. */
  const expectScreenText = (text: string): void => {
    // The corrected command line and its output; the typo is gone, as it is from the screen.
    expect(text).toMatch(/echo zebra-okay\n/);
    expect(text).toMatch(/^zebra-okay$/m);
    expect(text).not.toContain('ohno');
    // Cursor movement applied: "left" overwritten by "right" (the raw output holds both).
    expect(text).toMatch(/^right$/m);
    // Colours applied, not printed; what preceded the clear kept.
    expect(text).toMatch(/^red-alert$/m);
    expect(text).toMatch(/^after-clear$/m);
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  };

  it('records the transcript by terminal emulation when the channel ends, masked as recorded', async () => {
    const session = (await events()).filter((e) => e.session === sessionId);
    const transcript = session.find((e) => e.type === 'ssh.transcript')!;
    expect(transcript.payload).toMatchObject({ channel, truncated: false });
    expectScreenText(transcript.payload.text as string);
    // The raw record holds what the terminal was sent: both words and the escape.
    const raw = session.filter((e) => e.type === 'ssh.data' && e.payload.stream === 'stdout').map((e) => e.payload.text).join('');
    expect(raw).toContain('left\u001b[4Dright');
  });

  it('exports the transcript and asciicast v3 with `gatehouse sessions export`', async () => {
    const text = await cli(['export', sessionId, '--format', 'text', '--channel', String(channel)]);
    expect(text.code).toBe(0);
    expectScreenText(text.out);
    const cast = await cli(['export', sessionId, '--format', 'cast-v3']);
    expect(cast.code).toBe(0);
    const [header, ...lines] = cast.out.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(header).toMatchObject({ version: 3, term: { cols: 80, rows: 24, type: 'xterm' }, title: 'shell' });
    const evs = lines as [number, string, string][];
    expect(evs.every(([dt]) => dt >= 0)).toBe(true);
    expect(evs.filter(([, code]) => code === 'o').map(([, , d]) => d).join('')).toContain('after-clear');
    expect(evs[evs.length - 1]).toEqual([expect.any(Number), 'x', '0']);
    const v2 = await cli(['export', sessionId, '--format', 'cast']);
    expect(JSON.parse(v2.out.split('\n')[0]!)).toMatchObject({ version: 2, width: 80, height: 24 });
    const none = await cli(['export', sessionId, '--format', 'cast-v3', '--channel', '99']);
    expect(none.code).toBe(1);
    expect(none.err).toContain('no terminal recording on channel 99');
  });

  it('finds the session in the console by a word of its output, and serves its transcript and .cast v3', async () => {
    const cookie = await consoleCookie();
    // The index is written in batches: wait for the session to be findable, not for a time.
    let page = '';
    for (let i = 0; i < 200 && !page.includes(sessionId); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      page = await (await fetch(`${consoleUrl}/console/sessions?q=zebra-okay`, { headers: { cookie } })).text();
    }
    expect(page).toContain(sessionId);
    const other = await (await fetch(`${consoleUrl}/console/sessions?q=ohno`, { headers: { cookie } })).text();
    expect(other).not.toContain(sessionId);

    const view = await fetch(`${consoleUrl}/console/sessions/${sessionId}/export.txt?channel=${channel}&view=1`, { headers: { cookie } });
    expect(view.status).toBe(200);
    expect(view.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(view.headers.get('content-disposition')).toMatch(/^inline; filename="session-.*-channel-\d+\.txt"$/);
    expectScreenText(await view.text());
    const cast = await fetch(`${consoleUrl}/console/sessions/${sessionId}/export.cast?channel=${channel}&version=3`, { headers: { cookie } });
    expect(cast.headers.get('content-disposition')).toMatch(/^attachment; filename="session-.*\.v3\.cast"$/);
    expect(JSON.parse((await cast.text()).split('\n')[0]!)).toMatchObject({ version: 3, term: { cols: 80, rows: 24 } });
    const pageHtml = await (await fetch(`${consoleUrl}/console/sessions/${sessionId}`, { headers: { cookie } })).text();
    expect(pageHtml).toContain(`export.txt?channel=${channel}&amp;view=1`);
    expect(pageHtml).toContain(`export.cast?channel=${channel}&amp;version=3`);
  });
});

describe('SFTP file contents up to the cap', () => {
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

  it('records the first bytes of a text upload, masked, and the hash of the whole file; binary left out on a masking connection', async () => {
    const upload = Buffer.from(`aws_access_key_id = ${AWS_KEY}\n${'x'.repeat(60)}\n`.repeat(40));
    const small = Buffer.from('short note: all of it is recorded\n');
    const binary = randomBytes(3000);
    writeFileSync(join(work, 'upload.txt'), upload);
    writeFileSync(join(work, 'small.txt'), small);
    writeFileSync(join(remote, 'binary.bin'), binary);
    const batch = join(work, 'batch');
    writeFileSync(batch, [`put ${join(work, 'upload.txt')} ${join(remote, 'upload.txt')}`, `put ${join(work, 'small.txt')} ${join(remote, 'small.txt')}`, `get ${join(remote, 'binary.bin')} ${join(work, 'binary.bin')}`].join('\n') + '\n');
    const common = ['-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${env.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-F', '/dev/null'];
    const r = await run('sftp', ['-b', batch, '-P', String(env.ssh.port), ...common, 'box@127.0.0.1']);
    expect(r.code).toBe(0);

    const session = await sessionWith('ssh.sftp.close', (p) => p.path === join(remote, 'binary.bin'));
    const content = (path: string, direction: string) => session.find((e) => e.type === 'ssh.file.content' && e.payload.path === path && e.payload.direction === direction)?.payload;
    const closeOf = (path: string) => session.find((e) => e.type === 'ssh.sftp.close' && e.payload.path === path)!.payload;

    const up = content(join(remote, 'upload.txt'), 'write')!;
    expect(up).toMatchObject({ encoding: 'text', size: upload.length, recorded: CAP, truncated: true });
    expect((up.text as string).length).toBeGreaterThan(CAP / 2);
    expect(up.text).not.toContain(AWS_KEY);
    expect(up.text).toContain('aws_access_key_id = ');
    expect(Object.values(up.masked as Record<string, number>).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(closeOf(join(remote, 'upload.txt'))).toMatchObject({ bytesWritten: upload.length, sha256Written: sha(upload) });

    expect(content(join(remote, 'small.txt'), 'write')).toMatchObject({ encoding: 'text', text: small.toString(), recorded: small.length, truncated: false });

    expect(content(join(remote, 'binary.bin'), 'read')).toMatchObject({ encoding: 'none', reason: 'binary_masked', recorded: 0, size: 3000, truncated: true });
    expect(closeOf(join(remote, 'binary.bin'))).toMatchObject({ bytesRead: 3000, sha256Read: sha(binary) });
    // No content event for a direction that passed no byte.
    expect(content(join(remote, 'upload.txt'), 'read')).toBeUndefined();
  }, 60_000);
});

describe('legacy SCP (scp -O) parsed into file records', () => {
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

  it('records an upload and a download as files (path, size, SHA-256, contents up to the cap), not as terminal text', async () => {
    const common = ['-O', '-q', '-P', String(env.ssh.port), '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${env.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-F', '/dev/null'];
    const up = Buffer.from(`secret ${AWS_KEY} in a script\n${'y'.repeat(70)}\n`.repeat(200));
    const down = randomBytes(200_000);
    writeFileSync(join(work, 'scp-up.txt'), up);
    writeFileSync(join(remote, 'scp-down.bin'), down);
    expect((await run('scp', [...common, join(work, 'scp-up.txt'), `box@127.0.0.1:${join(remote, 'scp-up.txt')}`])).code).toBe(0);
    expect(readFileSync(join(remote, 'scp-up.txt')).equals(up)).toBe(true);
    expect((await run('scp', [...common, `box@127.0.0.1:${join(remote, 'scp-down.bin')}`, join(work, 'scp-down.bin')])).code).toBe(0);
    expect(readFileSync(join(work, 'scp-down.bin')).equals(down)).toBe(true);

    const upSession = await sessionWith('ssh.scp.file', (p) => p.path === join(remote, 'scp-up.txt'));
    expect(upSession.find((e) => e.type === 'ssh.scp.file')!.payload).toMatchObject({ direction: 'write', size: up.length, bytes: up.length, complete: true, sha256: sha(up), mode: expect.stringMatching(/^0[0-7]{3}$/) });
    const upContent = upSession.find((e) => e.type === 'ssh.file.content')!.payload;
    expect(upContent).toMatchObject({ via: 'scp', direction: 'write', encoding: 'text', recorded: CAP, truncated: true });
    expect(upContent.text).not.toContain(AWS_KEY);
    const downSession = await sessionWith('ssh.scp.file', (p) => p.path === join(remote, 'scp-down.bin'));
    expect(downSession.find((e) => e.type === 'ssh.scp.file')!.payload).toMatchObject({ direction: 'read', size: down.length, complete: true, sha256: sha(down) });
    expect(downSession.find((e) => e.type === 'ssh.file.content')!.payload).toMatchObject({ encoding: 'none', reason: 'binary_masked' });
    // The file bytes are in no terminal event: the record of a 200 kB download stays small.
    for (const s of [upSession, downSession]) {
      const data = s.filter((e) => e.type === 'ssh.data').reduce((n, e) => n + (e.payload.text as string).length, 0);
      expect(data).toBeLessThan(1000);
    }
  }, 60_000);
});
