// AWS APIs benchmark: S3 PUT and GET of small and large objects with @aws-sdk/client-s3 against the
// S3 stand-in (s3rver) directly, behind nginx (reverse proxy, the peer) and behind Gatehouse (an
// `aws` connection: SigV4 verification of the caller, judgment, recording, re-signing with the
// brokered credential), side by side. Reports requests/s and MB/s per path and the ratios to direct.
//
//   npm run bench -- aws [--sizes 1024,67108864] [--count N] [--large-count N] [--rounds N] [--bundle FILE]
//
// Smoke: npm run bench -- aws --sizes 1024,65536 --count 20 --large-count 2 --rounds 1
// Writes bench/results/aws.json.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, median, startProcess, waitForPort, which } from './lib/proc.mjs';
import { nginxProxyConfig } from './lib/nginx.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUCKET = 'bench';
const REGION = 'eu-west-1';
// s3rver's fixed development key pair: the brokered credential here.
const S3RVER_KEY = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

function parseArgs(argv) {
  const opts = { sizes: [1024, 64 * 1024 * 1024], count: 500, largeCount: 8, rounds: 3, bundle: join(root, 'dist/gateway.mjs'), out: join(root, 'bench/results/aws.json') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--sizes') opts.sizes = argv[++i].split(',').map(Number);
    else if (argv[i] === '--count') opts.count = Number(argv[++i]);
    else if (argv[i] === '--large-count') opts.largeCount = Number(argv[++i]);
    else if (argv[i] === '--rounds') opts.rounds = Number(argv[++i]);
    else if (argv[i] === '--bundle') opts.bundle = argv[++i];
    else if (argv[i] === '--out') opts.out = argv[++i];
    else throw new Error(`unknown option ${argv[i]} (--sizes A,B --count N --large-count N --rounds N --bundle FILE --out FILE)`);
  }
  return opts;
}

function nginxConfig(dir, port, upstreamPort) {
  return nginxProxyConfig(dir, port, upstreamPort, { unlimitedBody: true, location: ['proxy_set_header Host $http_host', 'proxy_buffering off', 'proxy_request_buffering off'] });
}

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
  - name: s3
    kind: aws
    service: s3
    region: ${REGION}
    route: { pathPrefix: /aws/s3 }
    endpoint: http://127.0.0.1:${upstreamPort}
    callerCredentials: { keys: env:BENCH_AWS_KEYRING }
    brokered: { source: static, accessKeyId: env:BENCH_AWS_ID, secretAccessKey: env:BENCH_AWS_SECRET }
recording:
  mode: buffered
  sink: { type: fs, path: ${dir}/log }
state:
  embeddedPath: memory
logging: { level: warn }
`;
}

async function startGatehouse(dir, upstreamPort, bundle) {
  if (!existsSync(bundle)) return { missing: `${bundle} is not built (npm run build)` };
  const port = await freePort();
  const adminPort = await freePort();
  const cfg = join(dir, 'gatehouse.yaml');
  writeFileSync(cfg, gatehouseConfig(dir, port, adminPort, upstreamPort));
  const env = { BENCH_AWS_KEYRING: JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } }), BENCH_AWS_ID: S3RVER_KEY.accessKeyId, BENCH_AWS_SECRET: S3RVER_KEY.secretAccessKey };
  try {
    execFileSync(process.execPath, [bundle, 'check-config', cfg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  } catch (e) {
    const why = `${e.stdout ?? ''}${e.stderr ?? ''}`.split('\n').filter((l) => l.trim() !== '').slice(0, 3).join(' | ');
    return { missing: `this build does not accept an aws connection: ${why}` };
  }
  const gw = startProcess(process.execPath, [bundle, 'run', '--config', cfg], { env });
  try {
    await waitForPort(port, 30000);
  } catch {
    await gw.stop();
    return { missing: `gatehouse did not start: ${gw.stderr()}` };
  }
  const token = execFileSync(process.execPath, [bundle, 'token', '--dev', '--sub', 'bench', '--groups', 'developers', '--config', cfg], { encoding: 'utf8' }).trim();
  const printed = execFileSync(process.execPath, [bundle, 'aws-credentials', `http://127.0.0.1:${port}`, '--connection', 's3', '--token', token], { encoding: 'utf8' });
  const c = JSON.parse(printed);
  return { proc: gw, endpoint: `http://127.0.0.1:${port}/aws/s3`, credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken } };
}

/** PUTs then GETs `count` objects of `size` bytes, one at a time; returns per-phase requests/s and MB/s. */
async function measure(S3, client, size, count, tag) {
  const { PutObjectCommand, GetObjectCommand } = S3;
  const body = randomBytes(size);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${tag}/${size}/${i}`, Body: body }));
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${tag}/${size}/${i}` }));
    const bytes = await got.Body.transformToByteArray();
    if (bytes.length !== size) throw new Error(`GET returned ${bytes.length} bytes, expected ${size}`);
  }
  const t2 = process.hrtime.bigint();
  const s = (a, b) => Number(b - a) / 1e9;
  return {
    put: { rps: count / s(t0, t1), mbps: (count * size) / 1e6 / s(t0, t1) },
    get: { rps: count / s(t1, t2), mbps: (count * size) / 1e6 / s(t1, t2) },
  };
}

export async function main(argv) {
  const opts = parseArgs(argv);
  const S3 = await import('@aws-sdk/client-s3');
  const { default: S3rver } = await import('s3rver');
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-aws-'));
  mkdirSync(join(dir, 's3'));
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir, 's3'), configureBuckets: [{ name: BUCKET }], allowMismatchedSignatures: true });
  const { port: s3Port } = await s3rver.run();
  const stops = [async () => s3rver.close()];
  const targets = { direct: { endpoint: `http://127.0.0.1:${s3Port}`, credentials: S3RVER_KEY } };
  try {
    if (which('nginx')) {
      const port = await freePort();
      writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, s3Port));
      const nginx = startProcess('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir]);
      stops.push(() => nginx.stop());
      await waitForPort(port);
      targets.nginx = { endpoint: `http://127.0.0.1:${port}`, credentials: S3RVER_KEY };
    } else process.stderr.write('nginx not found: the nginx column is skipped\n');
    const gh = await startGatehouse(dir, s3Port, opts.bundle);
    if (gh.missing) process.stderr.write(`gatehouse skipped: ${gh.missing}\n`);
    else {
      stops.push(() => gh.proc.stop());
      targets.gatehouse = { endpoint: gh.endpoint, credentials: gh.credentials };
    }

    const results = {};
    for (const size of opts.sizes) {
      const count = size >= 1024 * 1024 ? opts.largeCount : opts.count;
      results[size] = {};
      for (const [name, t] of Object.entries(targets)) results[size][name] = [];
      for (let round = 0; round < opts.rounds; round++) {
        // Alternate the order each round: the machine's noise falls on every path alike.
        const order = Object.keys(targets);
        if (round % 2 === 1) order.reverse();
        for (const name of order) {
          const t = targets[name];
          const client = new S3.S3Client({ endpoint: t.endpoint, forcePathStyle: true, region: REGION, credentials: t.credentials, maxAttempts: 1 });
          results[size][name].push(await measure(S3, client, size, count, `${name}-r${round}`));
          client.destroy();
        }
      }
    }
    const summary = {};
    for (const [size, byTarget] of Object.entries(results)) {
      summary[size] = {};
      for (const [name, runs] of Object.entries(byTarget)) {
        summary[size][name] = {
          putRps: median(runs.map((r) => r.put.rps)),
          putMBps: median(runs.map((r) => r.put.mbps)),
          getRps: median(runs.map((r) => r.get.rps)),
          getMBps: median(runs.map((r) => r.get.mbps)),
        };
      }
      const direct = summary[size].direct;
      for (const [name, m] of Object.entries(summary[size])) {
        if (name === 'direct') continue;
        m.putRatio = m.putRps / direct.putRps;
        m.getRatio = m.getRps / direct.getRps;
      }
    }
    for (const [size, byTarget] of Object.entries(summary)) {
      for (const [name, m] of Object.entries(byTarget)) {
        const ratio = m.putRatio === undefined ? '' : `  (PUT ${m.putRatio.toFixed(2)}x, GET ${m.getRatio.toFixed(2)}x of direct)`;
        console.log(`${String(size).padStart(9)} B  ${name.padEnd(9)}  PUT ${m.putRps.toFixed(1)} req/s ${m.putMBps.toFixed(1)} MB/s  GET ${m.getRps.toFixed(1)} req/s ${m.getMBps.toFixed(1)} MB/s${ratio}`);
      }
    }
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, JSON.stringify({ date: new Date().toISOString(), options: { ...opts, bundle: undefined, out: undefined }, summary, runs: results }, null, 2) + '\n');
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
