import { BlockList, isIP } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { GatehouseError } from '../../errors';
import type { WellKnownConnection } from '../../server/well-known';
import { readIfExists, type FileChange } from './file-change';
import { upsertIniSection } from './ini-section';

/**
 * A libpq service entry (`psql service=NAME`, `PGSERVICE=NAME`) for one of the gateway's PostgreSQL
 * databases. It holds no password: libpq has no password command, so the token comes from
 * `gatehouse psql` (in the child's environment only) or a passfile kept fresh (docs/clients.md).
 */
export type PostgresConnection = Extract<WellKnownConnection, { kind: 'postgres' }>;

export function pgServiceFilePath(env: NodeJS.ProcessEnv): string {
  return env.PGSERVICEFILE || join(env.HOME || homedir(), '.pg_service.conf');
}

export interface PsqlServiceOptions {
  readonly service: string;
  /** The gateway's host name (its URL's). */
  readonly host: string;
  readonly connection: PostgresConnection;
  /** The database to open. @default the connection's first database */
  readonly database?: string;
  /** Informational for the gateway (identity comes from the token). @default the local user name */
  readonly user?: string;
  /** A CA file for `verify-full` when the listener's certificate is not from a system CA. */
  readonly sslRootCert?: string;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Whether connecting to `host` stays on this machine: `localhost` (and `*.localhost`, which
 * RFC 6761 reserves for loopback), 127.0.0.0/8, `::1` and IPv4-mapped 127.x.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 4 ? 'ipv4' : 'ipv6');
}

export function serviceEntries(options: PsqlServiceOptions): [string, string][] {
  const { connection, host } = options;
  // libpq sends the token as a cleartext password: without TLS that is acceptable only when it
  // never leaves this machine (a development gateway on loopback). Fail closed otherwise.
  if (!connection.tls && !isLoopbackHost(host)) {
    throw new GatehouseError(
      'GH_ERR_CLIENT_SETUP',
      `the gateway's PostgreSQL listener for "${connection.name}" (${host}:${connection.port}) has no TLS: psql would send your token as a cleartext password across the network. ` +
        'Plaintext is only for a gateway on this machine (localhost, 127.0.0.1, ::1); ask its operator to configure listeners.postgres.tls, then run setup again',
    );
  }
  const entries: [string, string][] = [
    ['host', options.host],
    ['port', String(options.connection.port)],
    ['dbname', options.database ?? options.connection.databases[0]!],
    ['user', options.user ?? safeUserName()],
    // The token travels as a cleartext password: with TLS, only to the gateway's verified name;
    // without, only on loopback (checked above).
    ['sslmode', options.connection.tls ? 'verify-full' : 'disable'],
  ];
  if (options.connection.tls && options.sslRootCert) entries.push(['sslrootcert', options.sslRootCert]);
  return entries;
}

export function planPsqlService(path: string, options: PsqlServiceOptions): FileChange {
  const before = readIfExists(path);
  const after = upsertIniSection(before, { section: options.service, set: serviceEntries(options), separator: '=' });
  return { path, before, after };
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'gatehouse';
  }
}
