import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { secretUnavailable } from './reference';
import type { SchemeProvider } from './scheme-provider';

export interface FileSchemeOptions {
  /** `production` refuses files every user may read; `development` warns once per file. */
  readonly mode: 'development' | 'production';
  /** Relative paths are resolved against this folder. @default process.cwd() */
  readonly baseDir?: string;
  /** Accept world-readable files in production (e.g. a platform that mounts secrets 0644). @default false */
  readonly allowWorldReadable?: boolean;
  readonly logger?: { warn(obj: object, msg?: string): void };
}

/**
 * `file:/path`: the file's content with one trailing newline removed (as `echo` and most secret
 * mounts add one). A cached value is re-read as soon as the file's mtime, size or inode changes, so a
 * rotated secret (Kubernetes swaps a symlink, an operator rewrites the file) is picked up on the next use.
 */
export function fileSchemeProvider(options: FileSchemeOptions): SchemeProvider {
  const warned = new Set<string>();
  const pathOf = (name: string): string => (isAbsolute(name) ? name : resolve(options.baseDir ?? process.cwd(), name));

  return {
    async fetch(name, ref) {
      const path = pathOf(name);
      let info;
      let content: string;
      try {
        info = await stat(path);
        if (!info.isFile()) throw secretUnavailable(ref, `${path} is not a regular file`);
        content = await readFile(path, 'utf8');
      } catch (e) {
        const code = errorCode(e);
        if (code === 'GH_ERR_SECRET_UNAVAILABLE') throw e;
        // The fs error code (ENOENT, EACCES) says why; its message would only repeat the path.
        throw secretUnavailable(ref, `${path} cannot be read (${code})`, e);
      }
      if ((info.mode & 0o004) !== 0) {
        if (options.mode === 'production' && options.allowWorldReadable !== true) {
          throw secretUnavailable(ref, `${path} is readable by every user of the machine; restrict it (chmod o-r)`);
        }
        if (!warned.has(path)) {
          warned.add(path);
          options.logger?.warn({ ref }, 'secret file is readable by every user of the machine; restrict it (chmod o-r)');
        }
      }
      const value = content.endsWith('\r\n') ? content.slice(0, -2) : content.endsWith('\n') ? content.slice(0, -1) : content;
      if (value === '') throw secretUnavailable(ref, `${path} is empty`);
      return { value, version: versionOf(info) };
    },
    async isCurrent(name, version) {
      try {
        return versionOf(await stat(pathOf(name))) === version;
      } catch {
        return false; // gone or unreadable: fetch again, which reports why
      }
    },
  };
}

function versionOf(info: { mtimeMs: number; size: number; ino: number }): string {
  return `${info.mtimeMs}:${info.size}:${info.ino}`;
}

/** fs errors may come from another realm (test runners), so read `code` without instanceof. */
function errorCode(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : 'error';
}
