// SSH benchmark: the throughput of a large scp (upload and download) and the latency of many small
// exec sessions (Ansible-style: one connection each), against Debian's OpenSSH server directly,
// through an OpenSSH jump host (`ssh -J`, the peer: a second sshd forwarding the TCP stream), and
// through Gatehouse (an `ssh` connection; `gatehouse ssh-key` key and certificate, buffered
// recording). Each transfer runs twice: `scp -O` (the exec-based protocol; Gatehouse parses the SCP
// stream into file records, hashing the bytes and keeping the first ones up to the cap) and plain
// `scp` (SFTP, OpenSSH 9's default; Gatehouse parses and judges each file operation, counts and
// hashes the bytes, keeps the first ones up to the cap). Targets alternate within each round.
// Writes bench/results/ssh.json.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, median, startProcess, waitForPort } from './lib/proc.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const opts = { mb: 200, execs: 50, rounds: 3 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--mb') opts.mb = Number(argv[++i]);
    else if (argv[i] === '--execs') opts.execs = Number(argv[++i]);
    else if (argv[i] === '--rounds') opts.rounds = Number(argv[++i]);
    else throw new Error(`unknown option ${argv[i]} (--mb N --execs N --rounds N)`);
  }
  return opts;
}

const keygen = (dir, name) => {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path]);
  return { path, pub: readFileSync(`${path}.pub`, 'utf8').trim() };
};

/** An unprivileged sshd on loopback accepting `authorized` keys (forwarding on, for the jump host). */
async function startSshd(dir, name, authorized) {
  const host = keygen(dir, `${name}-host`);
  const keys = join(dir, `${name}-authorized_keys`);
  writeFileSync(keys, authorized.join('\n') + '\n', { mode: 0o600 });
  const port = await freePort();
  const config = join(dir, `${name}-sshd_config`);
  writeFileSync(config, [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${host.path}`, `PidFile ${join(dir, `${name}.pid`)}`, `AuthorizedKeysFile ${keys}`, 'StrictModes no', 'UsePAM no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'AllowTcpForwarding yes', 'Subsystem sftp internal-sftp', 'LogLevel ERROR', ''].join('\n'));
  const proc = startProcess('/usr/sbin/sshd', ['-f', config, '-D', '-e']);
  await waitForPort(port);
  return { port, host, proc };
}

function gatehouseConfig(dir, ports, target) {
  return `
mode: development
listeners:
  http: { address: 127.0.0.1, port: ${ports.http}, allowPlaintext: true }
  admin: { address: 127.0.0.1, port: ${ports.admin}, allowPlaintext: true }
  ssh: { address: 127.0.0.1, port: ${ports.ssh}, hostKey: "file:${ports.hostKey}", userCaKey: "file:${ports.userCa}" }
identity:
  devIssuer: { enabled: true, keyPath: ${dir}/dev-issuer.json }
policy:
  cedar: |
    permit (principal in Gatehouse::Group::"developers", action, resource);
connections:
  - name: bench
    kind: ssh
    upstream: { host: 127.0.0.1, port: ${target.port}, user: ${userInfo().username}, privateKey: "file:${target.broker}", hostKey: "${target.hostKey}" }
recording:
  mode: buffered
  sink: { type: fs, path: ${dir}/log }
state:
  embeddedPath: memory
logging: { level: warn }
`;
}

/** Starts Gatehouse with an ssh connection and registers a key with `gatehouse ssh-key`, or says why it cannot. */
async function startGatehouse(dir, target) {
  const bundle = join(root, 'dist/gateway.mjs');
  if (!existsSync(bundle)) return { missing: 'dist/gateway.mjs is not built (npm run build)' };
  const hostKey = keygen(dir, 'gatehouse-host');
  const userCa = keygen(dir, 'gatehouse-user-ca');
  const ports = { http: await freePort(), admin: await freePort(), ssh: await freePort(), hostKey: hostKey.path, userCa: userCa.path };
  const cfg = join(dir, 'gatehouse.yaml');
  writeFileSync(cfg, gatehouseConfig(dir, ports, target));
  const gw = startProcess(process.execPath, [bundle, 'run', '--config', cfg]);
  try {
    await waitForPort(ports.ssh, 30000);
  } catch {
    await gw.stop();
    return { missing: `gatehouse did not start: ${gw.stderr()}` };
  }
  const token = execFileSync(process.execPath, [bundle, 'token', '--dev', '--sub', 'bench', '--groups', 'developers', '--ttl', '7200', '--config', cfg], { encoding: 'utf8' }).trim();
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey.path}.pub`], { encoding: 'utf8' }).split(' ')[1];
  const key = join(dir, 'gatehouse-client');
  execFileSync(process.execPath, [bundle, 'ssh-key', '--ssh', `127.0.0.1:${ports.ssh}`, '--fingerprint', fingerprint, '--token-env', 'BENCH_TOKEN', '--out', key], { env: { ...process.env, BENCH_TOKEN: token }, encoding: 'utf8' });
  return { proc: gw, port: ports.ssh, key, knownHosts: `${key}.known_hosts` };
}

const COMMON = ['-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR', '-F', '/dev/null'];

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${stderr}`))));
  });
}

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function main(argv) {
  const opts = parseArgs(argv);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-ssh-'));
  const stops = [];
  try {
    const client = keygen(dir, 'client');
    const broker = keygen(dir, 'broker');
    const target = await startSshd(dir, 'target', [client.pub, broker.pub]);
    stops.push(target.proc);
    const jump = await startSshd(dir, 'jump', [client.pub]);
    stops.push(jump.proc);
    const user = userInfo().username;
    const gatehouse = await startGatehouse(dir, { port: target.port, broker: broker.path, hostKey: target.host.pub.split(' ').slice(0, 2).join(' ') });
    if (gatehouse.proc) stops.push(gatehouse.proc);
    else process.stderr.write(`Gatehouse: MISSING from this run (${gatehouse.missing}); measuring direct and jump only\n`);

    const file = join(dir, 'payload.bin');
    await new Promise((resolve, reject) => {
      const out = createWriteStream(file);
      let left = opts.mb;
      const more = () => {
        while (left > 0) {
          left--;
          if (!out.write(randomBytes(1 << 20))) return out.once('drain', more);
        }
        out.end(resolve);
      };
      out.on('error', reject);
      more();
    });
    const bytes = statSync(file).size;
    const loose = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'];
    // How each target is reached: [scp args, ssh args, remote user].
    const targets = {
      direct: { scp: ['-P', String(target.port), '-i', client.path, ...loose], ssh: ['-p', String(target.port), '-i', client.path, ...loose], user },
      jump: {
        scp: ['-P', String(target.port), '-i', client.path, ...loose, '-o', `ProxyCommand=ssh ${[...COMMON, '-i', client.path, ...loose, '-p', String(jump.port), '-W', '%h:%p', `${user}@127.0.0.1`].join(' ')}`],
        ssh: ['-p', String(target.port), '-i', client.path, ...loose, '-o', `ProxyCommand=ssh ${[...COMMON, '-i', client.path, ...loose, '-p', String(jump.port), '-W', '%h:%p', `${user}@127.0.0.1`].join(' ')}`],
        user,
      },
      ...(gatehouse.proc
        ? { gatehouse: { scp: ['-P', String(gatehouse.port), '-i', gatehouse.key, '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${gatehouse.knownHosts}`], ssh: ['-p', String(gatehouse.port), '-i', gatehouse.key, '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${gatehouse.knownHosts}`], user: 'bench' } }
        : {}),
    };
    const names = Object.keys(targets);
    const samples = Object.fromEntries(names.map((n) => [n, { upload_mb_s: [], download_mb_s: [], sftp_upload_mb_s: [], sftp_download_mb_s: [], exec_ms: [] }]));
    for (let r = 0; r < opts.rounds; r++) {
      for (const n of r % 2 === 0 ? names : [...names].reverse()) {
        const t = targets[n];
        const remote = join(dir, `remote-${n}.bin`);
        const up = await timed(() => run('scp', ['-O', '-q', ...COMMON, ...t.scp, file, `${t.user}@127.0.0.1:${remote}`]));
        const back = join(dir, `back-${n}.bin`);
        const down = await timed(() => run('scp', ['-O', '-q', ...COMMON, ...t.scp, `${t.user}@127.0.0.1:${remote}`, back]));
        if (statSync(back).size !== bytes) throw new Error(`${n}: the downloaded copy has ${statSync(back).size} bytes, not ${bytes}`);
        rmSync(back);
        rmSync(remote);
        samples[n].upload_mb_s.push(bytes / 1e6 / up);
        samples[n].download_mb_s.push(bytes / 1e6 / down);
        const sftpUp = await timed(() => run('scp', ['-q', ...COMMON, ...t.scp, file, `${t.user}@127.0.0.1:${remote}`]));
        const sftpDown = await timed(() => run('scp', ['-q', ...COMMON, ...t.scp, `${t.user}@127.0.0.1:${remote}`, back]));
        if (statSync(back).size !== bytes) throw new Error(`${n}: the SFTP download has ${statSync(back).size} bytes, not ${bytes}`);
        rmSync(back);
        rmSync(remote);
        samples[n].sftp_upload_mb_s.push(bytes / 1e6 / sftpUp);
        samples[n].sftp_download_mb_s.push(bytes / 1e6 / sftpDown);
        const per = [];
        for (let i = 0; i < opts.execs; i++) per.push((await timed(() => run('ssh', [...COMMON, ...t.ssh, '-l', t.user, '127.0.0.1', 'true']))) * 1000);
        samples[n].exec_ms.push(median(per));
      }
    }
    const figures = Object.fromEntries(names.map((n) => [n, Object.fromEntries(Object.entries(samples[n]).map(([k, v]) => [k, Number(median(v).toFixed(2))]))]));
    const ratio = (a, b, k) => Number(median(samples[a][k].map((x, i) => x / samples[b][k][i])).toFixed(3));
    const ratios = {};
    for (const peer of ['direct', 'jump']) {
      if (!targets.gatehouse) break;
      for (const k of ['upload_mb_s', 'download_mb_s', 'sftp_upload_mb_s', 'sftp_download_mb_s', 'exec_ms']) ratios[`${k}:gatehouse/${peer}`] = ratio('gatehouse', peer, k);
    }
    for (const k of ['upload_mb_s', 'download_mb_s', 'sftp_upload_mb_s', 'sftp_download_mb_s', 'exec_ms']) ratios[`${k}:jump/direct`] = ratio('jump', 'direct', k);
    const result = { bench: 'ssh', at: new Date().toISOString(), options: opts, bytes, figures, ratios, gatehouse: gatehouse.proc ? 'measured' : `missing: ${gatehouse.missing}` };
    console.log(JSON.stringify(result, null, 2));
    writeFileSync(join(root, 'bench/results/ssh.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const s of stops.reverse()) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
