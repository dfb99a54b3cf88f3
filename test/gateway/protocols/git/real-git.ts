import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Real repositories in a temporary directory, driven by the system `git`. */
export class GitWorld {
  readonly dir = mkdtempSync(join(tmpdir(), 'gh-git-'));
  private readonly env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: this.dir, GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@example.com', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.com' };

  git(cwd: string, ...args: string[]): string {
    return execFileSync('git', args, { cwd, env: this.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  }

  /** Runs git without blocking the event loop (for clients of servers in this process); never throws. */
  gitAsync(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile('git', args, { cwd, env: this.env, encoding: 'utf8' }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      });
    });
  }

  /** A bare repository that accepts atomic pushes and push options. */
  bare(name: string): string {
    const p = join(this.dir, name);
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', p], { env: this.env });
    this.git(p, 'config', 'receive.advertisePushOptions', 'true');
    this.git(p, 'config', 'receive.advertiseAtomic', 'true');
    return p;
  }

  /** A work tree with one commit on main. */
  work(name: string): string {
    const p = join(this.dir, name);
    execFileSync('git', ['init', '-q', '-b', 'main', p], { env: this.env });
    this.git(p, 'commit', '-q', '--allow-empty', '-m', 'first');
    return p;
  }

  /**
   * Runs `git push` from `work` to the bare repository `remote` through Git's `ext::` transport
   * with a `tee` in front of receive-pack: the real client's request bytes (commands, options,
   * pack) as receive-pack read them. Returns them.
   */
  capturePush(work: string, remote: string, options: readonly string[], refspecs: readonly string[]): Buffer {
    const file = join(this.dir, `capture-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    const esc = (s: string): string => s.replace(/%/g, '%%').replace(/ /g, '% ');
    const url = `ext::sh -c ${esc(`tee ${file} | git receive-pack ${remote}`)}`;
    this.git(work, '-c', 'protocol.ext.allow=always', 'push', '-q', ...options, url, ...refspecs);
    return readFileSync(file);
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
