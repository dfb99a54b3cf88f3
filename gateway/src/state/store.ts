import { mkdir, readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { Logger } from 'pino';
import type { StateConfig } from '../config/schema';
import { GatehouseError, isGatehouseError } from '../errors';
import { isPlainStateUrl, parseStateUrl, rdsSigningRegion, SCHEMA_NAME } from './connection-url';
import { freshMemoryCluster } from './fresh-memory-cluster';
import { createIamTokenSource, type IamTokenSource } from './iam-token';
import { createRdsTokenSource, type RdsTokenSourceOptions } from './rds-auth-token';
import { pgClientConfig } from './pg-client-config';

/**
 * The state store: one SQL dialect (PostgreSQL) over two drivers, the embedded PGlite (default)
 * and a real PostgreSQL reached by URL (`pg` Pool). Everything above this file (session index,
 * approvals) writes plain parameterized SQL and never learns which driver runs it.
 */
export interface StateQueryResult<R> {
  readonly rows: R[];
  /** Rows inserted, updated or deleted (0 for SELECT on some drivers). */
  readonly rowCount: number;
}

export interface StateQueryable {
  /** Parameterized SQL (`$1`, `$2`, ...). Rejects with GH_ERR_STATE_UNAVAILABLE. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<StateQueryResult<R>>;
}

export interface StateStore extends StateQueryable {
  /** `embedded` (PGlite) or `postgres` (URL). */
  readonly kind: 'embedded' | 'postgres';
  /** Opens the driver; idempotent. Every query opens it on first use, too. */
  open(): Promise<void>;
  /** Runs `fn` in one transaction on one connection; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: StateQueryable) => Promise<T>): Promise<T>;
  /** Closes the driver; later calls reject with GH_ERR_STATE_UNAVAILABLE. */
  close(): Promise<void>;
  /**
   * PostgreSQL only: the `pg` client configuration the pool connects with (resolved URL, TLS,
   * token password, search_path), for a dedicated connection such as the approvals listener.
   * Undefined for the embedded store.
   */
  clientConfig(): Promise<pg.ClientConfig | undefined>;
}

export type StateLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface StateStoreOptions {
  readonly logger?: StateLogger;
  /**
   * Resolves `state.url` when it is a secret reference (`env:NAME`, `aws-sm:...`) rather than a
   * plain `postgres://` URL. Without it, only plain URLs are accepted.
   */
  readonly resolveSecret?: (ref: string) => Promise<string>;
  /** `pg` pool size for the URL driver. @default 10 */
  readonly poolSize?: number;
  /** How long to wait for a PostgreSQL connection before failing. @default 5000 */
  readonly connectTimeoutMs?: number;
  /** Login tokens for `state.iamAuth`. @default the platform's (state/iam-token.ts) */
  readonly tokenSource?: IamTokenSource;
  /** `iamAuth: aws-rds`: the credentials and clock its tokens are signed with. @default the SDK's default chain, Date.now */
  readonly rdsSigner?: RdsTokenSourceOptions;
}

interface Driver extends StateQueryable {
  transaction<T>(fn: (tx: StateQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** PostgreSQL only: how to open another connection like the pool's (the approvals listener). */
  readonly clientConfig?: pg.ClientConfig;
}

/** True for `memory`, `memory://` and `memory://name`: PGlite keeps the database in memory. */
export function isMemoryPath(path: string): boolean {
  return path === 'memory' || path.startsWith('memory://');
}

/** Creates a store from the `state` config section; nothing connects until first use or `open()`. */
export function createStateStore(config: StateConfig, options: StateStoreOptions = {}): StateStore {
  const kind = config.url === undefined ? 'embedded' : 'postgres';
  let opening: Promise<Driver> | undefined;
  let closed = false;

  const driver = (): Promise<Driver> => {
    if (closed) return Promise.reject(new GatehouseError('GH_ERR_STATE_UNAVAILABLE', 'the state store is closed'));
    opening ??= (config.url === undefined ? openEmbedded(config.embeddedPath, config.schema) : openPostgres(config, options)).catch((e: unknown) => {
      opening = undefined; // a later call may retry, e.g. once the database is reachable
      throw unavailable(e, 'could not open the state store');
    });
    return opening;
  };

  return {
    kind,
    async open() {
      await driver();
    },
    async query<R>(sql: string, params: readonly unknown[] = []) {
      const d = await driver();
      return d.query<R>(sql, params);
    },
    async transaction<T>(fn: (tx: StateQueryable) => Promise<T>) {
      const d = await driver();
      return d.transaction(fn);
    },
    async clientConfig() {
      if (kind === 'embedded') return undefined;
      return (await driver()).clientConfig;
    },
    async close() {
      if (closed) return;
      closed = true;
      const pending = opening;
      opening = undefined;
      if (pending === undefined) return;
      const d = await pending.catch(() => undefined);
      await d?.close();
    },
  };
}

async function openEmbedded(embeddedPath: string, schema: string | undefined): Promise<Driver> {
  // Imported lazily: the URL driver never pays for loading the WASM build.
  const { PGlite } = await import('@electric-sql/pglite');
  let db: PGlite;
  if (isMemoryPath(embeddedPath)) {
    db = await freshMemoryCluster((dataDir, options) => PGlite.create(dataDir, options));
  } else {
    await mkdir(embeddedPath, { recursive: true, mode: 0o700 });
    db = await PGlite.create(embeddedPath);
  }
  if (schema !== undefined) {
    if (!SCHEMA_NAME.test(schema)) throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'state.schema: a lowercase SQL name: letters, digits and "_"');
    // One connection for the process: setting search_path once covers every later statement.
    await db.exec(`create schema if not exists ${schema}; set search_path to ${schema}`);
  }
  const run = async <R>(q: { query: typeof db.query }, sql: string, params: readonly unknown[]): Promise<StateQueryResult<R>> => {
    try {
      const r = await q.query<R>(sql, [...params]);
      return { rows: r.rows, rowCount: r.affectedRows ?? 0 };
    } catch (e) {
      throw unavailable(e, 'state store query failed');
    }
  };
  return {
    query: (sql, params = []) => run(db, sql, params),
    async transaction(fn) {
      // The caller's own errors pass through untouched; only the driver's become STATE_UNAVAILABLE.
      let callerError: { error: unknown } | undefined;
      try {
        return await db.transaction(async (tx) => {
          try {
            return await fn({ query: (sql, params = []) => run(tx, sql, params) });
          } catch (e) {
            callerError = { error: e };
            throw e;
          }
        });
      } catch (e) {
        if (callerError !== undefined && callerError.error === e) throw e;
        throw unavailable(e, 'state store transaction failed');
      }
    },
    close: () => db.close(),
  };
}

/**
 * The `pg` client configuration of the `state` section: the URL and the CA resolved from secret
 * references, and with `iamAuth` a password function that fetches a token per new connection.
 * The token source is shared by every connection made from the result (pool and listener).
 */
export async function resolveStateClientConfig(config: StateConfig, options: Pick<StateStoreOptions, 'resolveSecret' | 'tokenSource' | 'rdsSigner'> & { applicationName?: string }): Promise<pg.ClientConfig> {
  const resolve = async (field: string, ref: string): Promise<string> => {
    if (options.resolveSecret === undefined) {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', `state.${field} is a secret reference, and no secret provider was given`);
    }
    return options.resolveSecret(ref);
  };
  const url = config.url!;
  let connectionString = url;
  if (!isPlainStateUrl(url)) {
    connectionString = await resolve('url', url);
    if (!isPlainStateUrl(connectionString)) {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'the secret named by state.url does not hold a postgres:// URL');
    }
  }
  const caPem = config.caCert === undefined ? undefined : await resolveCaCert(config.caCert, (ref) => resolve('caCert', ref));
  let password: (() => Promise<string>) | undefined;
  if (config.iamAuth !== undefined) {
    const source = options.tokenSource ?? (config.iamAuth === 'aws-rds' ? rdsTokenSource(connectionString, config, options.rdsSigner) : createIamTokenSource(config.iamAuth));
    password = () => source.token();
  }
  return pgClientConfig({
    url: connectionString,
    iamAuth: config.iamAuth,
    awsRegion: config.awsRegion,
    sslMode: config.sslMode,
    caCert: config.caCert,
    serverName: config.serverName,
    schema: config.schema,
    allowUnverifiedServer: config.allowUnverifiedServer,
    caPem,
    password,
    applicationName: options.applicationName,
  });
}

/**
 * The token source of `iamAuth: aws-rds`, bound to the URL's host, port and user (what RDS
 * checks the token against). The URL's own problems are reported by pgClientConfig, after this.
 */
function rdsTokenSource(url: string, config: StateConfig, signer: RdsTokenSourceOptions | undefined): IamTokenSource {
  let parsed;
  try {
    parsed = parseStateUrl(url);
  } catch (e) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', `state.url: ${(e as Error).message}`);
  }
  const region = rdsSigningRegion(parsed.host, config.awsRegion);
  if (region === undefined) {
    throw new GatehouseError(
      'GH_ERR_CONFIG_INVALID',
      'state.awsRegion: iamAuth aws-rds needs the region to sign for: give state.awsRegion, use the RDS endpoint (<name>.<id>.<region>.rds.amazonaws.com) as the URL\'s host, or set AWS_REGION',
    );
  }
  return createRdsTokenSource({ host: parsed.host, port: parsed.port, user: parsed.user, region }, signer);
}

async function openPostgres(config: StateConfig, options: StateStoreOptions): Promise<Driver & { clientConfig: pg.ClientConfig }> {
  const clientConfig = await resolveStateClientConfig(config, options);
  const pool = new pg.Pool({
    ...clientConfig,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30000,
  });
  // An idle client losing its server emits on the pool; unhandled, it would crash the process.
  pool.on('error', (e) => options.logger?.warn({ err: redact(e.message) }, 'state store connection lost'));
  const run = async <R>(q: { query: (text: string, values: unknown[]) => Promise<{ rows: unknown[]; rowCount: number | null }> }, sql: string, params: readonly unknown[]): Promise<StateQueryResult<R>> => {
    try {
      const r = await q.query(sql, [...params]);
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    } catch (e) {
      throw unavailable(e, 'state store query failed');
    }
  };
  // Fail at open, not at the first request, when the database cannot be reached.
  await run(pool, 'select 1', []);
  return {
    clientConfig,
    query: (sql, params = []) => run(pool, sql, params),
    async transaction(fn) {
      let client;
      try {
        client = await pool.connect();
      } catch (e) {
        throw unavailable(e, 'could not reach the state store');
      }
      let broken = false;
      try {
        await run(client, 'begin', []);
        const result = await fn({ query: (sql, params = []) => run(client, sql, params) });
        await run(client, 'commit', []);
        return result;
      } catch (e) {
        await client.query('rollback').catch(() => {
          broken = true;
        });
        throw e; // driver errors are already GH_ERR_STATE_UNAVAILABLE (run() wraps them); the caller's pass through
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

/** Wraps a driver error; the message keeps the driver's reason but never a URL's credentials. */
/**
 * `state.caCert`: a certificate is public, so an absolute `file:` path is read as libpq reads
 * `sslrootcert`, whatever its permissions (the secret store refuses world-readable files in
 * production, and the CA bundles in the image are world-readable). Other references, relative
 * paths included, go through the secret store.
 */
async function resolveCaCert(ref: string, viaSecrets: (ref: string) => Promise<string>): Promise<string> {
  const path = ref.startsWith('file:') ? ref.slice('file:'.length) : undefined;
  if (path === undefined || !isAbsolute(path)) return viaSecrets(ref);
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : 'error';
    throw new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `state.caCert: ${path} cannot be read (${code})`, { cause: e, details: { ref } });
  }
}

export function unavailable(e: unknown, context: string): GatehouseError {
  if (isGatehouseError(e)) return e;
  const err = e as { message?: unknown; code?: unknown };
  const reason = typeof err?.message === 'string' && err.message !== '' ? redact(err.message) : String(e);
  const details: Record<string, unknown> = {};
  if (typeof err?.code === 'string') details.driverCode = err.code;
  if (typeof err?.code === 'string' && TLS_VERIFICATION_CODES.has(err.code)) {
    return new GatehouseError('GH_ERR_STATE_TLS_UNVERIFIED', `${context}: the server's certificate was not verified (${err.code}): ${reason}; check state.caCert and state.serverName`, { cause: e, details });
  }
  return new GatehouseError('GH_ERR_STATE_UNAVAILABLE', `${context}: ${reason}`, { cause: e, details });
}

/**
 * Node's codes for a certificate that failed verification (OpenSSL X509_V_ERR_* names and
 * `checkServerIdentity`'s ERR_TLS_CERT_ALTNAME_INVALID): a misconfigured CA or name, or someone
 * else answering, never an outage to wait out.
 */
const TLS_VERIFICATION_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED',
  'CERT_REJECTED', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_REVOKED', 'INVALID_CA', 'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED', 'HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function redact(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/)[^@\s/]*@/gi, '$1***@');
}
