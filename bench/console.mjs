// Console search benchmark (issue 18): the session index at 100,000 sessions and 10,000,000
// events in a real PostgreSQL 15, generated server-side (generate_series, INSERT ... SELECT), then
// p50/p95 page times of SqlSessionSearch (the console's one query) for each filter alone, combined,
// and full text; first page and a deep page reached by cursor. Then the same on embedded PGlite at
// a smaller scale. Writes bench/results/console-<date>.md.
//   npm run bench -- console [--sessions 100000] [--events 10000000] [--samples 30]
//                            [--pglite-sessions 10000] [--pglite-events 1000000] [--no-pglite]
//                            [--keep DIR]
// --keep DIR keeps the PostgreSQL cluster in DIR and reuses it on the next run with the same
// --sessions/--events (generation is skipped; the index's pending migrations still run on it,
// as they would on an upgraded gateway's database). Remove DIR to start over.
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, existsSync, accessSync, constants } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { freePort } from './lib/proc.mjs';
import { chownTo, cleanupRegistry, serverOwner, startCluster } from './lib/postgres.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function parseArgs(argv) {
  const opts = { sessions: 100000, events: 10000000, samples: 30, pgliteSessions: 10000, pgliteEvents: 1000000, pglite: true, pageSize: 50, deepPages: 20, keep: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--sessions') opts.sessions = Number(argv[++i]);
    else if (a === '--events') opts.events = Number(argv[++i]);
    else if (a === '--samples') opts.samples = Number(argv[++i]);
    else if (a === '--pglite-sessions') opts.pgliteSessions = Number(argv[++i]);
    else if (a === '--pglite-events') opts.pgliteEvents = Number(argv[++i]);
    else if (a === '--no-pglite') opts.pglite = false;
    else if (a === '--keep') opts.keep = resolve(argv[++i]);
    else throw new Error(`unknown option ${a}`);
  }
  return opts;
}

/** The search and the index, bundled from the TypeScript sources (no gateway build needed); inside the repository so its node_modules resolve. */
async function loadSearch(dir) {
  const entry = join(dir, 'entry.ts');
  writeFileSync(entry, `export { SqlSessionSearch } from ${JSON.stringify(join(root, 'gateway/src/state/session-search.ts'))};\nexport { createSessionIndex } from ${JSON.stringify(join(root, 'gateway/src/state/sql-session-index.ts'))};\n`);
  const out = join(dir, 'search.mjs');
  await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', outfile: out, packages: 'external', logLevel: 'error' });
  return import(pathToFileURL(out).href);
}

const USERS = 50;
const CONNECTIONS = 20;

/**
 * Generation, all server-side. Distributions: users and connections skewed (power law), three
 * protocols (http 50 %, postgres 35 %, ssh 15 %), events per session exponential with the
 * requested mean, one in three events a request with text (SQL, method + path, or an LLM prompt
 * from a 2,000-word Zipf vocabulary plus one rare term per session out of 50,000), decisions skewed
 * (allowed on requests; denied 2 %, reviewed 0.5 %, masked 5 % of responses, failed 1 %).
 */
function generationSql(sessions, events) {
  const mean = events / sessions;
  return [
    // A kept cluster whose last generation was cut short starts again from empty tables.
    'truncate gatehouse_session_events, gatehouse_sessions, gatehouse_session_requests, gatehouse_session_segments',
    'drop table if exists bench_s',
    `create unlogged table bench_s as
       select n,
         greatest(1, round(-ln(1 - random()) * ${mean}))::int as cnt,
         case when n % 20 < 10 then 'http' when n % 20 < 17 then 'postgres' else 'ssh' end as protocol,
         (floor(power(random(), 2) * ${USERS}))::int as u,
         (floor(power(random(), 2) * ${CONNECTIONS}))::int as c
       from generate_series(1, ${sessions}) as n`,
    'drop table if exists bench_e',
    `create unlogged table bench_e as
       select s.n, k as seq, s.protocol, random() as r,
         case when k % 3 = 1 then (case s.protocol when 'http' then (case when k % 6 = 1 then 'http.request' else 'llm.exchange' end) when 'postgres' then 'pg.query' else 'ssh.exec' end)
              when k % 3 = 2 then (case s.protocol when 'http' then 'http.response' when 'postgres' then 'pg.result' else 'ssh.data' end)
              else 'policy.decision' end as type
       from bench_s s cross join lateral generate_series(1, s.cnt) as k`,
    `alter table bench_e add column decisions int, add column text text`,
    `update bench_e set
       decisions = case when type = 'policy.decision' and r < 0.02 then 2
                        when type = 'policy.decision' and r < 0.025 then 4
                        when seq % 3 = 1 then 1
                        when seq % 3 = 2 and r < 0.05 then 8
                        when seq % 3 = 2 and r < 0.06 then 16
                        else 0 end,
       text = case when seq % 3 <> 1 then null
                   when type = 'pg.query' then (array['select','update','insert into','delete from'])[1 + (n + seq) % 4] || ' ' || (array['customers','orders','invoices','payments','users','events','accounts','ledger'])[1 + (n * 7 + seq) % 8] || ' where id = ' || (n * seq) % 100000
                   when type = 'http.request' then (array['GET','POST','PUT','DELETE'])[1 + seq % 4] || ' /v1/' || (array['messages','models','projects','files','repos'])[1 + n % 5] || '/' || seq
                   when type = 'llm.exchange' then 'please ' || 'w' || floor(exp(r * ln(2000)))::int || ' the ' || 'w' || floor(exp(random() * ln(2000)))::int || ' in ' || 'w' || floor(exp(random() * ln(2000)))::int || ' rareterm' || (n * 7919) % 50000 || ' answer: I changed w' || floor(exp(random() * ln(2000)))::int
                   else 'ls -la /srv/app' || seq % 10 end`,
    // The index's own tables, filled as the gateway's batches would leave them.
    `insert into gatehouse_session_events (session_id, seq, time, type, decisions, request_id, doc)
       select 's_' || lpad(n::text, 26, '0'), seq, now() - (n * interval '25 seconds') + seq * interval '1 second', type, decisions,
         case when seq % 3 = 1 then 'r_' || lpad(n::text, 26, '0') || '.' || seq end,
         case when text is null then null else to_tsvector('simple', text) end
       from bench_e`,
    `insert into gatehouse_sessions (id, protocol, connection, subject, user_name, issuer, groups, client_address, started_at, ended_at, status, event_count, request_count, denied_count, client_session_id, decisions, doc)
       select 's_' || lpad(s.n::text, 26, '0'), s.protocol, 'conn-' || s.c, 'user-' || s.u, 'user' || s.u || '@example.com', 'https://idp.example.com', array['dev'], '10.0.0.' || s.u,
         date_trunc('milliseconds', now() - (s.n * interval '25 seconds')), date_trunc('milliseconds', now() - (s.n * interval '25 seconds') + s.cnt * interval '1 second'), 'closed',
         s.cnt + 2, s.cnt / 3, coalesce(a.denied, 0),
         case when s.protocol = 'http' then 'cc-' || md5(s.n::text) end,
         coalesce(a.decisions, 0), a.doc
       from bench_s s left join (
         select n, bit_or(decisions) as decisions, count(*) filter (where decisions = 2) as denied,
           strip(to_tsvector('simple', coalesce(string_agg(text, ' '), ''))) as doc
         from bench_e group by n) a on a.n = s.n`,
    `insert into gatehouse_session_requests (session_id, request_id, client_request_id, seen_at)
       select 's_' || lpad(n::text, 26, '0'), 'r_' || lpad(n::text, 26, '0') || '.1', 'client-' || n, now() from bench_s where n % 100 = 0`,
    `insert into gatehouse_session_segments (session_id, segment_key) select 's_' || lpad(n::text, 26, '0'), 'seg/' || (n / 500) from bench_s`,
    'drop table bench_e',
    'analyze',
  ];
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The scenarios; each sample may vary its parameter (a different user, protocol, term). */
function scenarios(sessions) {
  const id = (n) => 's_' + String(n).padStart(26, '0');
  const pick = (i, xs) => xs[i % xs.length];
  return [
    ['no filter', () => ({})],
    ['user', (i) => ({ user: `user-${i % USERS}` })],
    ['connection', (i) => ({ connection: `conn-${i % CONNECTIONS}` })],
    ['protocol', (i) => ({ protocol: pick(i, ['http', 'postgres', 'ssh']) })],
    ['time range (1 day)', (i) => ({ from: new Date(Date.now() - (i + 2) * 86400000), to: new Date(Date.now() - (i + 1) * 86400000) })],
    ['request id (client)', (i) => ({ requestId: `client-${100 * (1 + ((i * 37) % Math.max(1, Math.floor(sessions / 100))))}` })],
    ['request id (gatehouse)', (i) => ({ requestId: 'r_' + id(1 + ((i * 7919) % sessions)).slice(2) + '.4' })],
    ['claude session id', (i) => ({ claudeSessionId: 'cc-' + md5hex(String(20 * (1 + ((i * 13) % Math.floor(sessions / 20))))) })],
    ['decision allowed', () => ({ decision: 'allowed' })],
    ['decision denied', () => ({ decision: 'denied' })],
    ['decision reviewed', () => ({ decision: 'reviewed' })],
    ['decision masked', () => ({ decision: 'masked' })],
    ['decision failed', () => ({ decision: 'failed' })],
    ['text, common term', (i) => ({ q: pick(i, ['invoices', 'select', 'messages', 'w1']) })],
    ['text, rare term', (i) => ({ q: `rareterm${(i * 7919 * 7) % 50000}` })],
    ['text, phrase + exclusion', () => ({ q: '"delete from" -ledger' })],
    ['text, no match (correlated exclusion)', () => ({ q: 'w1 -please' })],
    ['user + protocol + decision', (i) => ({ user: `user-${i % USERS}`, protocol: 'postgres', decision: 'denied' })],
    ['connection + time range + text', (i) => ({ connection: `conn-${i % CONNECTIONS}`, from: new Date(Date.now() - 7 * 86400000), q: 'invoices' })],
    ['own sessions (non-admin) + text', (i) => ({ q: 'select' }), (i) => ({ scope: 'own', issuer: 'https://idp.example.com', subject: `user-${i % USERS}` })],
  ];
}

import { createHash } from 'node:crypto';
function md5hex(s) {
  return createHash('md5').update(s).digest('hex');
}

async function measure(search, opts, sessions) {
  const rows = [];
  for (const [name, make, viewerOf] of scenarios(sessions)) {
    const first = [];
    const deep = [];
    let found = 0;
    for (let i = 0; i < opts.samples; i++) {
      const filter = make(i);
      const viewer = viewerOf ? viewerOf(i) : { scope: 'all' };
      const t0 = performance.now();
      const page = await search.search(filter, { limit: opts.pageSize }, viewer);
      first.push(performance.now() - t0);
      found += page.rows.length;
      // A deep page: follow the cursor (untimed) deepPages pages in, then time the next one.
      if (i < Math.min(opts.samples, 10) && page.nextCursor) {
        let cursor = page.nextCursor;
        for (let p = 1; p < opts.deepPages && cursor; p++) cursor = (await search.search(filter, { limit: opts.pageSize, cursor }, viewer)).nextCursor;
        if (cursor) {
          const t1 = performance.now();
          await search.search(filter, { limit: opts.pageSize, cursor }, viewer);
          deep.push(performance.now() - t1);
        }
      }
    }
    first.sort((a, b) => a - b);
    deep.sort((a, b) => a - b);
    const row = { name, p50: percentile(first, 50), p95: percentile(first, 95), deepP50: percentile(deep, 50), deepP95: percentile(deep, 95), deepSamples: deep.length, avgRows: found / opts.samples };
    rows.push(row);
    process.stderr.write(`  ${name}: p50 ${row.p50.toFixed(1)} ms, p95 ${row.p95.toFixed(1)} ms, deep p95 ${Number.isNaN(row.deepP95) ? '-' : row.deepP95.toFixed(1)} ms\n`);
  }
  return rows;
}

function table(rows) {
  const f = (x) => (Number.isNaN(x) ? '–' : x.toFixed(1));
  const lines = ['| query | first page p50 ms | first page p95 ms | page 21 p50 ms | page 21 p95 ms | rows/page (avg) |', '|---|---:|---:|---:|---:|---:|'];
  for (const r of rows) lines.push(`| ${r.name} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.deepP50)} | ${f(r.deepP95)} | ${r.avgRows.toFixed(0)} |`);
  return lines.join('\n');
}

/**
 * A kept cluster: its password (made once, mode 0600) and, when it holds data generated at the
 * requested scale, how long that generation took. A scale change needs a fresh directory.
 */
function keptCluster(dir, opts) {
  const pwfile = join(dir, 'bench-password');
  if (!existsSync(pwfile)) writeFileSync(pwfile, `bench-${Math.random().toString(36).slice(2)}`, { mode: 0o600 });
  const marker = join(dir, 'generated.json');
  const done = existsSync(marker) ? JSON.parse(readFileSync(marker, 'utf8')) : undefined;
  if (done !== undefined && (done.sessions !== opts.sessions || done.events !== opts.events)) {
    throw new Error(`${dir} holds ${done.sessions} sessions / ${done.events} events, not the ${opts.sessions} / ${opts.events} asked for: remove it or pass the same scale`);
  }
  return { password: readFileSync(pwfile, 'utf8').trim(), marker, genSeconds: done?.genSeconds };
}

async function generate(exec, sessions, events) {
  const t0 = performance.now();
  for (const sql of generationSql(sessions, events)) await exec(sql);
  return (performance.now() - t0) / 1000;
}

export async function main(argv) {
  const opts = parseArgs(argv);
  const registry = cleanupRegistry();
  const sections = [];
  const date = new Date().toISOString().slice(0, 10);
  try {
    const owner = serverOwner();
    const scratch = (() => { try { accessSync('/dev/shm', constants.W_OK); return '/dev/shm'; } catch { return tmpdir(); } })();
    const dir = opts.keep ?? registry.addDir(mkdtempSync(join(scratch, 'gh-bench-console-')));
    mkdirSync(dir, { recursive: true });
    chownTo(dir, owner);
    const { SqlSessionSearch, createSessionIndex } = await loadSearch(registry.addDir(mkdtempSync(join(root, '.bench-console-'))));

    // PostgreSQL 15 at full scale.
    const kept = opts.keep === undefined ? undefined : keptCluster(dir, opts);
    const password = kept?.password ?? `bench-${Math.random().toString(36).slice(2)}`;
    const port = await freePort();
    const cluster = await startCluster({ dir, port, owner, user: 'bench', password, database: 'bench', reuse: kept !== undefined, settings: { shared_buffers: '512MB', work_mem: '32MB', maintenance_work_mem: '512MB', max_wal_size: '4GB' } });
    registry.addProcess(cluster.server);
    const index = createSessionIndex({ url: `postgres://bench:${password}@127.0.0.1:${port}/bench`, embeddedPath: 'unused' });
    const migrateStart = performance.now();
    await index.init();
    process.stderr.write(`schema ready in ${((performance.now() - migrateStart) / 1000).toFixed(1)} s\n`);
    let genSeconds = kept?.genSeconds;
    if (genSeconds === undefined) {
      process.stderr.write(`PostgreSQL ${cluster.version}: generating ${opts.sessions} sessions, ~${opts.events} events\n`);
      genSeconds = await generate((sql) => index.store.query(sql), opts.sessions, opts.events);
      if (kept !== undefined) writeFileSync(kept.marker, JSON.stringify({ sessions: opts.sessions, events: opts.events, genSeconds }));
    } else {
      process.stderr.write(`PostgreSQL ${cluster.version}: reusing the data in ${dir}\n`);
    }
    const size = (await index.store.query(`select pg_size_pretty(pg_database_size('bench')) as db,
        pg_size_pretty(pg_total_relation_size('gatehouse_sessions')) as sessions, pg_size_pretty(pg_total_relation_size('gatehouse_session_events')) as events,
        (select count(*) from gatehouse_session_events) as n_events, (select count(*) from gatehouse_sessions) as n_sessions`)).rows[0];
    process.stderr.write(`generated in ${genSeconds.toFixed(0)} s: ${size.n_sessions} sessions, ${size.n_events} events, database ${size.db}\n`);
    const pgRows = await measure(new SqlSessionSearch(index), opts, opts.sessions);
    await index.close();
    sections.push(`## PostgreSQL ${cluster.version}: ${Number(size.n_sessions).toLocaleString('en')} sessions, ${Number(size.n_events).toLocaleString('en')} events\n\nGenerated server-side in ${genSeconds.toFixed(0)} s. Database ${size.db} (sessions table with indexes ${size.sessions}, event rows ${size.events}). Page size ${opts.pageSize}, ${opts.samples} samples per query (parameters vary per sample), deep page = page 21 reached by cursor (up to 10 samples).\n\n${table(pgRows)}`);

    if (opts.pglite) {
      const lite = createSessionIndex({ embeddedPath: 'memory://' });
      await lite.init();
      process.stderr.write(`PGlite: generating ${opts.pgliteSessions} sessions, ~${opts.pgliteEvents} events\n`);
      const liteSeconds = await generate((sql) => lite.store.query(sql), opts.pgliteSessions, opts.pgliteEvents);
      const n = (await lite.store.query(`select (select count(*) from gatehouse_session_events) as n_events, pg_size_pretty(pg_database_size(current_database())) as db`)).rows[0];
      const liteRows = await measure(new SqlSessionSearch(lite), opts, opts.pgliteSessions);
      await lite.close();
      sections.push(`## Embedded PGlite (in memory): ${opts.pgliteSessions.toLocaleString('en')} sessions, ${Number(n.n_events).toLocaleString('en')} events\n\nA smaller scale: PGlite is single-threaded WASM for single-node and development use; generating 10M events in it is impractical. Generated in ${liteSeconds.toFixed(0)} s, database ${n.db}.\n\n${table(liteRows)}`);
    }
    const header = `# Console search benchmark (${date})\n\n\`npm run bench -- console ${argv.join(' ')}\` on ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), load average at the end ${loadavg()[0].toFixed(1)} (the machine is shared: absolute times are noisy).\nThe query is SqlSessionSearch.search (gateway/src/state/session-search.ts) through the index's own store, timed in the client (network round trip and row decoding included).`;
    const md = `${header}\n\n${sections.join('\n\n')}\n`;
    console.log(md);
    // Only a run at the documented scale replaces the dated results file.
    const defaults = parseArgs([]);
    if (opts.sessions === defaults.sessions && opts.events === defaults.events) {
      mkdirSync(join(root, 'bench/results'), { recursive: true });
      const file = join(root, `bench/results/console-${date}.md`);
      writeFileSync(file, md);
      console.log(`wrote ${file}`);
    }
  } finally {
    await registry.stopAll();
  }
}
