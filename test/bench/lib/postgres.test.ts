import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error plain ESM benchmark helpers, no type declarations
import { chownTo, cleanupRegistry, parsePgbench, pgbench, pgbenchArgs, pgbouncerIni, scramSecret, serverOwner, startCluster, startPgbouncer } from '../../../bench/lib/postgres.mjs';
// @ts-expect-error plain ESM benchmark helpers, no type declarations
import { freePort, waitForPort } from '../../../bench/lib/proc.mjs';

// pgbench 15's summary, as printed after `pgbench -S -M extended -c 8 -j 2 -T 10`.
const PGBENCH_OUTPUT = `pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: <builtin: select only>
scaling factor: 8
query mode: extended
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 47123
number of failed transactions: 0 (0.000%)
latency average = 1.697 ms
initial connection time = 12.345 ms
tps = 4712.345678 (without initial connection time)
`;

describe('parsePgbench', () => {
  it('reads TPS without connection time, average latency and transaction counts', () => {
    expect(parsePgbench(PGBENCH_OUTPUT)).toEqual({ tps: 4712.345678, latency_ms: 1.697, processed: 47123, failed: 0, connect_ms: 12.345 });
  });

  it('refuses an aborted run instead of reporting its partial figures', () => {
    expect(() => parsePgbench(`${PGBENCH_OUTPUT}Run was aborted; the above results are incomplete.\n`)).toThrow(/aborted/);
  });

  it('refuses output without a summary', () => {
    expect(() => parsePgbench('pgbench: error: connection to server failed')).toThrow(/could not parse/);
  });
});

describe('pgbenchArgs', () => {
  const base = { port: 5433, user: 'bench', database: 'bench', clients: 8, threads: 2, seconds: 10 };

  it('select-only adds -S; both scripts skip pgbench vacuum (-n) and set the protocol', () => {
    expect(pgbenchArgs({ ...base, script: 'select', protocol: 'extended' })).toEqual(['-h', '127.0.0.1', '-p', '5433', '-U', 'bench', '-c', '8', '-j', '2', '-T', '10', '-M', 'extended', '-n', '-S', 'bench']);
    expect(pgbenchArgs({ ...base, script: 'tpcb', protocol: 'simple' })).not.toContain('-S');
  });

  it('rejects an unknown script', () => {
    expect(() => pgbenchArgs({ ...base, script: 'nope', protocol: 'simple' })).toThrow(/unknown pgbench script/);
  });
});

describe('pgbouncerIni', () => {
  it('configures session pooling with SCRAM from the userlist', () => {
    const ini = pgbouncerIni({ dir: '/x', port: 6432, upstreamPort: 5433, database: 'bench', poolSize: 16 });
    expect(ini).toMatch(/^bench = host=127\.0\.0\.1 port=5433 dbname=bench$/m);
    expect(ini).toMatch(/^pool_mode = session$/m);
    expect(ini).toMatch(/^auth_type = scram-sha-256$/m);
    expect(ini).toMatch(/^auth_file = \/x\/userlist\.txt$/m);
    expect(ini).toMatch(/^default_pool_size = 16$/m);
  });
});

// The real pieces the benchmark stands on: a scram-sha-256 cluster, pgbouncer passing SCRAM
// through with the server's verifier, and a parsed pgbench run through it.
describe('cluster, pgbouncer and pgbench together', () => {
  let registry: { addProcess: (p: unknown) => unknown; addDir: (d: string) => string; stopAll: () => Promise<void> };
  let dir: string;

  beforeAll(() => {
    registry = cleanupRegistry();
    dir = registry.addDir(mkdtempSync(join(tmpdir(), 'gh-bench-pg-test-')));
  });
  afterAll(async () => {
    await registry.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs pgbench select-only through pgbouncer in session mode with SCRAM passthrough', async () => {
    const owner = serverOwner();
    chownTo(dir, owner);
    const port = await freePort();
    const cluster = await startCluster({ dir, port, owner, user: 'bench', password: 'pw-1', database: 'bench' });
    registry.addProcess(cluster.server);
    const init = await cluster.psql(['create table pgbench_accounts (aid int primary key, bid int, abalance int, filler char(84))', 'create table pgbench_branches (bid int primary key, bbalance int, filler char(88))', 'insert into pgbench_branches values (1, 0, null)', 'insert into pgbench_accounts select g, 1, 0, null from generate_series(1, 1000) g'], 'bench');
    expect(init.code).toBe(0);

    const secret = await scramSecret(cluster, 'bench');
    expect(secret).toMatch(/^SCRAM-SHA-256\$/);
    const bouncerDir = join(dir, 'pgbouncer');
    mkdirSync(bouncerDir);
    chownTo(bouncerDir, owner);
    const bouncerPort = await freePort();
    const bouncer = await startPgbouncer({ dir: bouncerDir, port: bouncerPort, upstreamPort: port, database: 'bench', user: 'bench', secret, owner });
    registry.addProcess(bouncer.server);
    await waitForPort(bouncerPort);

    const run = await pgbench(cluster.bin, { port: bouncerPort, user: 'bench', database: 'bench', script: 'select', protocol: 'simple', clients: 2, threads: 1, seconds: 1 }, { env: { PGPASSWORD: 'pw-1' } });
    expect(run.tps).toBeGreaterThan(0);
    expect(run.failed).toBe(0);

    // A wrong password is refused by pgbouncer, and pgbench's failure surfaces as an error.
    await expect(pgbench(cluster.bin, { port: bouncerPort, user: 'bench', database: 'bench', script: 'select', protocol: 'simple', clients: 1, threads: 1, seconds: 1 }, { env: { PGPASSWORD: 'wrong' } })).rejects.toThrow(/pgbench exited/);
  }, 60000);
});
