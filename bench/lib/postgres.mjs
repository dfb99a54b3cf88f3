// PostgreSQL benchmark helpers: a throwaway cluster, pgbouncer, pgbench runs and their parsing,
// and a cleanup registry that stops everything on exit and on Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { which } from './proc.mjs';

/**
 * `n` distinct free loopback ports. Each probe stays bound until all are picked, so the same port
 * is never handed out twice (freePort() alone may return a port it just released).
 */
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      await new Promise((resolve, reject) => { s.once('error', reject); s.listen(0, '127.0.0.1', resolve); });
      servers.push(s);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** Newest /usr/lib/postgresql/<v>/bin (or $GATEHOUSE_PG_BIN). */
export function pgBinDir() {
  const fromEnv = process.env.GATEHOUSE_PG_BIN;
  if (fromEnv && existsSync(join(fromEnv, 'postgres'))) return fromEnv;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL binaries not found: apt-get install postgresql (or set GATEHOUSE_PG_BIN)');
  return join(base, versions[0], 'bin');
}

/**
 * PostgreSQL and pgbouncer both refuse to run as root. As root, they run as `postgres` (or
 * `nobody`); otherwise as the current user (undefined).
 */
export function serverOwner() {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'));
  for (const name of ['postgres', 'nobody']) {
    const e = passwd.find((f) => f[0] === name);
    if (e) return { name, uid: Number(e[2]), gid: Number(e[3]) };
  }
  throw new Error('running as root, but neither a "postgres" nor a "nobody" user exists to run the servers as');
}

export function chownTo(path, owner) {
  if (owner) chownSync(path, owner.uid, owner.gid);
}

/**
 * Everything the benchmark started, stopped in reverse order by `stopAll()`. A Ctrl-C or SIGTERM
 * stops them too (and removes the temp dirs) before the process exits; a plain `exit` SIGKILLs
 * whatever is left so no server outlives the run.
 */
export function cleanupRegistry() {
  const procs = [];
  const dirs = [];
  let stopping;
  const stopAll = () => {
    stopping ??= (async () => {
      for (const p of [...procs].reverse()) await p.stop().catch(() => undefined);
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('exit', onExit);
    })();
    return stopping;
  };
  const onSignal = (sig) => {
    process.stderr.write(`\n${sig}: stopping benchmark servers and removing temp dirs\n`);
    stopAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  const onExit = () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  return {
    addProcess: (p) => { procs.push(p); return p; },
    addDir: (d) => { dirs.push(d); return d; },
    stopAll,
  };
}

/**
 * Starts a long-running server, pinned to `cpu` with taskset when available (taskset execs, so the
 * pid is the server's), optionally as another user. `stop()` sends `stopSignal` and SIGKILLs after 10 s.
 */
export function startServer(cmd, args, { cpu, owner, env, cwd, stopSignal = 'SIGTERM' } = {}) {
  const pinned = cpu !== undefined && which('taskset');
  const [file, argv] = pinned ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
  // A detached process group keeps the terminal's Ctrl-C away from the servers: the registry
  // stops them in order (pgbouncer before PostgreSQL) instead of all at once.
  const child = spawn(file, argv, { env: { ...process.env, ...env }, cwd, uid: owner?.uid, gid: owner?.gid, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-8000); });
  return {
    child,
    stderr: () => stderr,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill(stopSignal);
      const t = setTimeout(() => child.kill('SIGKILL'), 10000);
      await gone;
      clearTimeout(t);
    },
  };
}

/** Runs a command to completion without blocking the event loop (so Ctrl-C is handled). */
export function runCommand(cmd, args, { cpu, env, owner, cwd, timeoutMs = 600000 } = {}) {
  const pinned = cpu !== undefined && which('taskset');
  const [file, argv] = pinned ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { env: { ...process.env, ...env }, cwd, uid: owner?.uid, gid: owner?.gid, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => { clearTimeout(timer); reject(e); });
    child.once('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

async function runOk(cmd, args, opts) {
  const r = await runCommand(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code ?? r.signal}): ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  return r;
}

/**
 * initdb a cluster with scram-sha-256 for every host and local connection and `user` as its
 * superuser (password `password`), then start it on 127.0.0.1:`port`.
 *
 * Durability is switched off (fsync, synchronous_commit, full_page_writes): the benchmark compares
 * proxies in front of one and the same server, and a tmpfs-speed database leaves more of the
 * difference to the proxies.
 */
export async function startCluster({ dir, port, cpu, owner, user, password, database, settings = {}, reuse = false }) {
  const bin = pgBinDir();
  const data = join(dir, 'pgdata');
  const sock = join(dir, 'pgsock');
  const pwfile = join(dir, 'pwfile');
  spawnSync('mkdir', ['-p', sock]);
  chownTo(sock, owner);
  // `reuse`: a cluster this function made earlier in `dir` (same user and password) starts as it is.
  const existing = reuse && existsSync(join(data, 'PG_VERSION'));
  if (!existing) {
    writeFileSync(pwfile, password + '\n', { mode: 0o600 });
    chownTo(pwfile, owner);
    await runOk(join(bin, 'initdb'), ['-D', data, '-U', user, '--auth=scram-sha-256', `--pwfile=${pwfile}`, '--no-sync', '-E', 'UTF8', '--locale=C', '--no-instructions'], { owner, cwd: dir });
    rmSync(pwfile);
  }
  const all = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: sock,
    password_encryption: 'scram-sha-256',
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '100',
    shared_buffers: '128MB',
    dynamic_shared_memory_type: 'mmap',
    logging_collector: 'off',
    log_min_messages: 'warning',
    ...settings,
  };
  const args = ['-D', data, '-p', String(port), ...Object.entries(all).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  // SIGINT = fast shutdown: no waiting for clients (pgbouncer's pooled connections) to leave.
  const server = startServer(join(bin, 'postgres'), args, { cpu, owner, cwd: dir, stopSignal: 'SIGINT' });
  const env = { PGPASSWORD: password, PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: user };
  // Each statement its own -c: psql runs them one by one (VACUUM refuses a transaction block).
  const psql = (sql, db = 'postgres') => runOk(join(bin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-d', db, ...[sql].flat().flatMap((s) => ['-c', s])], { env });
  const until = Date.now() + 30000;
  for (;;) {
    if (server.exited()) throw new Error(`postgres exited during start: ${server.stderr().trim()}`);
    const r = await runCommand(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']);
    if (r.code === 0) break;
    if (Date.now() > until) throw new Error(`postgres did not accept connections within 30 s: ${server.stderr().trim()}`);
    await new Promise((r2) => setTimeout(r2, 100));
  }
  if (!existing) await psql(`create database ${database}`);
  const version = (await psql('show server_version')).stdout.trim();
  return { server, bin, env, psql, version, port, user, database };
}

/** The SCRAM verifier PostgreSQL stores for `user` (pgbouncer's userlist takes it as is). */
export async function scramSecret(cluster, user) {
  const r = await cluster.psql(`select rolpassword from pg_authid where rolname = '${user}'`);
  const secret = r.stdout.trim();
  if (!secret.startsWith('SCRAM-SHA-256$')) throw new Error(`expected a SCRAM verifier for ${user}`);
  return secret;
}

/** pgbouncer.ini for one database in session mode, SCRAM from a userlist, logs quiet. */
export function pgbouncerIni({ dir, port, upstreamPort, database, poolSize }) {
  return `[databases]
${database} = host=127.0.0.1 port=${upstreamPort} dbname=${database}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = ${join(dir, 'userlist.txt')}
pool_mode = session
default_pool_size = ${poolSize}
min_pool_size = 0
max_client_conn = 200
logfile = ${join(dir, 'pgbouncer.log')}
log_connections = 0
log_disconnections = 0
log_pooler_errors = 1
stats_period = 3600
`;
}

/** Starts pgbouncer (session mode) in front of `upstreamPort`; SCRAM passes through to the server. */
export async function startPgbouncer({ dir, port, upstreamPort, database, user, secret, poolSize = 16, cpu, owner }) {
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(ini, pgbouncerIni({ dir, port, upstreamPort, database, poolSize }));
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" "${secret}"\n`, { mode: 0o600 });
  for (const f of ['pgbouncer.ini', 'userlist.txt']) chownTo(join(dir, f), owner);
  const exe = which('pgbouncer') ?? (existsSync('/usr/sbin/pgbouncer') ? '/usr/sbin/pgbouncer' : null);
  if (!exe) throw new Error('pgbouncer is required (apt-get install pgbouncer)');
  const version = /PgBouncer ([\d.]+)/.exec(spawnSync(exe, ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown';
  // SIGINT: "safe shutdown" would wait for session-mode clients; SIGTERM exits at once.
  return { server: startServer(exe, [ini], { cpu, owner, cwd: dir, stopSignal: 'SIGTERM' }), version };
}

/**
 * Parses pgbench's summary: TPS without connection time, average latency (ms), processed and
 * failed transaction counts. Throws when the run aborted or the summary is missing.
 */
export function parsePgbench(out) {
  if (/Run was aborted/.test(out)) throw new Error(`pgbench run aborted:\n${out.trim().slice(-2000)}`);
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1]);
  const latency = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1]);
  const processed = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1]);
  const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0);
  const connectMs = Number(/initial connection time = ([\d.]+) ms/.exec(out)?.[1]);
  if (!Number.isFinite(tps) || !Number.isFinite(latency)) throw new Error(`could not parse pgbench output:\n${out.trim().slice(-2000)}`);
  return { tps, latency_ms: latency, processed, failed, connect_ms: connectMs };
}

/** pgbench arguments for one measured run (the client side is identical for every target). */
export function pgbenchArgs({ port, user, database, script, protocol, clients, threads, seconds }) {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-U', user, '-c', String(clients), '-j', String(threads), '-T', String(seconds), '-M', protocol, '-n'];
  if (script === 'select') args.push('-S');
  else if (script !== 'tpcb') throw new Error(`unknown pgbench script "${script}"`);
  args.push(database);
  return args;
}

/** Runs pgbench once and returns its parsed summary; failed transactions are an error. */
export async function pgbench(bin, options, { cpu, env }) {
  const r = await runCommand(join(bin, 'pgbench'), pgbenchArgs(options), { cpu, env: { PGCONNECT_TIMEOUT: '10', ...env }, timeoutMs: (options.seconds + 60) * 1000 });
  const out = `${r.stdout}\n${r.stderr}`;
  if (r.code !== 0) throw new Error(`pgbench exited ${r.code ?? r.signal}:\n${out.trim().slice(-2000)}`);
  const parsed = parsePgbench(out);
  if (parsed.failed > 0) throw new Error(`pgbench: ${parsed.failed} failed transactions`);
  return parsed;
}
