import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEvents } from '../../../../support/pg-gateway';
import { makeTempDir } from '../../../../support/recording-helpers';
import type { ClientChannel } from 'ssh2';
import { body, FX, FXF, FXP, header, PacketFramer } from '../../../../../gateway/src/protocols/ssh/sftp/packets';
import { ssh2Connect, startSshTestEnv, type SshTestEnv } from '../../../../support/ssh-gateway';

/**
 * SFTP through the whole gateway, driven by OpenSSH's own `sftp` (batch mode) and `scp` (SFTP
 * mode, OpenSSH 9's default) in front of Debian's sshd (internal-sftp): every file operation
 * judged on its canonical path and recorded, refusals answered by the gateway.
 */
const POLICY = `
permit (principal in Gatehouse::Group::"developers", action in [Gatehouse::Action::"ssh:exec", Gatehouse::Action::"ssh:sftp"], resource);
forbid (principal, action == Gatehouse::Action::"ssh:sftp:open", resource) when { context.write && context.path like "PROTECTED/*" };
forbid (principal, action in [Gatehouse::Action::"ssh:sftp:remove", Gatehouse::Action::"ssh:sftp:rename"], resource) when { context.path like "PROTECTED/*" };
`;

type Event = { type: string; session: string; payload: Record<string, unknown> };

let env: SshTestEnv;
let key: string;
let work: string;
let protectedDir: string;
let outside: string;
let cleanupOutside: () => Promise<void>;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function events(): Promise<Event[]> {
  await env.gw.gateway.recorder.flush();
  return (await readEvents(env.gw.gateway.sink)) as Event[];
}

/** The events of the session that recorded a matching event, once its SFTP channel has ended. */
async function sessionWith(type: string, predicate: (p: Record<string, unknown>) => boolean): Promise<Event[]> {
  for (let i = 0; ; i++) {
    const all = await events();
    const hit = all.find((e) => e.type === type && predicate(e.payload));
    const s = hit === undefined ? [] : all.filter((e) => e.session === hit.session);
    // The client may exit a moment before the gateway has recorded the channel's end.
    if (s.some((e) => e.type === 'ssh.sftp.end') || i >= 100) {
      expect(hit).toBeDefined();
      return s;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function common(): string[] {
  return ['-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${env.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-F', '/dev/null'];
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }));
  });
}

/** OpenSSH's sftp in batch mode: the commands, one a line (a leading `-` lets the batch go on after a failure). */
function sftp(commands: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const batch = join(work, `batch-${Math.random().toString(36).slice(2)}`);
  writeFileSync(batch, commands.join('\n') + '\n');
  return run('sftp', ['-b', batch, '-P', String(env.ssh.port), ...common(), 'box@127.0.0.1']);
}

function scp(from: string, to: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('scp', ['-q', '-P', String(env.ssh.port), ...common(), from, to]);
}

beforeAll(async () => {
  // The protected folder lives outside the env's folder: its path must be in the policy at start.
  ({ dir: outside, cleanup: cleanupOutside } = await makeTempDir('gh-sftp-'));
  protectedDir = join(outside, 'protected');
  mkdirSync(protectedDir);
  writeFileSync(join(protectedDir, 'keep.txt'), 'precious\n');
  env = await startSshTestEnv({ policy: POLICY.replaceAll('PROTECTED', protectedDir), recordingMode: 'buffered' });
  key = (await env.register(await env.token({ sub: 'ada' }))).path;
  work = join(env.dir, 'work');
  mkdirSync(work);
}, 90_000);

afterAll(async () => {
  await env?.stop();
  await cleanupOutside?.();
});

describe('SFTP through the gateway with the real OpenSSH clients', () => {
  it('uploads, downloads, lists and renames with sftp -b: each operation recorded on its canonical path, bytes counted and hashed per handle', async () => {
    const dir = join(env.dir, 'files');
    mkdirSync(dir);
    const up = randomBytes(300 * 1024 + 17);
    const down = randomBytes(200 * 1024 + 5);
    writeFileSync(join(work, 'up.bin'), up);
    writeFileSync(join(dir, 'down.bin'), down);
    const r = await sftp([`put ${join(work, 'up.bin')} ${dir}/./up.bin`, `get ${dir}/down.bin ${join(work, 'down.bin')}`, `rename ${dir}/up.bin ${dir}/moved.bin`, `ls ${dir}`]);
    expect(r).toMatchObject({ code: 0 });
    expect(sha(readFileSync(join(dir, 'moved.bin')))).toBe(sha(up));
    expect(sha(readFileSync(join(work, 'down.bin')))).toBe(sha(down));

    const s = await sessionWith('ssh.sftp.request', (p) => p.op === 'rename' && p.newPath === `${dir}/moved.bin`);
    expect(s.find((e) => e.type === 'ssh.sftp.open')?.payload).toMatchObject({ decision: { effect: 'allow' } });
    const requests = s.filter((e) => e.type === 'ssh.sftp.request').map((e) => e.payload);
    // `./` is dropped: the path judged is the one the server acts on.
    expect(requests).toContainEqual(expect.objectContaining({ op: 'open', path: `${dir}/up.bin`, flags: expect.arrayContaining(['write', 'create', 'truncate']), decision: expect.objectContaining({ effect: 'allow' }) }));
    expect(requests).toContainEqual(expect.objectContaining({ op: 'open', path: `${dir}/down.bin`, flags: ['read'] }));
    expect(requests).toContainEqual(expect.objectContaining({ op: 'opendir', path: dir }));
    const rename = requests.find((p) => p.op === 'rename')!;
    expect(rename).toMatchObject({ path: `${dir}/up.bin`, newPath: `${dir}/moved.bin` });
    expect(s.find((e) => e.type === 'ssh.sftp.result' && e.payload.request === rename.request)?.payload).toMatchObject({ op: 'rename', status: 'ok' });
    const closes = s.filter((e) => e.type === 'ssh.sftp.close').map((e) => e.payload);
    expect(closes).toContainEqual(expect.objectContaining({ path: `${dir}/up.bin`, kind: 'file', bytesWritten: up.length, bytesRead: 0, sha256Written: sha(up), closed: true }));
    expect(closes).toContainEqual(expect.objectContaining({ path: `${dir}/down.bin`, kind: 'file', bytesRead: down.length, sha256Read: sha(down), closed: true }));
    expect(closes).toContainEqual(expect.objectContaining({ path: dir, kind: 'directory', entries: expect.any(Number) }));
    expect(s.find((e) => e.type === 'ssh.sftp.end')?.payload).toMatchObject({ bytesWritten: up.length, bytesRead: down.length, refused: 0 });
    // Contents are counted, never recorded.
    expect(JSON.stringify(s)).not.toContain(up.subarray(0, 64).toString('base64'));
  }, 60_000);

  it('refuses a write and a remove under a protected path with SSH_FX_PERMISSION_DENIED; the server never sees them; both recorded', async () => {
    const kept = readFileSync(join(protectedDir, 'keep.txt'), 'utf8');
    writeFileSync(join(work, 'evil.txt'), 'overwrite\n');
    const r = await sftp([`-put ${join(work, 'evil.txt')} ${protectedDir}/keep.txt`, `-put ${join(work, 'evil.txt')} ${protectedDir}/new.txt`, `-rm ${protectedDir}/keep.txt`, `get ${protectedDir}/keep.txt ${join(work, 'kept.txt')}`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Permission denied/);
    expect(readFileSync(join(protectedDir, 'keep.txt'), 'utf8')).toBe(kept);
    expect(existsSync(join(protectedDir, 'new.txt'))).toBe(false);
    // Reading is still allowed there.
    expect(readFileSync(join(work, 'kept.txt'), 'utf8')).toBe(kept);
    const s = await sessionWith('policy.denied', (p) => p.action === 'ssh:sftp:remove');
    const denied = s.filter((e) => e.type === 'policy.denied').map((e) => e.payload);
    expect(denied).toContainEqual(expect.objectContaining({ action: 'ssh:sftp:open', code: 'policy.forbid', operation: `sftp open ${protectedDir}/keep.txt` }));
    expect(denied).toContainEqual(expect.objectContaining({ action: 'ssh:sftp:open', operation: `sftp open ${protectedDir}/new.txt` }));
    expect(denied).toContainEqual(expect.objectContaining({ action: 'ssh:sftp:remove', operation: `sftp remove ${protectedDir}/keep.txt` }));
    expect(s.find((e) => e.type === 'ssh.sftp.end')?.payload).toMatchObject({ refused: 3 });
  }, 60_000);

  it('refuses a path with ".." (its meaning depends on links the gateway cannot see), recorded as ssh.sftp_path', async () => {
    const r = await sftp([`-rm ${protectedDir}/../protected/keep.txt`]);
    expect(r.code).toBe(0);
    expect(existsSync(join(protectedDir, 'keep.txt'))).toBe(true);
    await sessionWith('policy.denied', (p) => p.code === 'ssh.sftp_path' && p.action === 'ssh:sftp:remove');
  }, 60_000);

  it('judges a raw SFTP client: relative paths only after REALPATH ".", a WRITE on a read handle and a forged handle refused, an oversized packet ends the channel', async () => {
    const reg = await env.register(await env.token({ sub: 'raw' }), 'raw-client');
    const c = await ssh2Connect(env, 'box', reg.privateKey);
    const ch = await new Promise<ClientChannel>((resolve, reject) => c.subsys('sftp', (err, stream) => (err ? reject(err) : resolve(stream))));
    const framer = new PacketFramer();
    const replies: Buffer[] = [];
    let waiting: (() => void) | undefined;
    ch.on('data', (d: Buffer) => {
      replies.push(...framer.push(d));
      waiting?.();
    });
    const closed = new Promise<void>((r) => ch.once('close', () => r()));
    const str = (v: string | Buffer) => {
      const b = Buffer.isBuffer(v) ? v : Buffer.from(v);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      return Buffer.concat([len, b]);
    };
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    const send = (type: number, id: number | undefined, ...parts: Buffer[]) => {
      const rest = Buffer.concat([Buffer.from([type]), ...(id === undefined ? [] : [u32(id)]), ...parts]);
      ch.write(Buffer.concat([u32(rest.length), rest]));
    };
    /** The next reply (in order; the server answers in order, the gateway's refusals at once). */
    const next = async (): Promise<Buffer> => {
      while (replies.length === 0) await new Promise<void>((r) => (waiting = r));
      return replies.shift()!;
    };
    const status = (p: Buffer) => {
      const r = body(p);
      return { type: header(p).type, id: header(p).id, code: r.u32(), message: r.bytes().toString() };
    };
    send(FXP.INIT, undefined, u32(3));
    expect(header(await next()).type).toBe(FXP.VERSION);
    send(FXP.OPEN, 1, str('relative.txt'), u32(FXF.READ), u32(0));
    expect(status(await next())).toMatchObject({ id: 1, code: FX.PERMISSION_DENIED, message: expect.stringContaining('ssh.sftp_path') });
    send(FXP.REALPATH, 2, str('.'));
    const name = await next();
    const nr = body(name);
    nr.u32();
    const cwd = nr.bytes().toString();
    expect(cwd).toMatch(/^\//);
    send(FXP.STAT, 3, str('gh-no-such-file'));
    expect(status(await next())).toMatchObject({ id: 3, code: FX.NO_SUCH_FILE });
    const file = join(env.dir, 'raw-read.txt');
    writeFileSync(file, 'read only\n');
    send(FXP.OPEN, 4, str(file), u32(FXF.READ), u32(0));
    const handle = body(await next()).bytes();
    send(FXP.WRITE, 5, str(handle), Buffer.alloc(8), str('overwrite'));
    expect(status(await next())).toMatchObject({ id: 5, code: FX.PERMISSION_DENIED, message: expect.stringContaining('not opened for writing') });
    send(FXP.READ, 6, str('forged'), Buffer.alloc(8), u32(100));
    expect(status(await next())).toMatchObject({ id: 6, code: FX.PERMISSION_DENIED, message: expect.stringContaining('did not see opened') });
    expect(readFileSync(file, 'utf8')).toBe('read only\n');
    // A length beyond 256 KiB: the channel is closed, nothing buffered.
    ch.write(u32(300 * 1024));
    await closed;
    c.end();
    const s = await sessionWith('ssh.sftp.error', (p) => String(p.message).includes('262144'));
    expect(s.find((e) => e.type === 'ssh.sftp.request' && e.payload.op === 'stat')?.payload).toMatchObject({ path: `${cwd}/gh-no-such-file` });
    expect(s.find((e) => e.type === 'ssh.sftp.error')?.payload).toMatchObject({ from: 'client' });
    expect(s.filter((e) => e.type === 'policy.denied').map((e) => e.payload.code)).toEqual(['ssh.sftp_path', 'ssh.sftp_path', 'ssh.sftp_path']);
    expect(s.find((e) => e.type === 'ssh.sftp.close')?.payload).toMatchObject({ path: file, closed: false });
  }, 60_000);

  it('copies a 50 MB file up and down with scp (SFTP mode) byte for byte; the gateway process grows far less than the file', async () => {
    const size = 50 * 1024 * 1024;
    const data = randomBytes(size);
    const src = join(work, 'big.bin');
    const dst = join(env.dir, 'big-up.bin');
    writeFileSync(src, data);
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const upR = await scp(src, `box@127.0.0.1:${dst}`);
    const downR = await scp(`box@127.0.0.1:${dst}`, join(work, 'big-down.bin'));
    clearInterval(sampler);
    expect(upR).toMatchObject({ code: 0 });
    expect(downR).toMatchObject({ code: 0 });
    expect(sha(readFileSync(dst))).toBe(sha(data));
    expect(sha(readFileSync(join(work, 'big-down.bin')))).toBe(sha(data));
    const up = await sessionWith('ssh.sftp.close', (p) => p.path === dst && p.bytesWritten === size);
    expect(up.find((e) => e.type === 'ssh.sftp.close')?.payload).toMatchObject({ sha256Written: sha(data) });
    const down = await sessionWith('ssh.sftp.close', (p) => p.path === dst && p.bytesRead === size);
    expect(down.find((e) => e.type === 'ssh.sftp.close' && e.payload.bytesRead === size)?.payload).toMatchObject({ sha256Read: sha(data) });
    // Loose bound: at most a packet per direction is held, the SSH windows bound the rest (both
    // ends' ciphers run in this process too).
    // Measured here: ~20 MB of growth for 50 MB each way, ~25 MB for 16 MB (garbage, not the file).
    expect(peak - before).toBeLessThan(40 * 1024 * 1024);
  }, 120_000);
});
