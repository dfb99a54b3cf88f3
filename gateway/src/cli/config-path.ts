import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';

/** Where `gatehouse dev` writes its configuration; other commands find it there by default. */
export const DEV_CONFIG_PATH = './.gatehouse/dev.yaml';

/** `GATEHOUSE_CONFIG`, else the quickstart's configuration if it exists. */
export function defaultConfigPath(): string | undefined {
  if (process.env.GATEHOUSE_CONFIG) return process.env.GATEHOUSE_CONFIG;
  return existsSync(DEV_CONFIG_PATH) ? DEV_CONFIG_PATH : undefined;
}

/**
 * Whether `dir` is a development directory, the only place where a command may pick up a
 * configuration nobody named (`.gatehouse/dev.yaml`, as `gatehouse dev` writes it):
 * - `.gatehouse` is a directory and `.gatehouse/dev.yaml` a regular file, neither a symbolic link;
 * - both are owned by the current user and writable by nobody else (no group or other write bit);
 * - and (checked by the caller, once the file is parsed) its configuration says `mode: development`.
 * A stray or planted file (a shared or world-writable directory, a link to another configuration,
 * a production configuration left in a working copy) is never started implicitly.
 * Returns undefined when it is one, else why not.
 */
export function notDevDirectoryReason(dir = '.'): string | undefined {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  for (const [path, kind] of [[join(dir, '.gatehouse'), 'directory'], [join(dir, '.gatehouse', 'dev.yaml'), 'file']] as const) {
    let info;
    try {
      info = lstatSync(path);
    } catch {
      return `${path} does not exist`;
    }
    if (info.isSymbolicLink()) return `${path} is a symbolic link`;
    if (kind === 'directory' ? !info.isDirectory() : !info.isFile()) return `${path} is not a ${kind}`;
    if (uid !== undefined && info.uid !== uid) return `${path} is not owned by the current user`;
    if ((info.mode & 0o022) !== 0) return `${path} is writable by group or others`;
  }
  return undefined;
}
