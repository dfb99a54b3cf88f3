// HTTP benchmark: direct vs nginx reverse proxy vs Gatehouse (buffered and strict recording),
// side by side in one run on loopback, for small JSON responses and a streamed SSE response.
// Each proxy gets one core (taskset -c 1); wrk and the upstreams share the other.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros, freePort, median, startProcess, waitForPort, which, wrk } from './lib/proc.mjs';
import { nginxProxyConfig } from './lib/nginx.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const opts = { seconds: 5, rounds: 5, connections: 16, baseline: process.env.BENCH_BASELINE_BUNDLE ?? null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seconds') opts.seconds = Number(argv[++i]);
    else if (argv[i] === '--rounds') opts.rounds = Number(argv[++i]);
    else if (argv[i] === '--connections') opts.connections = Number(argv[++i]);
    else if (argv[i] === '--baseline') opts.baseline = argv[++i];
  }
  return opts;
}

const SSE_UPSTREAM = `
const http = require('node:http');
const json = JSON.stringify({ id: 'msg_1', type: 'message', content: [{ type: 'text', text: 'hello from upstream' }], usage: { input_tokens: 12, output_tokens: 5 } });
const events = Array.from({ length: 10 }, (_, i) => 'event: content_block_delta\\ndata: ' + JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'chunk ' + i + ' of a streamed answer ' } }) + '\\n\\n');
http.createServer((req, res) => {
  req.resume();
  if (req.url.startsWith('/sse')) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let i = 0;
    const next = () => { if (i < events.length) { res.write(events[i++]); setImmediate(next); } else res.end(); };
    next();
  } else {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  }
}).listen(Number(process.argv[2]), '127.0.0.1');
`;

// The floor for any Node proxy: node:http with a keep-alive agent, no identity, policy or record.
const BARE_NODE_PROXY = `
const http = require('node:http');
const [port, upstreamPort] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
http.createServer((req, res) => {
  const up = http.request({ host: '127.0.0.1', port: upstreamPort, path: req.url, method: req.method, headers: req.headers, agent }, (ur) => {
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
  });
  req.pipe(up);
}).listen(port, '127.0.0.1');
`;

// The same with undici, the upstream client Gatehouse uses (node:http server, undici Pool): the
// floor for a Node proxy built like Gatehouse. Gatehouse's cost over it is identity, policy,
// credential brokering, recording and metrics.
const UNDICI_NODE_PROXY = (undiciPath) => `
const http = require('node:http');
const { Pool } = require(${JSON.stringify(undiciPath)});
const [port, upstreamPort] = process.argv.slice(2).map(Number);
const pool = new Pool('http://127.0.0.1:' + upstreamPort, { connections: 256 });
const hop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);
http.createServer((req, res) => {
  touch();
  const headers = {};
  for (const k in req.headers) if (!hop.has(k)) headers[k] = req.headers[k];
  pool.dispatch({ path: req.url, method: req.method, headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, {
    onConnect() {},
    onError(e) { res.destroy(e); },
    onHeaders(status, raw, resume) {
      const h = {};
      for (let i = 0; i < raw.length; i += 2) { const k = raw[i].toString('latin1').toLowerCase(); if (!hop.has(k)) h[k] = raw[i + 1].toString('latin1'); }
      res.writeHead(status, h);
      if (h['content-length'] === undefined) res.flushHeaders();
      res.on('drain', resume);
      return true;
    },
    onData(chunk) { return res.write(chunk); },
    onComplete() { res.end(); },
  });
}).listen(port, '127.0.0.1');
`;

// A TCP relay with no HTTP at all: each client connection gets its own upstream connection and
// bytes pass as they come. The least any Node process adds on this path (one-connection rows only).
const NODE_TCP_RELAY = `
const net = require('node:net');
const [port, upstreamPort] = process.argv.slice(2).map(Number);
net.createServer({ noDelay: true }, (c) => {
  const u = net.connect({ port: upstreamPort, host: '127.0.0.1', noDelay: true });
  c.on('data', (d) => { touch(); u.write(d); });
  u.on('data', (d) => { touch(); c.write(d); });
  c.on('close', () => u.destroy()); u.on('close', () => c.destroy());
  c.on('error', () => {}); u.on('error', () => {});
}).listen(port, '127.0.0.1');
`;

// Busy polling for the floors above, as the gateway does it (gateway/src/server/busy-poll.ts):
// after each touch, keep a setImmediate chain alive for BUSY_POLL_US, so libuv polls with a zero
// timeout instead of sleeping. Without BUSY_POLL_US, touch does nothing.
const BUSY_POLL_PRELUDE = `
const { performance } = require('node:perf_hooks');
const busyPollMs = Number(process.env.BUSY_POLL_US || 0) / 1000;
let pollUntil = 0, polling = false;
function pollTick() { if (performance.now() < pollUntil) setImmediate(pollTick); else polling = false; }
function touch() {
  if (busyPollMs <= 0) return;
  pollUntil = performance.now() + busyPollMs;
  if (!polling) { polling = true; setImmediate(pollTick); }
}
`;

/**
 * One busy loop per core at the lowest scheduling class (SCHED_IDLE): it runs only when nothing
 * else wants the core, and keeps the vCPU from halting, so waking a proxy or the upstream costs a
 * context switch rather than a VM exit. Empty when `chrt` is missing.
 */
function keepCoresAwake() {
  if (!which('chrt') || !which('taskset')) return [];
  return [0, 1].map((cpu) => startProcess('chrt', ['--idle', '0', process.execPath, '-e', 'for (;;) {}'], { cpu }));
}

function nginxConfig(dir, port, upstreamPort) {
  return nginxProxyConfig(dir, port, upstreamPort, { workerConnections: 4096, keepalive: 128, location: ['proxy_buffering off'] });
}

function gatehouseConfig(dir, port, adminPort, upstreamPort, mode, busyPollMicroseconds = 0) {
  return `
mode: development
listeners:
  http: { address: 127.0.0.1, port: ${port}, allowPlaintext: true }
  admin: { address: 127.0.0.1, port: ${adminPort}, allowPlaintext: true }
identity:
  devIssuer: { enabled: true, keyPath: ${dir}/dev-issuer.json }
policy:
  cedar: |
    permit (principal in Gatehouse::Group::"developers", action, resource);
connections:
  - name: bench
    kind: http
    upstream: http://127.0.0.1:${upstreamPort}
    route: { pathPrefix: /, stripPrefix: false }
    credential: { type: bearer, secret: "env:BENCH_UPSTREAM_TOKEN" }
recording:
  mode: ${mode}
  sink: { type: fs, path: ${dir}/log-${mode} }
state:
  embeddedPath: memory
logging: { level: warn }
tuning: { busyPollMicroseconds: ${busyPollMicroseconds} }
`;
}

export async function main(argv) {
  const opts = parseArgs(argv);
  for (const tool of ['wrk', 'nginx']) {
    if (!which(tool)) throw new Error(`${tool} is required (apt-get install ${tool === 'nginx' ? 'nginx-light' : tool})`);
  }
  const bundle = join(root, 'dist/gateway.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-http-'));
  mkdirSync(join(dir, 'body'));
  const stops = [];
  try {
    const upstreamPort = await freePort();
    writeFileSync(join(dir, 'upstream.cjs'), SSE_UPSTREAM);
    const upstream = startProcess(process.execPath, [join(dir, 'upstream.cjs'), String(upstreamPort)], { cpu: 0 });
    stops.push(upstream);
    await waitForPort(upstreamPort);

    const nginxPort = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, nginxPort, upstreamPort));
    const nginx = startProcess(which('nginx'), ['-c', join(dir, 'nginx.conf'), '-e', join(dir, 'nginx-error.log')], { cpu: 1 });
    stops.push(nginx);
    await waitForPort(nginxPort);

    const barePort = await freePort();
    writeFileSync(join(dir, 'bare-proxy.cjs'), BARE_NODE_PROXY);
    const bare = startProcess(process.execPath, [join(dir, 'bare-proxy.cjs'), String(barePort), String(upstreamPort)], { cpu: 1 });
    stops.push(bare);
    await waitForPort(barePort);

    writeFileSync(join(dir, 'undici-proxy.cjs'), BUSY_POLL_PRELUDE + UNDICI_NODE_PROXY(createRequire(import.meta.url).resolve('undici')));
    writeFileSync(join(dir, 'tcp-relay.cjs'), BUSY_POLL_PRELUDE + NODE_TCP_RELAY);
    const floors = {};
    for (const [key, script, busyPollUs] of [
      ['node_undici_proxy', 'undici-proxy.cjs', 0],
      ['node_undici_proxy_busy_poll', 'undici-proxy.cjs', 1000],
      ['node_tcp_relay', 'tcp-relay.cjs', 0],
      ['node_tcp_relay_busy_poll', 'tcp-relay.cjs', 1000],
    ]) {
      const port = await freePort();
      const proc = startProcess(process.execPath, [join(dir, script), String(port), String(upstreamPort)], { cpu: 1, env: { BUSY_POLL_US: String(busyPollUs) } });
      stops.push(proc);
      await waitForPort(port);
      floors[key] = { port, headers: {}, pid: proc.child.pid };
    }

    const gateways = {};
    // busy_poll: buffered recording with `tuning.busyPollMicroseconds: 1000` (opt-in; it trades
    // CPU for latency, docs/configuration.md), beside the default configuration.
    // `--baseline <bundle>`: an earlier build beside this one in the same run (buffered and strict),
    // so a change's effect on the ratios is read from rows that saw the same machine.
    const kinds = [['buffered', 'buffered', 0], ['strict', 'strict', 0], ['buffered_busy_poll', 'buffered', 1000]];
    if (opts.baseline) kinds.push(['baseline_buffered', 'buffered', 0, opts.baseline], ['baseline_strict', 'strict', 0, opts.baseline]);
    for (const [key, mode, busyPoll, gwBundle] of kinds) {
      const port = await freePort();
      const adminPort = await freePort();
      const cfg = join(dir, `gatehouse-${key}.yaml`);
      writeFileSync(cfg, gatehouseConfig(dir, port, adminPort, upstreamPort, mode, busyPoll).replace(`log-${mode}`, `log-${key}`));
      const gw = startProcess(process.execPath, [gwBundle ?? bundle, 'run', '--config', cfg], { cpu: 1, env: { BENCH_UPSTREAM_TOKEN: 'bench-upstream-secret' } });
      stops.push(gw);
      try {
        await waitForPort(port, 30000);
      } catch (e) {
        throw new Error(`gatehouse (${key}) did not start: ${gw.stderr()}`);
      }
      gateways[key] = { port, cfg, pid: gw.child.pid };
    }
    const token = execFileSync(process.execPath, [bundle, 'token', '--dev', '--sub', 'bench', '--groups', 'developers', '--config', gateways.buffered.cfg], { encoding: 'utf8' }).trim();
    const auth = { authorization: `Bearer ${token}` };

    const targets = {
      direct: { port: upstreamPort, headers: {} },
      nginx: { port: nginxPort, headers: {}, pid: nginx.child.pid },
      node_bare_proxy: { port: barePort, headers: {}, pid: bare.child.pid },
      node_undici_proxy: floors.node_undici_proxy,
      gatehouse_buffered: { port: gateways.buffered.port, headers: auth, pid: gateways.buffered.pid },
      gatehouse_strict: { port: gateways.strict.port, headers: auth, pid: gateways.strict.pid },
      gatehouse_buffered_busy_poll: { port: gateways.buffered_busy_poll.port, headers: auth, pid: gateways.buffered_busy_poll.pid },
      ...(opts.baseline ? {
        baseline_gatehouse_buffered: { port: gateways.baseline_buffered.port, headers: auth, pid: gateways.baseline_buffered.pid },
        baseline_gatehouse_strict: { port: gateways.baseline_strict.port, headers: auth, pid: gateways.baseline_strict.pid },
      } : {}),
      // Floors for the one-connection latency (below): where the time goes without Gatehouse's work.
      node_undici_proxy_busy_poll: { ...floors.node_undici_proxy_busy_poll, only: ['json_1conn'] },
      node_tcp_relay: { ...floors.node_tcp_relay, only: ['json_1conn'] },
      node_tcp_relay_busy_poll: { ...floors.node_tcp_relay_busy_poll, only: ['json_1conn'] },
    };
    const scenarios = [
      { name: 'json', path: '/v1/items', connections: opts.connections },
      { name: 'sse', path: '/sse', connections: opts.connections },
      { name: 'json_1conn', path: '/v1/items', connections: 1 },
      // The same, with both cores kept out of idle (below): on a VM an idle vCPU halts, and waking
      // it for each of a proxied request's four cross-core hops costs more than the proxy's own
      // work (nginx alone adds about 0.25 ms here). This shows what the proxies themselves add.
      // Strict recording is left out: its latency is the log's fdatasync, and with the busy loops
      // running it rose from about 2 ms to 12 ms in a trial (cause not investigated), which would
      // misstate it.
      { name: 'json_1conn_awake', path: '/v1/items', connections: 1, awake: true, skip: ['gatehouse_strict', 'baseline_gatehouse_strict'] },
    ];
    const samples = {};
    // Warm up every target (JIT, keep-alive pools) before measuring.
    for (const [name, t] of Object.entries(targets)) wrk(`http://127.0.0.1:${t.port}/v1/items`, { connections: 4, seconds: 1, cpu: 0, headers: t.headers });
    // Alternate targets within each round so machine noise spreads evenly.
    for (let round = 0; round < opts.rounds; round++) {
      for (const sc of scenarios) {
        const spinners = sc.awake ? keepCoresAwake() : [];
        if (sc.awake && spinners.length === 0) continue;
        try {
          for (const [name, t] of Object.entries(targets)) {
            if (sc.skip?.includes(name) || (t.only !== undefined && !t.only.includes(sc.name))) continue;
            const cpu0 = t.pid === undefined ? undefined : cpuMicros(t.pid);
            const r = wrk(`http://127.0.0.1:${t.port}${sc.path}`, { connections: sc.connections, seconds: opts.seconds, cpu: 0, headers: t.headers });
            const cpu1 = t.pid === undefined ? undefined : cpuMicros(t.pid);
            if (cpu0 !== undefined && cpu1 !== undefined && r.requests > 0) r.cpuUsPerReq = (cpu1 - cpu0) / r.requests;
            if (r.non2xx > 0) throw new Error(`${name} ${sc.name}: ${r.non2xx} non-2xx responses`);
            ((samples[sc.name] ??= {})[name] ??= []).push(r);
            const cpu = r.cpuUsPerReq === undefined ? '' : `  cpu ${r.cpuUsPerReq.toFixed(0)} µs/req`;
            process.stderr.write(`round ${round + 1} ${sc.name.padEnd(10)} ${name.padEnd(20)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms${cpu}\n`);
          }
        } finally {
          for (const s of spinners) await s.stop();
        }
      }
    }
    const runs = {};
    for (const [sc, byTarget] of Object.entries(samples)) {
      runs[sc] = {};
      for (const [name, rs] of Object.entries(byTarget)) {
        runs[sc][name] = { rps: median(rs.map((r) => r.rps)), p50_ms: median(rs.map((r) => r.p50)), p99_ms: median(rs.map((r) => r.p99)), rounds: rs.length };
        const cpu = rs.map((r) => r.cpuUsPerReq).filter((v) => v !== undefined);
        if (cpu.length > 0) runs[sc][name].cpu_us_per_req = Number(median(cpu).toFixed(1));
      }
    }
    // Targets alternate within each round, so a round's targets saw the same machine: a ratio is
    // taken within each round and the median of those is reported, with their range. (The VM's
    // speed moves by ±30 % between rounds; a ratio of medians would mix rounds.)
    const ratioRanges = {};
    const ratio = (sc, a, b) => {
      const as = samples[sc][a];
      const bs = samples[sc][b];
      const per = as.map((r, i) => r.rps / bs[i].rps);
      const key = (sc === 'json' ? '' : `${sc}:`) + `${a}/${b}`;
      ratioRanges[key] = [Number(Math.min(...per).toFixed(3)), Number(Math.max(...per).toFixed(3))];
      return Number(median(per).toFixed(3));
    };
    const ratios = {
      'gatehouse_buffered/nginx': ratio('json', 'gatehouse_buffered', 'nginx'),
      'gatehouse_strict/nginx': ratio('json', 'gatehouse_strict', 'nginx'),
      'gatehouse_buffered/direct': ratio('json', 'gatehouse_buffered', 'direct'),
      'nginx/direct': ratio('json', 'nginx', 'direct'),
      'node_bare_proxy/nginx': ratio('json', 'node_bare_proxy', 'nginx'),
      'gatehouse_buffered/node_bare_proxy': ratio('json', 'gatehouse_buffered', 'node_bare_proxy'),
      'node_undici_proxy/nginx': ratio('json', 'node_undici_proxy', 'nginx'),
      'gatehouse_buffered/node_undici_proxy': ratio('json', 'gatehouse_buffered', 'node_undici_proxy'),
      'gatehouse_buffered_busy_poll/nginx': ratio('json', 'gatehouse_buffered_busy_poll', 'nginx'),
      'sse:gatehouse_buffered/nginx': ratio('sse', 'gatehouse_buffered', 'nginx'),
      'sse:gatehouse_strict/nginx': ratio('sse', 'gatehouse_strict', 'nginx'),
      'gatehouse_strict/node_undici_proxy': ratio('json', 'gatehouse_strict', 'node_undici_proxy'),
      ...(opts.baseline ? {
        'baseline_gatehouse_buffered/node_undici_proxy': ratio('json', 'baseline_gatehouse_buffered', 'node_undici_proxy'),
        'baseline_gatehouse_strict/node_undici_proxy': ratio('json', 'baseline_gatehouse_strict', 'node_undici_proxy'),
        'gatehouse_buffered/baseline_gatehouse_buffered': ratio('json', 'gatehouse_buffered', 'baseline_gatehouse_buffered'),
        'gatehouse_strict/baseline_gatehouse_strict': ratio('json', 'gatehouse_strict', 'baseline_gatehouse_strict'),
        'sse:gatehouse_buffered/baseline_gatehouse_buffered': ratio('sse', 'gatehouse_buffered', 'baseline_gatehouse_buffered'),
      } : {}),
    };
    const added = {
      'node_tcp_relay_p50_added_ms_1conn': Number((runs.json_1conn.node_tcp_relay.p50_ms - runs.json_1conn.direct.p50_ms).toFixed(3)),
      'node_tcp_relay_busy_poll_p50_added_ms_1conn': Number((runs.json_1conn.node_tcp_relay_busy_poll.p50_ms - runs.json_1conn.direct.p50_ms).toFixed(3)),
      'node_undici_proxy_busy_poll_p50_added_ms_1conn': Number((runs.json_1conn.node_undici_proxy_busy_poll.p50_ms - runs.json_1conn.direct.p50_ms).toFixed(3)),
      'gatehouse_buffered_p50_added_ms_1conn': Number((runs.json_1conn.gatehouse_buffered.p50_ms - runs.json_1conn.direct.p50_ms).toFixed(3)),
      'gatehouse_buffered_busy_poll_p50_added_ms_1conn': Number((runs.json_1conn.gatehouse_buffered_busy_poll.p50_ms - runs.json_1conn.direct.p50_ms).toFixed(3)),
      'gatehouse_strict_p50_added_ms_1conn': Number((runs.json_1conn.gatehouse_strict.p50_ms - runs.json_1conn.direct.p50_ms).toFixed(3)),
      'nginx_p50_added_ms_1conn': Number((runs.json_1conn.nginx.p50_ms - runs.json_1conn.direct.p50_ms).toFixed(3)),
      'node_bare_proxy_p50_added_ms_1conn': Number((runs.json_1conn.node_bare_proxy.p50_ms - runs.json_1conn.direct.p50_ms).toFixed(3)),
      'node_undici_proxy_p50_added_ms_1conn': Number((runs.json_1conn.node_undici_proxy.p50_ms - runs.json_1conn.direct.p50_ms).toFixed(3)),
    };
    if (runs.json_1conn_awake !== undefined) {
      const a = runs.json_1conn_awake;
      for (const name of ['gatehouse_buffered', 'gatehouse_buffered_busy_poll', 'nginx', 'node_bare_proxy', 'node_undici_proxy']) {
        added[`${name}_p50_added_ms_1conn_awake`] = Number((a[name].p50_ms - a.direct.p50_ms).toFixed(3));
      }
    }
    // What Gatehouse adds over the leanest Node proxy built like it (node:http + undici): the part
    // of the added latency that its own work (identity, policy, recording) is responsible for.
    added['gatehouse_buffered_p50_over_node_undici_proxy_ms_1conn'] = Number((runs.json_1conn.gatehouse_buffered.p50_ms - runs.json_1conn.node_undici_proxy.p50_ms).toFixed(3));
    added['gatehouse_buffered_busy_poll_p50_over_node_undici_proxy_busy_poll_ms_1conn'] = Number((runs.json_1conn.gatehouse_buffered_busy_poll.p50_ms - runs.json_1conn.node_undici_proxy_busy_poll.p50_ms).toFixed(3));
    if (opts.baseline) {
      added['baseline_gatehouse_buffered_p50_over_node_undici_proxy_ms_1conn'] = Number((runs.json_1conn.baseline_gatehouse_buffered.p50_ms - runs.json_1conn.node_undici_proxy.p50_ms).toFixed(3));
    }
    if (runs.json_1conn_awake !== undefined) {
      const a = runs.json_1conn_awake;
      added['gatehouse_buffered_p50_over_node_undici_proxy_ms_1conn_awake'] = Number((a.gatehouse_buffered.p50_ms - a.node_undici_proxy.p50_ms).toFixed(3));
    }
    const result = {
      benchmark: 'http',
      date: new Date().toISOString(),
      setup: {
        seconds: opts.seconds,
        rounds: opts.rounds,
        connections: opts.connections,
        cpus: 'proxy on cpu 1; wrk and upstream on cpu 0',
        cpu_us_per_req: "the proxy process's user+system CPU time (all threads, nginx's worker included) over the run, per request",
        awake: 'json_1conn_awake: a SCHED_IDLE busy loop on each core keeps the vCPUs from halting between requests',
        busy_poll: '*_busy_poll: polling for 1000 µs after each request instead of sleeping (Gatehouse: tuning.busyPollMicroseconds, opt-in)',
        node_tcp_relay: 'a TCP relay without HTTP: the least a Node process adds on this path (one connection only)',
        node: process.version,
        ...(opts.baseline ? { baseline_bundle: opts.baseline } : {}),
      },
      runs,
      ratios,
      ratio_ranges: ratioRanges,
      latency: added,
    };
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    writeFileSync(join(root, 'bench/results/http.json'), JSON.stringify(result, null, 2) + '\n');
    console.log('\nscenario          target                req/s      p50 ms   p99 ms  cpu µs/req');
    for (const [sc, byTarget] of Object.entries(runs)) {
      for (const [name, r] of Object.entries(byTarget)) {
        const cpu = r.cpu_us_per_req === undefined ? '' : r.cpu_us_per_req.toFixed(0).padStart(11);
        console.log(`${sc.padEnd(17)} ${name.padEnd(26)} ${r.rps.toFixed(0).padStart(8)} ${r.p50_ms.toFixed(3).padStart(9)} ${r.p99_ms.toFixed(3).padStart(8)}${cpu}`);
      }
    }
    console.log('\nratios (req/s; median of the per-round ratios):');
    for (const [k, v] of Object.entries(ratios)) console.log(`  ${k.padEnd(38)} ${String(v).padEnd(6)} (rounds: ${ratioRanges[k].join('–')})`);
    console.log('added p50 latency at one connection (ms):');
    for (const [k, v] of Object.entries(added)) console.log(`  ${k.padEnd(58)} ${v}`);
    console.log('\nwrote bench/results/http.json');
  } finally {
    for (const s of stops.reverse()) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
