// Git benchmark: clone throughput and push time of a real-size repository served by `git
// http-backend` directly, behind nginx (reverse proxy, the peer) and behind Gatehouse (a `git`
// connection), side by side; and the judgment of a 1,000-commit push (index-pack, ancestry and
// commit facts, secret scan) measured in process with the gateway's own modules.
//
// The repository is generated once (fast-import; ~100 MB packed, thousands of commits by default)
// and cached under the system temp directory; each run works on a hard-linked copy of it.
// Writes bench/results/git.json.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort, median, startProcess, waitForPort, which } from './lib/proc.mjs';
import { nginxProxyConfig } from './lib/nginx.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0', GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.com' };

function parseArgs(argv) {
  const opts = { mb: 100, commits: 3000, pushCommits: 1000, rounds: 3, cache: undefined, prepareOnly: false, bundle: join(root, 'dist/gateway.mjs') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--mb') opts.mb = Number(argv[++i]);
    else if (argv[i] === '--commits') opts.commits = Number(argv[++i]);
    else if (argv[i] === '--push-commits') opts.pushCommits = Number(argv[++i]);
    else if (argv[i] === '--rounds') opts.rounds = Number(argv[++i]);
    else if (argv[i] === '--cache') opts.cache = argv[++i];
    else if (argv[i] === '--prepare') opts.prepareOnly = true;
    else if (argv[i] === '--bundle') opts.bundle = argv[++i];
    else throw new Error(`unknown option ${argv[i]} (--mb N --commits N --push-commits N --rounds N --cache DIR --prepare --bundle FILE)`);
  }
  opts.cache ??= join(tmpdir(), `gatehouse-bench-git-${opts.mb}mb-${opts.commits}c-${opts.pushCommits}p-v2`);
  return opts;
}

const git = (args, options = {}) => execFileSync('git', args, { encoding: 'utf8', maxBuffer: 1 << 30, ...options, env: { ...process.env, ...GIT_ENV, ...options.env } }).trim();

/** Runs `git fast-import` in `cwd`, feeding it what `produce(write)` writes (with backpressure). */
async function fastImport(cwd, produce) {
  const child = spawn('git', ['fast-import', '--quiet'], { cwd, env: { ...process.env, ...GIT_ENV }, stdio: ['pipe', 'ignore', 'inherit'] });
  const done = new Promise((resolve, reject) => child.on('close', (c) => (c === 0 ? resolve() : reject(new Error(`fast-import exited ${c}`)))));
  const write = (s) => (child.stdin.write(s) ? undefined : new Promise((r) => child.stdin.once('drain', r)));
  await produce(write);
  child.stdin.end();
  await done;
}

const data = (s) => `data ${Buffer.byteLength(s)}\n${s}\n`;

/** A source-like text file: numbered lines, so edits make small deltas. */
const sourceFile = (name, lines) => Array.from({ length: lines }, (_, i) => `// ${name} line ${i + 1}: const value${i} = compute(${i}, "${name}");`).join('\n') + '\n';

/**
 * The cached upstream (bare, `main`) of about `mb` MB packed over `commits` commits, and a work
 * clone whose `push-src` branch adds `pushCommits` commits on top (the push to measure).
 */
async function ensureRepository(opts) {
  const upstream = join(opts.cache, 'bench.git');
  const work = join(opts.cache, 'work');
  if (existsSync(join(opts.cache, 'complete'))) return { upstream, work };
  rmSync(opts.cache, { recursive: true, force: true });
  mkdirSync(opts.cache, { recursive: true });
  const t0 = Date.now();
  git(['init', '-q', '--bare', '-b', 'main', upstream]);
  // Each commit edits one of 200 source files and adds one file of incompressible text, so the
  // pack reaches the target size with realistic history (deltas for the edits).
  const blobBytes = Math.max(256, Math.floor(((opts.mb * 1e6) / opts.commits) * 0.97));
  const sources = Array.from({ length: 200 }, (_, i) => ({ name: `src/module${i}.ts`, lines: 40 }));
  await fastImport(upstream, async (write) => {
    for (let i = 0; i < opts.commits; i++) {
      const s = sources[i % sources.length];
      s.lines += 2;
      const text = randomBytes(blobBytes).toString('base64').replace(/.{76}/g, '$&\n');
      await write(`commit refs/heads/main\ncommitter Bench <bench@example.com> ${1_700_000_000 + i * 60} +0000\n${data(`change ${i}`)}`);
      await write(`M 100644 inline ${s.name}\n${data(sourceFile(s.name, s.lines))}M 100644 inline data/d${Math.floor(i / 100)}/blob${i}.txt\n${data(text)}\n`);
    }
  });
  git(['clone', '-q', '--local', upstream, work]);
  const base = git(['rev-parse', 'HEAD'], { cwd: work });
  // The push: small edits in existing files, a new file every tenth commit.
  const edited = Array.from({ length: 50 }, (_, i) => ({ name: `src/module${i}.ts`, lines: 40 + 2 * Math.ceil((opts.commits - i) / 200) }));
  await fastImport(work, async (write) => {
    for (let i = 0; i < opts.pushCommits; i++) {
      const s = edited[i % edited.length];
      s.lines += 1;
      await write(`commit refs/heads/push-src\ncommitter Bench <bench@example.com> ${1_800_000_000 + i * 60} +0000\n${data(`push ${i}`)}${i === 0 ? `from ${base}\n` : ''}`);
      await write(`M 100644 inline ${s.name}\n${data(sourceFile(s.name, s.lines))}`);
      if (i % 10 === 0) await write(`M 100644 inline docs/note${i}.md\n${data(`# Note ${i}\n\n${'Some prose about the change. '.repeat(40)}\n`)}`);
      await write('\n');
    }
  });
  writeFileSync(join(opts.cache, 'complete'), `${new Date().toISOString()}\n`);
  process.stderr.write(`generated the repository in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return { upstream, work };
}

function packBytes(gitDir) {
  const dir = join(gitDir, 'objects/pack');
  return readdirSync(dir).filter((f) => f.endsWith('.pack')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

function nginxConfig(dir, port, upstreamPort) {
  return nginxProxyConfig(dir, port, upstreamPort, { unlimitedBody: true, location: ['proxy_buffering off', 'proxy_request_buffering off', 'proxy_read_timeout 600s'] });
}

/** A Gatehouse configuration with one `git` connection (docs/git.md) in front of the backend. */
function gatehouseConfig(dir, port, adminPort, upstreamPort) {
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
    kind: git
    upstream: http://127.0.0.1:${upstreamPort}/
    route: { pathPrefix: /git/bench }
    dataDir: ${dir}/gatehouse-git
recording:
  mode: buffered
  sink: { type: fs, path: ${dir}/log }
state:
  embeddedPath: memory
logging: { level: warn }
`;
}

/** Starts Gatehouse with a git connection, or says why it cannot (not built, or no `git` kind yet). */
async function startGatehouse(dir, upstreamPort, bundle) {
  if (!existsSync(bundle)) return { missing: `${bundle} is not built (npm run build)` };
  const port = await freePort();
  const adminPort = await freePort();
  const cfg = join(dir, 'gatehouse.yaml');
  writeFileSync(cfg, gatehouseConfig(dir, port, adminPort, upstreamPort));
  try {
    execFileSync(process.execPath, [bundle, 'check-config', cfg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const why = `${e.stdout ?? ''}${e.stderr ?? ''}`.split('\n').filter((l) => l.trim() !== '').slice(0, 3).join(' | ');
    return { missing: `this build does not accept a git connection: ${why}` };
  }
  const gw = startProcess(process.execPath, [bundle, 'run', '--config', cfg]);
  try {
    await waitForPort(port, 30000);
  } catch {
    await gw.stop();
    return { missing: `gatehouse did not start: ${gw.stderr()}` };
  }
  const token = execFileSync(process.execPath, [bundle, 'token', '--dev', '--sub', 'bench', '--groups', 'developers', '--config', cfg], { encoding: 'utf8' }).trim();
  // What `gatehouse git-credential` hands git, sent up front (no 401 round trip in the figures).
  const auth = `Authorization: Basic ${Buffer.from(`gatehouse:${token}`).toString('base64')}`;
  // Through git's environment configuration, not `-c`: a failing command's message quotes its
  // arguments, and the token must not land in the bench's output.
  return { proc: gw, url: `http://127.0.0.1:${port}/git/bench/bench.git`, env: { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: auth } };
}

/** The gateway's push-judging modules, bundled from the sources (no build needed). */
async function loadJudgment(dir) {
  const { build } = await import('esbuild');
  const src = join(root, 'gateway/src/protocols/git');
  const entry = join(dir, 'judgment-entry.ts');
  writeFileSync(
    entry,
    [
      `export { inspectPush } from ${JSON.stringify(join(src, 'inspect-push.ts'))};`,
      `export { GitMirror } from ${JSON.stringify(join(src, 'mirror.ts'))};`,
      `export { decodeReceivePack } from ${JSON.stringify(join(src, 'receive-pack.ts'))};`,
      `export { runGit } from ${JSON.stringify(join(src, 'run-git.ts'))};`,
      `export { scanPushedSecrets } from ${JSON.stringify(join(src, 'secret-scan.ts'))};`,
    ].join('\n'),
  );
  const outfile = join(dir, 'judgment.mjs');
  await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', outfile, logLevel: 'error' });
  return import(pathToFileURL(outfile).href);
}

const pkt = (s) => `${(Buffer.byteLength(s) + 4).toString(16).padStart(4, '0')}${s}`;

/**
 * The judgment of the push in process, as the gateway does it: refresh the mirror, index the pack
 * into a quarantine and classify the update (inspectPush), scan the added lines. index-pack alone is
 * timed too: the judgment's own cost is what comes on top of it.
 */
async function measureJudgment(j, dir, upstream, work, rounds) {
  const mirror = new j.GitMirror({ gitDir: join(dir, 'mirror.git'), upstreamUrl: upstream });
  await mirror.refresh();
  const oldId = git(['rev-parse', 'main'], { cwd: work });
  const newId = git(['rev-parse', 'push-src'], { cwd: work });
  const pack = execFileSync('git', ['pack-objects', '--stdout', '--thin', '--revs', '--delta-base-offset', '-q'], { cwd: work, input: `${newId}\n^${oldId}\n`, maxBuffer: 1 << 30, env: { ...process.env, ...GIT_ENV } });
  const zero = '0'.repeat(40);
  const head = Buffer.from(pkt(`${zero} ${newId} refs/heads/bench-judged\0report-status side-band-64k object-format=sha1 agent=bench\n`) + '0000');
  const decoded = j.decodeReceivePack(Buffer.concat([head, pack]), true);
  if (decoded.status !== 'complete') throw new Error(`push not decoded: ${JSON.stringify(decoded)}`);
  const request = decoded.request;
  const samples = { mirror_refresh_ms: [], index_pack_ms: [], inspect_ms: [], scan_ms: [] };
  let facts;
  let scan;
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    await mirror.refresh();
    samples.mirror_refresh_ms.push(performance.now() - t);
    t = performance.now();
    const inspection = await j.inspectPush({ mirrorDir: mirror.gitDir, scratchDir: join(dir, 'scratch'), request, pack });
    samples.inspect_ms.push(performance.now() - t);
    facts = inspection.refs[0];
    const quarantine = mkdtempSync(join(dir, 'quarantine-'));
    const objects = join(quarantine, 'objects');
    mkdirSync(join(objects, 'pack'), { recursive: true });
    const env = { GIT_DIR: mirror.gitDir, GIT_OBJECT_DIRECTORY: objects, GIT_ALTERNATE_OBJECT_DIRECTORIES: join(mirror.gitDir, 'objects') };
    t = performance.now();
    await j.runGit(['index-pack', '--stdin', '--fix-thin'], { env, stdin: pack, timeoutMs: 600_000 });
    samples.index_pack_ms.push(performance.now() - t);
    t = performance.now();
    scan = await j.scanPushedSecrets({ mirrorDir: mirror.gitDir, quarantineObjectDir: objects, updates: request.commands });
    samples.scan_ms.push(performance.now() - t);
    rmSync(quarantine, { recursive: true, force: true });
    process.stderr.write(`judgment round ${r + 1}: inspect ${samples.inspect_ms.at(-1).toFixed(0)} ms (index-pack alone ${samples.index_pack_ms.at(-1).toFixed(0)} ms), scan ${samples.scan_ms.at(-1).toFixed(0)} ms\n`);
  }
  const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Number(median(v).toFixed(1))]));
  const beyond = samples.inspect_ms.map((v, i) => v - samples.index_pack_ms[i] + samples.scan_ms[i]);
  return {
    ...m,
    judgment_beyond_index_pack_ms: Number(median(beyond).toFixed(1)),
    pack_bytes: pack.length,
    commits: facts.commits,
    kind: facts.kind,
    scan: { complete: scan.complete, commits: scan.commits, files: scan.files, added_bytes: scan.addedBytes, findings: scan.findingsTotal, binary_files: scan.binaryFiles },
  };
}

function timed(fn) {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
}

export async function main(argv) {
  const opts = parseArgs(argv);
  const { upstream: cached, work } = await ensureRepository(opts);
  if (opts.prepareOnly) return void process.stderr.write(`repository cached in ${opts.cache}\n`);
  if (!which('nginx')) throw new Error('nginx is required (apt-get install nginx-light)');
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-git-'));
  for (const d of ['body', 'proxy', 'fcgi', 'uwsgi', 'scgi', 'clones']) mkdirSync(join(dir, d));
  const stops = [];
  try {
    // This run's upstream: objects hard-linked from the cache, so pushes never change the cache.
    const projectRoot = join(dir, 'root');
    git(['clone', '-q', '--bare', '--local', cached, join(projectRoot, 'bench.git')]);
    const upstream = join(projectRoot, 'bench.git');
    const repoPackBytes = packBytes(upstream);
    const commits = Number(git(['rev-list', '--count', 'main'], { cwd: upstream }));

    const backendPort = await freePort();
    const backend = startProcess(process.execPath, [join(root, 'bench/lib/git-http-backend.mjs'), String(backendPort), projectRoot]);
    stops.push(backend);
    await waitForPort(backendPort);
    const nginxPort = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, nginxPort, backendPort));
    const nginx = startProcess(which('nginx'), ['-c', join(dir, 'nginx.conf'), '-e', join(dir, 'nginx-error.log')]);
    stops.push(nginx);
    await waitForPort(nginxPort);
    const gatehouse = await startGatehouse(dir, backendPort, opts.bundle);
    if (gatehouse.proc) stops.push(gatehouse.proc);
    else process.stderr.write(`Gatehouse: MISSING from this run (${gatehouse.missing}); measuring direct and nginx only\n`);

    const targets = {
      direct: { url: `http://127.0.0.1:${backendPort}/bench.git`, env: {} },
      nginx: { url: `http://127.0.0.1:${nginxPort}/bench.git`, env: {} },
      ...(gatehouse.proc ? { gatehouse: { url: gatehouse.url, env: gatehouse.env } } : {}),
    };
    // One untimed push through every target first: Gatehouse's first push creates its mirror of
    // the upstream (a full fetch), which is set-up, not the judgment of a push.
    for (const [name, t] of Object.entries(targets)) {
      const ref = `refs/heads/bench-warmup-${name}`;
      git(['push', '-q', t.url, `push-src:${ref}`], { cwd: work, env: t.env });
      git(['update-ref', '-d', ref], { cwd: upstream });
    }
    const clone = {};
    const push = {};
    let n = 0;
    for (let round = 0; round < opts.rounds; round++) {
      // Alternate the order from round to round so machine noise spreads evenly.
      const names = Object.keys(targets);
      if (round % 2 === 1) names.reverse();
      for (const name of names) {
        const t = targets[name];
        const dest = join(dir, 'clones', `c${n++}`);
        const cloneS = timed(() => git(['clone', '-q', '--bare', t.url, dest], { env: t.env }));
        const received = packBytes(dest);
        rmSync(dest, { recursive: true, force: true });
        (clone[name] ??= []).push({ seconds: cloneS, mb_per_s: received / 1e6 / cloneS });
        const ref = `refs/heads/bench-${name}-${round}`;
        const pushS = timed(() => git(['push', '-q', t.url, `push-src:${ref}`], { cwd: work, env: t.env }));
        // Removed upstream (not timed), so the next push sends the same commits again.
        git(['update-ref', '-d', ref], { cwd: upstream });
        (push[name] ??= []).push({ seconds: pushS });
        process.stderr.write(`round ${round + 1} ${name.padEnd(9)} clone ${cloneS.toFixed(2)} s (${(received / 1e6 / cloneS).toFixed(1)} MB/s)  push of ${opts.pushCommits} commits ${pushS.toFixed(2)} s\n`);
      }
    }
    const med = (xs, k) => Number(median(xs.map((x) => x[k])).toFixed(3));
    const runs = Object.fromEntries(Object.keys(targets).map((name) => [name, { clone_s: med(clone[name], 'seconds'), clone_mb_per_s: med(clone[name], 'mb_per_s'), push_s: med(push[name], 'seconds') }]));
    // Ratios within each round (same machine state), then the median.
    const perRound = (a, b, pick) => Number(median(clone[a].map((_, i) => pick(a, i) / pick(b, i))).toFixed(3));
    const ratios = { 'clone:nginx/direct': perRound('nginx', 'direct', (x, i) => clone[x][i].mb_per_s) };
    const added = {};
    if (targets.gatehouse) {
      ratios['clone:gatehouse/nginx'] = perRound('gatehouse', 'nginx', (x, i) => clone[x][i].mb_per_s);
      ratios['clone:gatehouse/direct'] = perRound('gatehouse', 'direct', (x, i) => clone[x][i].mb_per_s);
      added.push_gatehouse_minus_nginx_s = Number(median(push.gatehouse.map((p, i) => p.seconds - push.nginx[i].seconds)).toFixed(3));
    }

    process.stderr.write('measuring the judgment of the push in process\n');
    const judgment = await measureJudgment(await loadJudgment(dir), dir, upstream, work, opts.rounds);

    const result = {
      date: new Date().toISOString(),
      repository: { pack_mb: Number((repoPackBytes / 1e6).toFixed(1)), commits, push_commits: opts.pushCommits },
      rounds: opts.rounds,
      gatehouse: gatehouse.proc ? 'measured' : `missing: ${gatehouse.missing}`,
      runs,
      ratios,
      added,
      judgment,
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    writeFileSync(join(root, 'bench/results/git.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const s of stops.reverse()) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
