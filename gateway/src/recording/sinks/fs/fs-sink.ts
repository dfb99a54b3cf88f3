import { randomBytes } from 'node:crypto';
import { constants as fsConstants, writeSync } from 'node:fs';
import { link, mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { GatehouseError } from '../../../errors';
import { assertValidKey, type LogSink } from '../sink';

/**
 * A log sink on a local directory. Durable means: data written and fdatasync'ed, and for a new
 * file its directory entry (and any directory created for it) fsync'ed. `put` writes a temporary
 * file and hard-links it into place, which is atomic and refuses an existing key; finished
 * objects are made read-only (0444) as a signal, though only the chain proves integrity.
 */
export class FsLogSink implements LogSink {
  readonly name = 'fs';
  readonly root: string;
  private readonly knownDirs = new Set<string>();
  private readonly appending = new Map<string, { fh: FileHandle; size: number }>();

  constructor(root: string) {
    this.root = resolve(root);
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const file = this.pathOf(key, 'put');
    const dir = dirname(file);
    const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    let fh: FileHandle | undefined;
    try {
      await this.ensureDir(dir);
      fh = await open(tmp, 'wx', 0o644);
      await writeAll(fh, bytes);
      await fh.datasync();
      await fh.chmod(0o444);
      await fh.close();
      fh = undefined;
      await link(tmp, file);
      await unlink(tmp);
      await fsyncDir(dir);
    } catch (e) {
      if (fh) await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      this.knownDirs.delete(dir);
      throw this.failure(e, 'put', key);
    }
  }

  async append(key: string, bytes: Uint8Array): Promise<void> {
    const file = this.pathOf(key, 'append');
    const dir = dirname(file);
    let state = this.appending.get(key);
    if (!state) {
      try {
        await this.ensureDir(dir);
        // O_EXCL: the first append creates the object and never adopts someone else's file.
        const fh = await open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_APPEND, 0o644);
        state = { fh, size: 0 };
        this.appending.set(key, state);
        await fsyncDir(dir);
      } catch (e) {
        if (state) await this.dropEmpty(key, file).catch(() => undefined);
        this.knownDirs.delete(dir);
        throw this.failure(e, 'append', key);
      }
    }
    try {
      await writeAll(state.fh, bytes);
      await state.fh.datasync();
      state.size += bytes.length;
    } catch (e) {
      let torn = false;
      try {
        // All-or-nothing: cut back to what was durable before this call.
        if (state.size === 0) await this.dropEmpty(key, file);
        else {
          await state.fh.truncate(state.size);
          await state.fh.datasync();
        }
      } catch {
        torn = true;
      }
      throw this.failure(e, 'append', key, torn);
    }
  }

  async sealAppend(key: string): Promise<void> {
    const state = this.appending.get(key);
    if (!state) return;
    this.appending.delete(key);
    try {
      await state.fh.chmod(0o444);
    } finally {
      await state.fh.close();
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    const file = this.pathOf(key, 'get');
    try {
      return await readFile(file);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return undefined;
      throw this.failure(e, 'get', key);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    if (base !== '') this.pathOf(base, 'list');
    const keys: string[] = [];
    const walk = async (relDir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(relDir === '' ? this.root : join(this.root, relDir), { withFileTypes: true });
      } catch (e) {
        const code = errnoOf(e);
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw this.failure(e, 'list', prefix);
      }
      for (const entry of entries) {
        if (entry.name.startsWith('.tmp-')) continue;
        const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
        if (entry.isDirectory()) {
          // Descend only where keys with this prefix can live.
          if (prefix.startsWith(rel + '/') || (rel + '/').startsWith(prefix) || rel.startsWith(prefix)) await walk(rel);
        } else if (entry.isFile() && rel.startsWith(prefix)) keys.push(rel);
      }
    };
    await walk(base);
    return keys.sort();
  }

  async close(): Promise<void> {
    const keys = [...this.appending.keys()];
    for (const key of keys) await this.sealAppend(key).catch(() => undefined);
  }

  private async dropEmpty(key: string, file: string): Promise<void> {
    const state = this.appending.get(key);
    this.appending.delete(key);
    if (state) await state.fh.close().catch(() => undefined);
    await unlink(file);
    await fsyncDir(dirname(file));
  }

  private pathOf(key: string, op: string): string {
    try {
      assertValidKey(key);
    } catch (e) {
      throw new GatehouseError('GH_ERR_RECORDING_FAILED', `log sink fs: ${(e as Error).message}`, {
        details: { sink: 'fs', op, reason: 'invalid-key' },
      });
    }
    return this.root + sep + key.split('/').join(sep);
  }

  /** mkdir -p, then fsync the parent of every directory it created, so new entries survive a crash. */
  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    const first = await mkdir(dir, { recursive: true });
    if (first !== undefined) {
      const created: string[] = [];
      for (let d = dir; ; d = dirname(d)) {
        created.push(d);
        if (d === first || dirname(d) === d) break;
      }
      for (const d of created.reverse()) await fsyncDir(dirname(d));
    }
    this.knownDirs.add(dir);
  }

  private failure(e: unknown, op: string, key: string, torn = false): GatehouseError {
    if (e instanceof GatehouseError) return e;
    const code = errnoOf(e) ?? 'UNKNOWN';
    const reason = REASONS[code] ?? 'io';
    const details: Record<string, unknown> = { sink: 'fs', op, key, reason, errno: code };
    if (torn) details.torn = true;
    const what = reason === 'exists' ? 'object already exists (log objects are never overwritten)' : `${REASON_TEXT[reason] ?? 'I/O error'} (${code})`;
    return new GatehouseError('GH_ERR_RECORDING_FAILED', `log sink fs cannot ${op} ${key}: ${what}`, { details, cause: e });
  }
}

const REASONS: Record<string, string> = {
  EEXIST: 'exists',
  EACCES: 'permission',
  EPERM: 'permission',
  EROFS: 'permission',
  ENOSPC: 'no-space',
  EDQUOT: 'no-space',
  EFBIG: 'no-space',
  ENOTDIR: 'not-a-directory',
  EISDIR: 'not-a-directory',
  ENOENT: 'not-found',
};

const REASON_TEXT: Record<string, string> = {
  permission: 'permission denied',
  'no-space': 'no space left on the log volume',
  'not-a-directory': 'a path component is not a directory',
  'not-found': 'path not found',
  io: 'I/O error',
};

function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
}

/**
 * Appends up to this size are written to the page cache directly from the event loop (a few µs);
 * a thread-pool round trip costs more than that in CPU and adds its latency to every strict
 * request waiting for the batch. The datasync that follows always runs on the thread pool.
 */
const SYNC_WRITE_MAX_BYTES = 64 * 1024;

async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let off = 0;
  if (bytes.length <= SYNC_WRITE_MAX_BYTES) {
    while (off < bytes.length) off += writeSync(fh.fd, bytes, off, bytes.length - off);
    return;
  }
  while (off < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
    off += bytesWritten;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
