import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A real, throwaway PostgreSQL server for tests: its own data directory in a temp dir, listening on
 * 127.0.0.1 (free port) and on a unix socket inside that dir, tuned for speed (no fsync), stopped
 * and removed by `stop()`. When run as root the server runs as the `postgres` system user (or
 * `nobody`), since PostgreSQL refuses to run as root.
 *
 * initdb runs once per machine and user into a cached template that each start copies (~0.1 s
 * instead of ~1 s). Clusters live in /dev/shm when writable ($GATEHOUSE_PG_TMP overrides). Binaries: $GATEHOUSE_PG_BIN, else the newest /usr/lib/postgresql/<v>/bin.
 */
export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/<database>` (trust auth, no password). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** Directory holding the unix socket `.s.PGSQL.<port>`. */
  readonly socketDir: string;
  /** Creates another empty database on the same server and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** @default 'gatehouse_test' */
  readonly database?: string;
  /** Extra `-c name=value` server settings. */
  readonly settings?: Readonly<Record<string, string>>;
  /**
   * TLS for the server (PEM texts): written into the data directory with the modes PostgreSQL
   * insists on (key 0600, owned by the server's user) and `ssl = on`. @default no TLS
   */
  readonly ssl?: { readonly cert: string; readonly key: string };
  /**
   * pg_hba.conf lines (e.g. `hostssl all app 127.0.0.1/32 md5`), written into the data directory.
   * Trust for the superuser (unix socket and 127.0.0.1) is always put first, since setup and
   * `createDatabase` log in as it. @default the template's (trust for all)
   */
  readonly hba?: readonly string[];
}

const SUPERUSER = 'postgres';
const READY_TIMEOUT_MS = 30000;

export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const bin = findBinDir();
  const owner = serverOwner();
  const template = await ensureTemplate(bin, owner);
  const database = options.database ?? 'gatehouse_test';

  await sweepAbandoned();
  const root = await mkdtemp(join(scratchDir(), 'gh-pg-'));
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'sock');
  try {
    // `cp -a` keeps the template's owner and modes (the server refuses a group/world-readable data dir)
    // and is far faster than fs.cp on thousands of small files.
    run('cp', ['-a', template, dataDir]);
    await writeFile(join(root, 'owner.pid'), String(process.pid));
    await mkdir(socketDir);
    if (owner !== undefined) await Promise.all([chown(root, owner.uid, owner.gid), chown(socketDir, owner.uid, owner.gid)]);
    const fileSettings = await writeServerFiles(dataDir, owner, options);

    let lastError: Error | undefined;
    // A free port can be taken between probing and binding; try a few.
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const started = await launch(bin, dataDir, socketDir, port, owner, { ...fileSettings, ...(options.settings ?? {}) });
      if ('error' in started) {
        lastError = started.error;
        if (/could not bind|address already in use|could not create listen socket/i.test(started.error.message)) continue;
        break;
      }
      const child = started.child;
      const admin = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
      const createDatabase = async (name: string): Promise<string> => {
        if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid test database name "${name}"`);
        const client = new pg.Client({ connectionString: admin });
        await client.connect();
        try {
          await client.query(`create database ${name} strategy = file_copy`);
        } finally {
          await client.end();
        }
        return `postgres://${SUPERUSER}@127.0.0.1:${port}/${name}`;
      };
      let stopped: Promise<void> | undefined;
      const stop = (): Promise<void> => {
        stopped ??= (async () => {
          process.removeListener('exit', killOnExit);
          await stopChild(child);
          await rm(root, { recursive: true, force: true });
        })();
        return stopped;
      };
      const killOnExit = (): void => {
        child.kill('SIGKILL');
      };
      process.once('exit', killOnExit);
      try {
        await createDatabase(database);
      } catch (e) {
        await stop();
        throw e;
      }
      return {
        url: `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`,
        host: '127.0.0.1',
        port,
        database,
        user: SUPERUSER,
        socketDir,
        createDatabase,
        stop,
      };
    }
    throw lastError ?? new Error('postgres did not start');
  } catch (e) {
    await rm(root, { recursive: true, force: true });
    throw e;
  }
}

/** Writes the TLS key pair and pg_hba.conf asked for into the data dir; returns the settings naming them. */
async function writeServerFiles(dataDir: string, owner: Owner | undefined, options: StartPostgresOptions): Promise<Record<string, string>> {
  const settings: Record<string, string> = {};
  const put = async (name: string, text: string, mode: number): Promise<string> => {
    const path = join(dataDir, name);
    await writeFile(path, text, { mode });
    await chmod(path, mode); // writeFile's mode only applies to a new file (pg_hba.conf already exists)
    if (owner !== undefined) await chown(path, owner.uid, owner.gid);
    return path;
  };
  if (options.ssl !== undefined) {
    settings.ssl = 'on';
    settings.ssl_cert_file = await put('gh-server.crt', options.ssl.cert, 0o600);
    settings.ssl_key_file = await put('gh-server.key', options.ssl.key, 0o600);
  }
  if (options.hba !== undefined) {
    const lines = [`local all ${SUPERUSER} trust`, `host all ${SUPERUSER} 127.0.0.1/32 trust`, ...options.hba, ''];
    settings.hba_file = await put('pg_hba.conf', lines.join('\n'), 0o600);
  }
  return settings;
}

/**
 * A test process killed outright (a jest worker past its timeout) cannot stop its server. The next
 * start finds such clusters by their owner's pid, stops their postmaster and removes them, so
 * nothing piles up in /dev/shm.
 */
async function sweepAbandoned(): Promise<void> {
  const base = scratchDir();
  let entries: string[];
  try {
    entries = await readdir(base);
  } catch {
    return;
  }
  for (const name of entries) {
    if (!/^gh-pg-[A-Za-z0-9]{6}$/.test(name)) continue;
    const root = join(base, name);
    const owner = Number(await readFile(join(root, 'owner.pid'), 'utf8').catch(() => 'NaN'));
    if (!Number.isInteger(owner) || alive(owner)) continue;
    const postmaster = Number((await readFile(join(root, 'data', 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
    if (Number.isInteger(postmaster) && postmaster > 0 && alive(postmaster) && isPostgresFor(postmaster, root)) {
      try {
        process.kill(postmaster, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(root, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Guards against a recycled pid: only a postgres serving this very directory is stopped. */
function isPostgresFor(pid: number, root: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('postgres') && cmdline.includes(root);
  } catch {
    return false;
  }
}

/** tmpfs when there is one: a throwaway cluster gains nothing from a disk but slowness. */
function scratchDir(): string {
  const fromEnv = process.env.GATEHOUSE_PG_TMP;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

function findBinDir(): string {
  const fromEnv = process.env.GATEHOUSE_PG_BIN;
  if (fromEnv !== undefined && existsSync(join(fromEnv, 'postgres'))) return fromEnv;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error('PostgreSQL binaries not found: install postgresql (Debian) or set GATEHOUSE_PG_BIN');
  return join(base, versions[0]!, 'bin');
}

interface Owner {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
}

/** undefined when not root: the server then runs as the current user. */
function serverOwner(): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'));
  for (const name of ['postgres', 'nobody']) {
    const entry = passwd.find((f) => f[0] === name);
    if (entry !== undefined) return { name, uid: Number(entry[2]), gid: Number(entry[3]) };
  }
  throw new Error('running as root, but neither a "postgres" nor a "nobody" user exists to run the server as');
}

async function ensureTemplate(bin: string, owner: Owner | undefined): Promise<string> {
  const version = bin.split('/').slice(-2, -1)[0] ?? 'pg';
  const template = join(scratchDir(), `gh-pg-template-${version}-${process.getuid?.() ?? 'u'}`);
  if (existsSync(join(template, 'PG_VERSION'))) return template;
  // initdb into a private dir, then rename: concurrent test workers never see a half-made template.
  const work = await mkdtemp(join(scratchDir(), 'gh-pg-initdb-'));
  try {
    if (owner !== undefined) await chown(work, owner.uid, owner.gid);
    const data = join(work, 'data');
    const result = spawnSync(
      join(bin, 'initdb'),
      ['-D', data, '-U', SUPERUSER, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C', '--no-instructions', '--wal-segsize=1'],
      { uid: owner?.uid, gid: owner?.gid, encoding: 'utf8', cwd: work, timeout: 120000 },
    );
    if (result.status !== 0) throw new Error(`initdb failed (${result.status ?? result.signal}): ${result.stderr || result.stdout || String(result.error)}`);
    try {
      await rename(data, template);
    } catch (e) {
      if (!existsSync(join(template, 'PG_VERSION'))) throw e; // someone else won the race: use theirs
    }
    return template;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function run(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr || String(result.error)}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function launch(
  bin: string,
  dataDir: string,
  socketDir: string,
  port: number,
  owner: Owner | undefined,
  extra: Readonly<Record<string, string>>,
): Promise<{ child: ChildProcess } | { error: Error }> {
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: socketDir,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '100',
    shared_buffers: '32MB',
    dynamic_shared_memory_type: 'mmap',
    logging_collector: 'off',
    log_min_messages: 'warning',
    ...extra,
  };
  const args = ['-D', dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const child = spawn(join(bin, 'postgres'), args, { uid: owner?.uid, gid: owner?.gid, stdio: ['ignore', 'ignore', 'pipe'], cwd: dataDir });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    if (stderr.length < 20000) stderr += chunk;
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) return { error: new Error(`postgres exited during start: ${stderr.trim()}`) };
    const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, database: 'postgres', connectionTimeoutMillis: 1000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return { child };
    } catch {
      await client.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await stopChild(child);
  return { error: new Error(`postgres did not accept connections within ${READY_TIMEOUT_MS} ms: ${stderr.trim()}`) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT'); // fast shutdown: disconnects clients, no checkpoint wait worth speaking of
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}
