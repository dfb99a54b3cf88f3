// `gatehouse token` warm: how long a tool waits for a cached token (Claude Code runs its
// apiKeyHelper at start, every 5 minutes and after a 401; other tools may run it per use). Targets,
// spawned one after the other in every round (alternating, so load drifts hit all alike):
//   sh_helper   dist/gatehouse-token GW            the POSIX-shell fast path (its Node fallback is
//                                                  /bin/false here: a fallback would fail the run)
//   node_token  node dist/gateway.mjs token GW     the Node command's cached path
//   sh_empty    /bin/sh -c :                       floor: starting a shell
//   node_empty  node -e 0                          floor: starting Node
// The login is a cache entry written here (an unsigned JWT-shaped token, valid for an hour); the
// first `node_token` run writes the helper's entry from it, as after an upgrade. Needs `npm run
// build` first (dist/). Writes bench/results/token.json; prints p50/p95 in ms.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const opts = { runs: 200, warmup: 10 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') opts.runs = Number(argv[++i]);
    else if (argv[i] === '--warmup') opts.warmup = Number(argv[++i]);
    else throw new Error(`unknown option ${argv[i]} (--runs N --warmup N)`);
  }
  return opts;
}

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

export async function main(argv) {
  const opts = parseArgs(argv);
  const bundle = join(root, 'dist/gateway.mjs');
  const helper = join(root, 'dist/gatehouse-token');
  if (!existsSync(bundle) || !existsSync(helper)) throw new Error('bench token: run `npm run build` first (needs dist/gateway.mjs and dist/gatehouse-token)');

  const home = mkdtempSync(join(tmpdir(), 'gh-bench-token-'));
  try {
    const gateway = 'https://gatehouse.example.com';
    const issuer = 'https://idp.example.com';
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    const token = `${b64({ alg: 'RS256' })}.${b64({ sub: 'bench', exp: expiresAt })}.${'s'.repeat(342)}`;
    // The cache as `gatehouse login` writes it (gateway/src/cli/login/token-cache.ts).
    const env = { PATH: '/usr/bin:/bin', HOME: home, XDG_CONFIG_HOME: join(home, 'cfg') };
    const tokens = join(env.XDG_CONFIG_HOME, 'gatehouse/tokens');
    mkdirSync(tokens, { recursive: true, mode: 0o700 });
    const hash = (s) => createHash('sha256').update(s).digest('hex').slice(0, 16);
    const login = { version: 1, gateway, issuer, clientId: 'cli', scopes: ['openid'], idToken: token, expiresAt, refreshToken: 'unused', savedAt: Date.now() };
    writeFileSync(join(tokens, `${hash(gateway)}-${hash(issuer)}.json`), JSON.stringify(login), { mode: 0o600 });

    const targets = {
      node_token: [process.execPath, [bundle, 'token', gateway]],
      sh_helper: [helper, [gateway, '--', '/bin/false']],
      sh_empty: ['/bin/sh', ['-c', ':']],
      node_empty: [process.execPath, ['-e', '0']],
    };
    const once = (name) => {
      const [file, args] = targets[name];
      const started = process.hrtime.bigint();
      const r = spawnSync(file, args, { env, encoding: 'utf8' });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
      if ((name === 'node_token' || name === 'sh_helper') && r.stdout.trim() !== token) throw new Error(`${name} printed something other than the cached token`);
      return ms;
    };
    // node_token first: it writes the helper's entry (the helper alone would fail on /bin/false).
    const names = Object.keys(targets);
    for (let i = 0; i < opts.warmup; i++) for (const name of names) once(name);
    const samples = Object.fromEntries(names.map((n) => [n, []]));
    for (let i = 0; i < opts.runs; i++) for (const name of i % 2 ? [...names].reverse() : names) samples[name].push(once(name));

    const figures = Object.fromEntries(names.map((n) => [n, { p50_ms: +percentile(samples[n], 50).toFixed(2), p95_ms: +percentile(samples[n], 95).toFixed(2) }]));
    const result = {
      when: new Date().toISOString(),
      runs: opts.runs,
      target_ms: 50,
      figures,
      ratio_node_token_over_sh_helper_p50: +(figures.node_token.p50_ms / figures.sh_helper.p50_ms).toFixed(1),
    };
    for (const [name, f] of Object.entries(figures)) console.log(`${name.padEnd(11)} p50 ${f.p50_ms.toFixed(1).padStart(7)} ms   p95 ${f.p95_ms.toFixed(1).padStart(7)} ms`);
    console.log(`node_token / sh_helper (p50): ${result.ratio_node_token_over_sh_helper_p50}x`);
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    writeFileSync(join(root, 'bench/results/token.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
