import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import pg from 'pg';
import { SEGMENT_PREFIX } from '../../gateway/src/recording/layout';
import { decodeSegment } from '../../gateway/src/recording/segment-codec';
import type { LogSink } from '../../gateway/src/recording/sinks/sink';
import { startTestIssuer, type TestIssuer } from './oidc-issuer';
import { startPostgres, type TestPostgres } from './postgres';
import type { StartOptions } from '../../gateway/src/server/gateway';
import { startTestGateway, type TestGateway } from './gateway';

/**
 * Everything a PostgreSQL protocol test needs, real throughout: PostgreSQL 15 requiring
 * SCRAM-SHA-256 for the gateway's role, an OIDC issuer, and the whole gateway in-process with its
 * PostgreSQL listener (TLS with a self-signed certificate made by openssl for the test).
 */
export const PG_BIN = '/usr/lib/postgresql/15/bin';
export const UPSTREAM_USER = 'gh_app';
export const UPSTREAM_PASSWORD = 'upstream-db-password-never-seen-by-agents';

export interface PgTestEnv {
  readonly pg: TestPostgres;
  readonly issuer: TestIssuer;
  readonly gw: TestGateway;
  readonly port: number;
  /** The gateway's certificate (PEM), to trust it in clients. */
  readonly certPem: string;
  readonly database: string;
  token(groups?: string[], sub?: string): Promise<string>;
  /** A node-postgres client config through the gateway (TLS, token as password). */
  clientConfig(token: string, extra?: Partial<pg.ClientConfig>): pg.ClientConfig;
  /** Superuser URL straight to PostgreSQL (setup and checks, never through the gateway). */
  directUrl: string;
  /** One query straight to PostgreSQL as the superuser, on its own short-lived connection. */
  direct(sql: string, values?: unknown[]): Promise<pg.QueryResult>;
  /** Every recorded event so far (flushes the recorder, reads the fs sink). */
  events(): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export interface PgTestEnvOptions {
  readonly policy: string;
  readonly recordingMode?: 'strict' | 'buffered';
  readonly connection?: Record<string, unknown>;
  readonly listener?: Record<string, unknown>;
  /** More connections; as a function it receives the test PostgreSQL's port (for connections to the same server). */
  readonly extraConnections?: Record<string, unknown>[] | ((pgPort: number) => Record<string, unknown>[]);
  /** Further top-level configuration (e.g. `masking`, `approvals`), merged over the defaults. */
  readonly config?: Record<string, unknown>;
  /** Gateway start options (e.g. `extraMaskingDetectors`). */
  readonly start?: Partial<StartOptions>;
  /** Extra PostgreSQL server settings (e.g. `log_statement: 'all'` with `serverLog()`). */
  readonly postgresSettings?: Readonly<Record<string, string>>;
}

/** Server settings that make `serverLog()` hold every statement PostgreSQL received and every error it logged. */
export const LOG_EVERYTHING: Readonly<Record<string, string>> = {
  logging_collector: 'on',
  log_directory: 'log',
  log_filename: 'postgresql.log',
  log_statement: 'all',
  log_min_error_statement: 'error',
  log_min_messages: 'warning',
};

/** The server's log file (with LOG_EVERYTHING): what PostgreSQL itself saw and wrote. */
export function serverLog(db: TestPostgres): string {
  const dir = join(db.socketDir, '..', 'data', 'log');
  try {
    return readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('');
  } catch {
    return '';
  }
}

export const DEFAULT_POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("no-deletes")
@message("DELETE is not allowed through the gateway")
forbid (principal, action == Gatehouse::Action::"sql:delete", resource);
`;

export async function startPgTestEnv(options: PgTestEnvOptions): Promise<PgTestEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-pgenv-'));
  chmodSync(dir, 0o755);
  const hba = join(dir, 'pg_hba.conf');
  // The superuser keeps trust (test setup); everyone else must prove a password with SCRAM.
  writeFileSync(hba, ['local all all trust', 'host all postgres 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'));
  chmodSync(hba, 0o644);
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });

  const [db, issuer] = await Promise.all([startPostgres({ database: 'appdb', settings: { hba_file: hba, password_encryption: 'scram-sha-256', ...(options.postgresSettings ?? {}) } }), startTestIssuer()]);
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`create role ${UPSTREAM_USER} login password '${UPSTREAM_PASSWORD}'`);
  await admin.query(`grant all on schema public to ${UPSTREAM_USER}`);
  await admin.query(`alter database appdb owner to ${UPSTREAM_USER}`);
  await admin.end();
  process.env.GH_PG_TEST_PASSWORD = UPSTREAM_PASSWORD;

  const gw = await startTestGateway(() => ({
    identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], algorithms: ['RS256'] }] },
    policy: { cedar: options.policy },
    listeners: { postgres: { address: '127.0.0.1', port: 0, tls: { cert: certPath, key: keyPath }, ...(options.listener ?? {}) } },
    recording: { mode: options.recordingMode ?? 'buffered', flushIntervalMs: 20 },
    connections: [
      {
        name: 'appdb',
        kind: 'postgres',
        upstream: { host: '127.0.0.1', port: db.port, database: 'appdb', user: UPSTREAM_USER, password: 'env:GH_PG_TEST_PASSWORD', tls: { mode: 'disable' } },
        ...(options.connection ?? {}),
      },
      ...(typeof options.extraConnections === 'function' ? options.extraConnections(db.port) : (options.extraConnections ?? [])),
    ],
    ...(options.config ?? {}),
  }), options.start);
  const port = gw.gateway.postgres!.port;
  const certPem = readFileSync(certPath, 'utf8');
  return {
    pg: db,
    issuer,
    gw,
    port,
    certPem,
    database: 'appdb',
    directUrl: db.url,
    direct: async (sql, values) => {
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      try {
        return await admin.query(sql, values);
      } finally {
        await admin.end();
      }
    },
    token: (groups = ['developers'], sub = 'ada') => issuer.mintToken({ sub, groups, email: `${sub}@example.com` }),
    clientConfig: (token, extra = {}) => ({ host: '127.0.0.1', port, user: 'ada', database: 'appdb', password: token, ssl: { ca: certPem }, ...extra }),
    events: async () => {
      await gw.gateway.recorder.flush();
      return readEvents(gw.gateway.sink);
    },
    stop: async () => {
      await gw.stop();
      await Promise.all([db.stop(), issuer.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every event in the log store, open segments included (the decoder tolerates an unsealed tail). */
export async function readEvents(sink: LogSink): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const key of await sink.list(SEGMENT_PREFIX)) {
    const bytes = await sink.get(key);
    if (!bytes) continue;
    const { lines } = await decodeSegment(bytes, true);
    for (const line of lines) out.push(JSON.parse(line) as Record<string, unknown>);
  }
  return out;
}

/** Runs a PostgreSQL client binary with the token as PGPASSWORD; resolves with stdout/stderr and exit code. */
export function runPgBinary(bin: string, args: string[], env: Record<string, string>, input?: string, timeoutMs = 30000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(join(PG_BIN, bin), args, { env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * A bare protocol-v3 client for what drivers cannot do on purpose (malformed messages, direct TLS):
 * reads raw messages from a socket.
 */
export class RawPgClient {
  private buf: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  constructor(readonly socket: net.Socket | tls.TLSSocket) {
    socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Next message, or undefined when the connection closed first. */
  async next(timeoutMs = 5000): Promise<{ type: string; body: Buffer } | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buf.length >= 5) {
        const len = this.buf.readInt32BE(1);
        if (this.buf.length >= len + 1) {
          const type = String.fromCharCode(this.buf[0]!);
          const body = this.buf.subarray(5, len + 1);
          this.buf = this.buf.subarray(len + 1);
          return { type, body };
        }
      }
      if (this.closed) return undefined;
      if (Date.now() > deadline) throw new Error('timed out waiting for a message');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  /** Reads messages until ReadyForQuery (included) or close. */
  async untilReady(): Promise<{ type: string; body: Buffer }[]> {
    const out: { type: string; body: Buffer }[] = [];
    for (;;) {
      const m = await this.next();
      if (m === undefined) return out;
      out.push(m);
      if (m.type === 'Z') return out;
    }
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }
}

/** A raw client on the gateway's PostgreSQL listener over direct TLS (ALPN `postgresql`), not yet logged in. */
export async function connectRaw(env: Pick<PgTestEnv, 'port' | 'certPem'>): Promise<RawPgClient> {
  const socket = tls.connect({ host: '127.0.0.1', port: env.port, ca: env.certPem, ALPNProtocols: ['postgresql'] });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  return new RawPgClient(socket);
}

/**
 * Sends the startup packet (user `ada`, database `appdb`, plus `params`) and, when the gateway asks
 * for a password, the caller's token. `login` is everything up to ReadyForQuery, or the first
 * message when it was not an authentication request (a refused startup).
 */
export async function rawLogin(env: Pick<PgTestEnv, 'port' | 'certPem' | 'token'>, params: Record<string, string> = {}): Promise<{ c: RawPgClient; login: { type: string; body: Buffer }[] }> {
  const c = await connectRaw(env);
  c.write(startupBytes({ user: 'ada', database: 'appdb', ...params }));
  const first = await c.next();
  if (first?.type !== 'R') return { c, login: first === undefined ? [] : [first] };
  c.write(typed('p', `${await env.token()}\0`));
  return { c, login: await c.untilReady() };
}

export function startupBytes(params: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(params)) parts.push(Buffer.from(`${k}\0${v}\0`));
  parts.push(Buffer.from([0]));
  const body = Buffer.concat(parts);
  const out = Buffer.alloc(8);
  out.writeInt32BE(8 + body.length, 0);
  out.writeInt32BE(196608, 4);
  return Buffer.concat([out, body]);
}

export function typed(type: string, body: Buffer | string): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeInt32BE(b.length + 4, 1);
  return Buffer.concat([head, b]);
}

export function errorFields(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const code = String.fromCharCode(body[pos]!);
    const end = body.indexOf(0, pos + 1);
    out[code] = body.toString('utf8', pos + 1, end);
    pos = end + 1;
  }
  return out;
}

export function execFileText(bin: string, args: string[]): string {
  return execFileSync(join(PG_BIN, bin), args, { encoding: 'utf8' });
}

export { execFile };
