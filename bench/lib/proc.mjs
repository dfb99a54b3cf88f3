// Process helpers for benchmarks: start servers, wait for ports, run wrk and parse its output.
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';

export function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port, timeoutMs = 15000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => { sock.destroy(); resolve(true); });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a long-running process pinned to `cpu` (taskset) when given; returns a stopper. */
export function startProcess(cmd, args, { cpu, env, quiet = true } = {}) {
  const argv = cpu !== undefined && which('taskset') ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
  const child = spawn(argv[0], argv[1], { env: { ...process.env, ...env }, stdio: quiet ? ['ignore', 'ignore', 'pipe'] : 'inherit' });
  let stderr = '';
  child.stderr?.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  return {
    child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => { const t = setTimeout(() => { child.kill('SIGKILL'); r(); }, 10000); child.once('exit', () => { clearTimeout(t); r(); }); });
    },
  };
}

/** Runs wrk and returns { rps, p50, p99 } (latencies in ms). */
export function wrk(url, { connections, seconds, cpu, headers = {}, threads = 1 }) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url);
  const argv = cpu !== undefined && which('taskset') ? ['taskset', '-c', String(cpu), 'wrk', ...args] : ['wrk', ...args];
  return wrkSummary(execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' }));
}

/** What the benchmarks read from wrk's `--latency` output: { rps, requests, p50, p99 (ms), non2xx, errors }. */
export function wrkSummary(out) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors: (.*)/.exec(out)?.[1] ?? null;
  const pct = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (!Number.isFinite(rps)) throw new Error(`could not parse wrk output:\n${out}`);
  return { rps, requests, p50: pct(50), p99: pct(99), non2xx, errors };
}

let clockTicks;

/**
 * CPU time in microseconds that a process and its live children (nginx's worker) have used so far,
 * user and system, every thread included; undefined where /proc is missing. The difference over a
 * run divided by its requests is the proxy's CPU cost per request: unlike requests/s it does not
 * count the time the proxy waits for wrk or the upstream on the other core.
 */
export function cpuMicros(pid) {
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    let ticks = 0;
    const visit = (p) => {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // Fields after the command name: state is field 3, utime 14 and stime 15 (proc(5)).
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
      for (const t of readdirSync(`/proc/${p}/task`)) {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(' ')) if (c) visit(c);
      }
    };
    visit(pid);
    return (ticks * 1e6) / clockTicks;
  } catch {
    return undefined;
  }
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
