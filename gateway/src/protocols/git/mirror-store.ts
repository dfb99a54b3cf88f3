import { createHash, randomBytes } from 'node:crypto';
import { lstat, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitMirror } from './mirror';

/**
 * The bare mirrors one git connection keeps under `<dataDir>/mirrors`, one per repository pushed
 * to, bounded in disk use: after each refresh the least recently used mirrors that no push is
 * using are removed until the total fits `maxBytes` and the count fits `maxRepositories` (a removed
 * mirror is fetched again, whole, on the next push to its repository). Mirrors left by an earlier
 * run are adopted (last used = their modification time), and quarantines and spooled bodies an
 * earlier run left behind (a crash mid-push) are removed before the first push is judged.
 */
export interface MirrorStoreOptions {
  /** The connection's data directory (mirrors, quarantines and spooled bodies live under it). */
  readonly dataDir: string;
  /** @default 10 GiB */
  readonly maxBytes?: number;
  /** @default 100 */
  readonly maxRepositories?: number;
  /** Makes the mirror of `repository` at `gitDir`. */
  readonly create: (repository: string, gitDir: string) => GitMirror;
  /** Time for last use (tests). @default Date.now */
  readonly now?: () => number;
}

export interface MirrorLease {
  readonly mirror: GitMirror;
  /** Ends the use (idempotent): the mirror may be evicted from then on, and the bounds are enforced again. */
  release(): Promise<void>;
}

interface Entry {
  readonly gitDir: string;
  mirror: GitMirror | undefined;
  lastUsed: number;
  users: number;
  /** Bytes on disk as of the last measurement. */
  bytes: number;
}

export class MirrorStore {
  private readonly entries = new Map<string, Entry>();
  /** Keyed by mirror directory: removals in progress (a lease of that repository waits for its end). */
  private readonly removing = new Map<string, Promise<void>>();
  private started: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: MirrorStoreOptions) {
    this.now = options.now ?? Date.now;
    this.runSpoolDir = join(this.spoolsDir, `run-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** Where spooled request bodies live: one folder per run of the gateway, under `<dataDir>/spool`. */
  get spoolsDir(): string {
    return join(this.options.dataDir, 'spool');
  }

  /** This run's spool folder (never removed by start()). */
  readonly runSpoolDir: string;

  get mirrorsDir(): string {
    return join(this.options.dataDir, 'mirrors');
  }

  /** Where quarantines are made. */
  get quarantineDir(): string {
    return join(this.options.dataDir, 'quarantine');
  }

  /** Once per store, before the first lease: stale quarantines and spools removed, earlier mirrors adopted. */
  start(): Promise<void> {
    this.started ??= this.startOnce();
    return this.started;
  }

  /** The mirror of `repository`, in use until released (never evicted meanwhile). */
  async lease(repository: string): Promise<MirrorLease> {
    await this.start();
    const gitDir = join(this.mirrorsDir, `${createHash('sha256').update(repository).digest('hex').slice(0, 24)}.git`);
    await this.removing.get(gitDir);
    let entry = this.entries.get(gitDir);
    if (entry === undefined) {
      entry = { gitDir, mirror: undefined, lastUsed: 0, users: 0, bytes: 0 };
      this.entries.set(gitDir, entry);
    }
    entry.mirror ??= this.options.create(repository, gitDir);
    entry.users++;
    entry.lastUsed = this.now();
    let released = false;
    const e = entry;
    return {
      mirror: entry.mirror,
      release: async () => {
        if (released) return;
        released = true;
        e.users--;
        e.lastUsed = this.now();
        await this.evict();
      },
    };
  }

  /**
   * Measures `mirror`'s directory (after a refresh changed it) and evicts the least recently used
   * idle mirrors until the bounds hold. Mirrors in use are never removed, so the total may stay over
   * `maxBytes` while they are.
   */
  async refreshed(mirror: GitMirror): Promise<void> {
    const entry = this.entries.get(mirror.gitDir);
    if (entry !== undefined) entry.bytes = await directoryBytes(entry.gitDir);
    await this.evict();
  }

  /** Total bytes and count of the mirrors known (for tests and metrics). */
  usage(): { readonly bytes: number; readonly repositories: number } {
    let bytes = 0;
    for (const e of this.entries.values()) bytes += e.bytes;
    return { bytes, repositories: this.entries.size };
  }

  private async evict(): Promise<void> {
    const maxBytes = this.options.maxBytes ?? 10 * 1024 ** 3;
    const maxRepositories = this.options.maxRepositories ?? 100;
    let { bytes, repositories } = this.usage();
    const idle = [...this.entries.values()].filter((e) => e.users === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const e of idle) {
      if (bytes <= maxBytes && repositories <= maxRepositories) break;
      this.entries.delete(e.gitDir);
      bytes -= e.bytes;
      repositories--;
      const removal = rm(e.gitDir, { recursive: true, force: true }).finally(() => this.removing.delete(e.gitDir));
      this.removing.set(e.gitDir, removal);
      await removal;
    }
  }

  private async startOnce(): Promise<void> {
    const { dataDir } = this.options;
    // Quarantines are made only after a lease, so whatever is there was left by an earlier run.
    for (const name of await names(this.quarantineDir)) if (name.startsWith('quarantine-')) await rm(join(this.quarantineDir, name), { recursive: true, force: true });
    // Spools are not: start() runs on the first lease, and by then the first push's body is already
    // spooled in this run's folder (removing it failed that push with ENOENT). Earlier runs' folders
    // and the flat layout before per-run folders go.
    for (const name of await names(dataDir)) if (name.startsWith('gatehouse-spool-')) await rm(join(dataDir, name), { recursive: true, force: true });
    for (const name of await names(this.spoolsDir)) if (join(this.spoolsDir, name) !== this.runSpoolDir) await rm(join(this.spoolsDir, name), { recursive: true, force: true });
    for (const name of await names(this.mirrorsDir)) {
      if (!name.endsWith('.git')) continue;
      const gitDir = join(this.mirrorsDir, name);
      const s = await stat(gitDir).catch(() => undefined);
      if (s === undefined || !s.isDirectory()) continue;
      this.entries.set(gitDir, { gitDir, mirror: undefined, lastUsed: s.mtimeMs, users: 0, bytes: await directoryBytes(gitDir) });
    }
    await this.evict();
  }
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** Bytes of the regular files under `dir` (links not followed). */
async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    let list;
    try {
      list = await readdir(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const ent of list) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) stack.push(p);
      else if (ent.isFile()) total += (await lstat(p).catch(() => undefined))?.size ?? 0;
    }
  }
  return total;
}
