import type { ChildProcess } from 'node:child_process';

/** Resolves with the first JSON log line (stderr) of a gateway process whose msg is `msg`. */
export function waitForLog(child: ChildProcess, msg: string, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`no "${msg}" log line within ${timeoutMs} ms:\n${buffer}`)), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (const line of buffer.split('\n')) {
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry.msg === msg) {
            clearTimeout(timer);
            resolve(entry);
          }
        } catch {
          // partial or non-JSON line
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`gateway exited (${code}) before "${msg}":\n${buffer}`)));
  });
}
