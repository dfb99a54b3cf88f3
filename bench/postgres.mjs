// PostgreSQL benchmark: pgbench (select-only and TPC-B-like, simple and extended protocol,
// 8 clients) side by side in one run against the server directly, pgbouncer in session mode, a
// bare Node TCP pipe (the floor for any Node proxy) and Gatehouse with statement recording.
// PostgreSQL and pgbench share CPU 0; every proxy runs alone on CPU 1.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, median, waitForPort, which } from './lib/proc.mjs';
import { chownTo, cleanupRegistry, freePorts, pgbench, runCommand, scramSecret, serverOwner, startCluster, startPgbouncer, startServer } from './lib/postgres.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const USER = 'bench';
const DATABASE = 'bench';
const SCENARIOS = [
  { name: 'select_simple', script: 'select', protocol: 'simple' },
  { name: 'select_extended', script: 'select', protocol: 'extended' },
  { name: 'tpcb_simple', script: 'tpcb', protocol: 'simple' },
  { name: 'tpcb_extended', script: 'tpcb', protocol: 'extended' },
];
// The Gatehouse row the headline ratios use: statement recording in buffered mode, plaintext on loopback.
const HEADLINE = 'gatehouse_buffered';
/** Issue 16: Gatehouse (buffered) at least 0.8× pgbouncer on every scenario. */
const TARGET = 0.8;

export function parseArgs(argv, env = process.env) {
  const opts = {
    seconds: Number(env.BENCH_PG_SECONDS ?? 10),
    rounds: Number(env.BENCH_PG_ROUNDS ?? 2),
    clients: Number(env.BENCH_PG_CLIENTS ?? 8),
    threads: Number(env.BENCH_PG_THREADS ?? 2),
    scale: Number(env.BENCH_PG_SCALE ?? 8),
    warmup: Number(env.BENCH_PG_WARMUP ?? 2),
    only: null,
    tls: false,
    write: true,
    build: false,
    pin: true,
    bundle: null,
    baseline: env.BENCH_BASELINE_BUNDLE ?? null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seconds' || a === '-T') opts.seconds = Number(argv[++i]);
    else if (a === '--rounds') opts.rounds = Number(argv[++i]);
    else if (a === '--clients' || a === '-c') opts.clients = Number(argv[++i]);
    else if (a === '--threads' || a === '-j') opts.threads = Number(argv[++i]);
    else if (a === '--scale' || a === '-s') opts.scale = Number(argv[++i]);
    else if (a === '--warmup') opts.warmup = Number(argv[++i]);
    else if (a === '--only') opts.only = argv[++i].split(',');
    else if (a === '--tls') opts.tls = true;
    else if (a === '--no-write') opts.write = false;
    else if (a === '--build') opts.build = true;
    else if (a === '--no-pin') opts.pin = false;
    else if (a === '--bundle') opts.bundle = argv[++i];
    else if (a === '--baseline') opts.baseline = argv[++i];
    else throw new Error(`unknown option ${a} (see bench/README.md)`);
  }
  for (const k of ['seconds', 'rounds', 'clients', 'threads', 'scale']) {
    if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new Error(`--${k} must be a positive integer`);
  }
  return opts;
}

/** socket.pipe both ways and nothing else: what any Node proxy costs before it does any work. */
const NODE_PIPE = `
const net = require('node:net');
const [port, upstreamPort] = process.argv.slice(2).map(Number);
net.createServer((c) => {
  c.setNoDelay(true);
  const u = net.connect(upstreamPort, '127.0.0.1');
  u.setNoDelay(true);
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
}).listen(port, '127.0.0.1');
`;

/** The generated gateway config: one postgres connection named by the database pgbench asks for. */
export function gatehouseConfig({ dir, ports, pgPort, mode, tls, logName }) {
  return `
mode: development
listeners:
  http: { address: 127.0.0.1, port: ${ports.http}, allowPlaintext: true }
  admin: { address: 127.0.0.1, port: ${ports.admin}, allowPlaintext: true }
  postgres: { address: 127.0.0.1, port: ${ports.postgres}${tls ? `, tls: { cert: ${dir}/tls.crt, key: ${dir}/tls.key }` : ', allowPlaintext: true'} }
identity:
  devIssuer: { enabled: true, keyPath: ${dir}/dev-issuer.json }
policy:
  cedar: |
    permit (principal in Gatehouse::Group::"developers", action, resource);
connections:
  - name: ${DATABASE}
    kind: postgres
    upstream: { host: 127.0.0.1, port: ${pgPort}, database: ${DATABASE}, user: ${USER}, password: "env:BENCH_PG_PASSWORD", tls: { mode: disable } }
recording:
  mode: ${mode}
  sink: { type: fs, path: ${dir}/log-${logName ?? `${mode}${tls ? '-tls' : ''}`} }
state:
  embeddedPath: memory
logging: { level: warn }
`;
}

/**
 * dist/gateway.mjs, built when missing or when `--build` is given. A bundle older than the
 * sources is only reported: rebuilding replaces dist/ under anyone else using it.
 */
async function ensureBundle(force) {
  const bundle = join(root, 'dist/gateway.mjs');
  if (!existsSync(bundle) || force) {
    process.stderr.write(`${force ? '--build' : 'dist/gateway.mjs missing'}: npm run build\n`);
    const r = await runCommand('npm', ['run', 'build', '--silent'], { cwd: root });
    if (r.code !== 0) throw new Error(`npm run build failed:\n${(r.stderr || r.stdout).slice(-2000)}`);
  } else if (statSync(bundle).mtimeMs < newestMtime(join(root, 'gateway/src'))) {
    process.stderr.write('note: dist/gateway.mjs is older than gateway/src (pass --build to rebuild it first)\n');
  }
  return bundle;
}

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function selfSignedCert(dir) {
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
}

/**
 * Starts one Gatehouse with the postgres listener, or returns `{ unavailable: reason }` when this
 * build has no PostgreSQL proxy (config refused, or the listener never opens).
 */
async function startGatehouse(args) {
  // A probed port can be taken before the gateway binds it (other processes share the machine): retry.
  let last;
  for (let attempt = 0; attempt < 3; attempt++) {
    last = await startGatehouseOnce(args);
    if (!last.unavailable || !/EADDRINUSE/.test(last.unavailable)) return last;
  }
  return last;
}

async function startGatehouseOnce({ bundle, name, dir, pgPort, mode, tls, password, registry, cpu }) {
  const [http, admin, postgres] = await freePorts(3);
  const ports = { http, admin, postgres };
  const cfg = join(dir, `${name ?? `gatehouse-${mode}${tls ? '-tls' : ''}`}.yaml`);
  writeFileSync(cfg, gatehouseConfig({ dir, ports, pgPort, mode, tls, logName: name }));
  const check = await runCommand(process.execPath, [bundle, 'check-config', cfg]);
  if (check.code !== 0) return { unavailable: `this build refuses a postgres listener/connection: ${firstLines(check.stderr || check.stdout)}` };
  const gw = registry.addProcess(startServer(process.execPath, [bundle, 'run', '--config', cfg], { cpu, env: { BENCH_PG_PASSWORD: password } }));
  // The gateway may exit early (port taken, bad config): stop waiting then, not at the timeout.
  const exited = new Promise((_, reject) => gw.child.once('exit', () => reject(new Error('exited'))));
  exited.catch(() => undefined);
  try {
    await Promise.race([waitForPort(ports.postgres, 60000), exited]);
  } catch {
    await gw.stop();
    return { unavailable: `the postgres listener did not open: ${failureLines(gw.stderr())}` };
  }
  return { port: ports.postgres, cfg, process: gw };
}

/** The gateway's own failure lines (errors, the CLI's last word), not its start-up warnings. */
function failureLines(stderr) {
  const lines = stderr.trim().split('\n').filter((l) => !/^\{"level":"(warn|info|debug)"/.test(l));
  return (lines.length ? lines.slice(-3).join(' | ') : 'no error output (timed out)').slice(0, 800);
}

function firstLines(s, n = 6) {
  return s.trim().split('\n').slice(0, n).join(' | ').slice(0, 600);
}

function gitHead() {
  const r = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function machineInfo(versions) {
  const c = cpus();
  return {
    cpu: c[0]?.model ?? 'unknown',
    cpus: c.length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    ...versions,
  };
}

/** Round r visits the targets forward, round r+1 backward: no target always runs first or last. */
export function orderFor(round, names) {
  return round % 2 === 0 ? [...names] : [...names].reverse();
}

/** Medians per scenario and target, targets listed in `order` (not in the order they happened to run). */
export function summarize(samples, order) {
  const runs = {};
  for (const [sc, byTarget] of Object.entries(samples)) {
    runs[sc] = {};
    const names = [...order.filter((n) => n in byTarget), ...Object.keys(byTarget).filter((n) => !order.includes(n))];
    for (const [name, rs] of names.map((n) => [n, byTarget[n]])) {
      if (rs.unavailable) { runs[sc][name] = { unavailable: rs.unavailable }; continue; }
      runs[sc][name] = {
        tps: round2(median(rs.map((r) => r.tps))),
        latency_ms: round3(median(rs.map((r) => r.latency_ms))),
        rounds: rs.length,
        tps_samples: rs.map((r) => round2(r.tps)),
      };
    }
  }
  return runs;
}

/** TPS of `a` ÷ TPS of `b` per scenario; null when either is missing. */
export function ratiosOf(runs, a, b) {
  const out = {};
  for (const sc of SCENARIOS.map((s) => s.name)) {
    const x = runs[sc]?.[a]?.tps;
    const y = runs[sc]?.[b]?.tps;
    out[sc] = x && y ? round3(x / y) : null;
  }
  return out;
}

const round2 = (x) => Math.round(x * 100) / 100;
const round3 = (x) => Math.round(x * 1000) / 1000;

export async function main(argv) {
  const opts = parseArgs(argv);
  if (!which('pgbench') && !existsSync('/usr/lib/postgresql')) throw new Error('PostgreSQL (initdb, postgres, pgbench) is required: apt-get install postgresql');
  const registry = cleanupRegistry();
  try {
    await run(opts, registry);
  } finally {
    await registry.stopAll();
  }
}

async function run(opts, registry) {
  // Servers and the client on one CPU set, the proxy under test alone on the other.
  const CPU_DB = opts.pin ? 0 : undefined;
  const CPU_PROXY = opts.pin ? 1 : undefined;
  const owner = serverOwner();
  const scratch = (() => { try { accessSync('/dev/shm', constants.W_OK); return '/dev/shm'; } catch { return tmpdir(); } })();
  const dir = registry.addDir(mkdtempSync(join(scratch, 'gh-bench-pg-')));
  chownTo(dir, owner);
  const password = `bench-${Math.random().toString(36).slice(2)}`;
  const loadAtStart = loadavg()[0];

  process.stderr.write(`cluster: initdb + start in ${dir}\n`);
  const pgPort = await freePort();
  const cluster = await startCluster({ dir, port: pgPort, cpu: CPU_DB, owner, user: USER, password, database: DATABASE });
  registry.addProcess(cluster.server);
  process.stderr.write(`pgbench -i -s ${opts.scale}\n`);
  const init = await runCommand(join(cluster.bin, 'pgbench'), ['-i', '-q', '-s', String(opts.scale), DATABASE], { env: cluster.env, cpu: CPU_DB });
  if (init.code !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);

  const bouncerDir = join(dir, 'pgbouncer');
  mkdirSync(bouncerDir);
  chownTo(bouncerDir, owner);
  const bouncerPort = await freePort();
  const bouncer = await startPgbouncer({ dir: bouncerDir, port: bouncerPort, upstreamPort: pgPort, database: DATABASE, user: USER, secret: await scramSecret(cluster, USER), poolSize: Math.max(8, opts.clients * 2), cpu: CPU_PROXY, owner });
  registry.addProcess(bouncer.server);
  await waitForPort(bouncerPort).catch(() => { throw new Error(`pgbouncer did not start: ${bouncer.server.stderr()}`); });

  const pipePort = await freePort();
  writeFileSync(join(dir, 'node-pipe.cjs'), NODE_PIPE);
  registry.addProcess(startServer(process.execPath, [join(dir, 'node-pipe.cjs'), String(pipePort), String(pgPort)], { cpu: CPU_PROXY }));
  await waitForPort(pipePort);

  const bundle = opts.bundle ?? await ensureBundle(opts.build);
  const targets = {
    direct: { port: pgPort, env: { PGPASSWORD: password } },
    pgbouncer: { port: bouncerPort, env: { PGPASSWORD: password } },
    node_pipe: { port: pipePort, env: { PGPASSWORD: password } },
  };
  const unavailable = {};
  const gatehouseRows = [
    { name: 'gatehouse_buffered', mode: 'buffered', tls: false },
    { name: 'gatehouse_strict', mode: 'strict', tls: false },
    ...(opts.tls ? [{ name: 'gatehouse_buffered_tls', mode: 'buffered', tls: true }] : []),
    // `--baseline <bundle>`: an earlier build measured in the same run, so a change's effect is a
    // ratio between two rows that saw the same machine, not between two runs.
    ...(opts.baseline ? [{ name: 'baseline_gatehouse_buffered', mode: 'buffered', tls: false, bundle: opts.baseline }] : []),
  ];
  if (opts.tls) selfSignedCert(dir);
  let token = null;
  for (const row of gatehouseRows) {
    const gw = await startGatehouse({ bundle: row.bundle ?? bundle, name: row.name, dir, pgPort, mode: row.mode, tls: row.tls, password, registry, cpu: CPU_PROXY });
    if (gw.unavailable) { unavailable[row.name] = gw.unavailable; continue; }
    token ??= (await runCommand(process.execPath, [bundle, 'token', '--dev', '--sub', 'bench', '--groups', 'developers', '--ttl', '86400', '--config', gw.cfg])).stdout.trim();
    if (!token) throw new Error('could not mint a development token with the bundle');
    // The password is the caller's OIDC token; the user name is informational.
    targets[row.name] = { port: gw.port, env: { PGPASSWORD: token, ...(row.tls ? { PGSSLMODE: 'require' } : { PGSSLMODE: 'disable' }) } };
  }
  for (const [name, why] of Object.entries(unavailable)) process.stderr.write(`${name}: unavailable (${why})\n`);

  const names = Object.keys(targets).filter((n) => !opts.only || opts.only.includes(n) || n === 'pgbouncer' || n === 'direct');
  const scenarios = SCENARIOS;
  const common = { user: USER, database: DATABASE, clients: opts.clients, threads: opts.threads };
  const resetTpcb = () => cluster.psql(['vacuum pgbench_branches', 'vacuum pgbench_tellers', 'truncate pgbench_history'], DATABASE);

  // Warm-up: connection pools, JIT and caches, one short run per target and script.
  for (const name of names) {
    for (const script of ['select', 'tpcb']) {
      try {
        await pgbench(cluster.bin, { ...common, port: targets[name].port, script, protocol: 'simple', seconds: opts.warmup }, { cpu: CPU_DB, env: targets[name].env });
      } catch (e) {
        if (!name.startsWith('gatehouse') && !name.startsWith('baseline')) throw e;
        unavailable[name] = `warm-up failed: ${firstLines(e.message)}`;
        process.stderr.write(`${name}: warm-up failed, leaving it out: ${firstLines(e.message)}\n`);
        break;
      }
    }
  }
  const measured = names.filter((n) => !unavailable[n]);

  const samples = {};
  for (let r = 0; r < opts.rounds; r++) {
    for (const sc of scenarios) {
      for (const name of orderFor(r + SCENARIOS.indexOf(sc), measured)) {
        if (sc.script === 'tpcb') await resetTpcb();
        const res = await pgbench(cluster.bin, { ...common, port: targets[name].port, script: sc.script, protocol: sc.protocol, seconds: opts.seconds }, { cpu: CPU_DB, env: targets[name].env });
        ((samples[sc.name] ??= {})[name] ??= []).push(res);
        process.stderr.write(`round ${r + 1} ${sc.name.padEnd(16)} ${name.padEnd(28)} ${res.tps.toFixed(0).padStart(7)} tps  latency ${res.latency_ms.toFixed(3)} ms\n`);
      }
    }
  }
  for (const sc of scenarios) for (const [name, why] of Object.entries(unavailable)) (samples[sc.name] ??= {})[name] = { unavailable: why };

  const runs = summarize(samples, [...Object.keys(targets), ...gatehouseRows.map((g) => g.name)]);
  const ratios = ratiosOf(runs, HEADLINE, 'pgbouncer');
  const result = {
    benchmark: 'postgres',
    date: new Date().toISOString(),
    setup: {
      seconds: opts.seconds,
      rounds: opts.rounds,
      statistic: `median of ${opts.rounds} rounds; targets alternate order every scenario and round`,
      warmup_seconds: opts.warmup,
      clients: opts.clients,
      threads: opts.threads,
      scale: opts.scale,
      cpus: opts.pin ? 'postgres and pgbench on cpu 0; each proxy on cpu 1' : 'not pinned (--no-pin)',
      server: 'PostgreSQL on 127.0.0.1, scram-sha-256, fsync/synchronous_commit/full_page_writes off (the same server behind every target)',
      pgbouncer: `session mode, pool size ${Math.max(8, opts.clients * 2)}, SCRAM passthrough from a userlist`,
      gatehouse: 'dev issuer token as the password, one Cedar permit policy, brokered SCRAM credential upstream, fs log, embedded state in memory; plaintext listener on loopback unless the row says _tls',
      headline: `${HEADLINE} TPS / pgbouncer TPS`,
      gatehouse_commit: gitHead(),
    },
    runs,
    ratios,
    ratios_vs_direct: {
      pgbouncer: ratiosOf(runs, 'pgbouncer', 'direct'),
      node_pipe: ratiosOf(runs, 'node_pipe', 'direct'),
      ...Object.fromEntries(gatehouseRows.map((g) => [g.name, ratiosOf(runs, g.name, 'direct')])),
    },
    ratios_vs_pgbouncer: {
      node_pipe: ratiosOf(runs, 'node_pipe', 'pgbouncer'),
      ...Object.fromEntries(gatehouseRows.map((g) => [g.name, ratiosOf(runs, g.name, 'pgbouncer')])),
    },
    ...(opts.baseline ? { ratios_vs_baseline: { gatehouse_buffered: ratiosOf(runs, HEADLINE, 'baseline_gatehouse_buffered') }, baseline_bundle: opts.baseline } : {}),
    target: { ratio_vs_pgbouncer: TARGET, met: Object.values(ratios).every((v) => v !== null && v >= TARGET) },
    machine: machineInfo({ load_average_1m: { start: round2(loadAtStart), end: round2(loadavg()[0]) }, postgres: cluster.version, pgbouncer: bouncer.version, pgbench: spawnSync(join(cluster.bin, 'pgbench'), ['--version'], { encoding: 'utf8' }).stdout.trim() }),
  };
  if (Object.keys(unavailable).length) result.unavailable = unavailable;

  printTable(runs, result);
  if (opts.write) {
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    writeFileSync(join(root, 'bench/results/postgres.json'), JSON.stringify(result, null, 2) + '\n');
    console.log('\nwrote bench/results/postgres.json');
  }
  return result;
}

function printTable(runs, result) {
  const fmt = (v) => (v === null || v === undefined ? '   -  ' : v.toFixed(3).padStart(6));
  console.log(`\n${'scenario'.padEnd(16)} ${'target'.padEnd(28)} ${'tps'.padStart(9)} ${'lat ms'.padStart(8)}  ${'÷pgbouncer'.padStart(10)} ${'÷direct'.padStart(8)}`);
  for (const [sc, byTarget] of Object.entries(runs)) {
    for (const [name, r] of Object.entries(byTarget)) {
      if (r.unavailable) { console.log(`${sc.padEnd(16)} ${name.padEnd(28)} unavailable`); continue; }
      const vsB = runs[sc].pgbouncer?.tps ? r.tps / runs[sc].pgbouncer.tps : null;
      const vsD = runs[sc].direct?.tps ? r.tps / runs[sc].direct.tps : null;
      console.log(`${sc.padEnd(16)} ${name.padEnd(28)} ${r.tps.toFixed(0).padStart(9)} ${r.latency_ms.toFixed(3).padStart(8)}  ${fmt(vsB).padStart(10)} ${fmt(vsD).padStart(8)}`);
    }
  }
  console.log(`\nratios (${result.setup.headline}; target ≥ ${TARGET}):`);
  for (const [k, v] of Object.entries(result.ratios)) console.log(`  ${k.padEnd(16)} ${v ?? 'unavailable'}`);
  if (result.ratios_vs_baseline) {
    console.log(`\ngatehouse_buffered ÷ baseline_gatehouse_buffered (${result.baseline_bundle}):`);
    for (const [k, v] of Object.entries(result.ratios_vs_baseline.gatehouse_buffered)) console.log(`  ${k.padEnd(16)} ${v ?? 'unavailable'}`);
  }
}
