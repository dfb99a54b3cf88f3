/**
 * The rules of the `state` section that span its fields: checked by the config schema on a plain
 * `postgres://` URL, and again when the store opens, on the URL a secret reference resolved to.
 * One list of problems, each naming the field it belongs to.
 */

/** How the gateway proves itself to its state database instead of with a password. */
export const STATE_IAM_AUTH = ['azure-entra', 'gcp-cloudsql', 'aws-rds'] as const;
export type StateIamAuth = (typeof STATE_IAM_AUTH)[number];

/** A schema name the gateway puts in search_path unquoted: no quoting, no case folding surprises. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

const PLAIN_URL = /^postgres(ql)?:\/\//i;

/** The one `state.sslMode` value: it can raise the URL's sslmode, never lower it. */
export const STATE_SSL_MODES = ['verify-full'] as const;
export type StateSslMode = (typeof STATE_SSL_MODES)[number];

export interface StateConnectionFields {
  readonly url?: string;
  /**
   * Replaces the URL's `sslmode` (libpq: a keyword given apart from the URL wins). For a URL the
   * gateway does not write itself, e.g. one rendered from an RDS secret by `aws-sm:…#postgres-url`.
   */
  readonly sslMode?: StateSslMode;
  readonly iamAuth?: StateIamAuth;
  /** `aws-rds` only: the region the token is signed for (default: the RDS endpoint's, else AWS_REGION). */
  readonly awsRegion?: string;
  readonly caCert?: string;
  readonly serverName?: string;
  readonly schema?: string;
  /**
   * Accept a state database on another host whose identity the connection does not verify
   * (plaintext, `no-verify`, or any sslmode but `verify-full`). Never with `iamAuth`.
   */
  readonly allowUnverifiedServer?: boolean;
}

export interface StateConnectionProblem {
  /** The field of the `state` section (`url`, `iamAuth`, ...). */
  readonly field: keyof StateConnectionFields;
  readonly message: string;
}

/** The parts of a PostgreSQL URL the gateway reads itself (no secret in any field but `password`). */
export interface ParsedStateUrl {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string | undefined;
  readonly database: string;
  /** Every query parameter, e.g. `sslmode`. */
  readonly params: ReadonlyMap<string, string>;
}

export function isPlainStateUrl(url: string): boolean {
  return PLAIN_URL.test(url);
}

/** Parses a `postgres://` / `postgresql://` URL; throws a message that never repeats the URL. */
export function parseStateUrl(url: string): ParsedStateUrl {
  let u: URL;
  let noHost = false;
  try {
    u = new URL(url);
  } catch {
    // `postgres://user@/db?host=/socket/dir`: no host before the path, as libpq and pg accept.
    try {
      u = new URL(url.replace('@/', '@gatehouse-no-host/'));
      noHost = true;
    } catch {
      throw new Error('not a valid postgres:// URL');
    }
  }
  if (!/^postgres(ql)?:$/i.test(u.protocol)) throw new Error('not a postgres:// URL');
  const params = new Map<string, string>();
  for (const [k, v] of u.searchParams) params.set(k, v);
  const port = u.port === '' ? 5432 : Number(u.port);
  const decode = (part: string, what: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new Error(`the ${what} in the URL is not valid percent-encoding`);
    }
  };
  return {
    host: params.get('host') ?? (noHost ? '' : decode(u.hostname.replace(/^\[(.+)\]$/, '$1'), 'host')),
    port,
    user: decode(u.username, 'user'),
    password: u.password === '' ? undefined : decode(u.password, 'password'),
    database: decode(u.pathname.replace(/^\//, ''), 'database'),
    params,
  };
}

/** Every cross-field problem of a `state` section (url given as written, or as resolved). */
export function stateConnectionProblems(state: StateConnectionFields): StateConnectionProblem[] {
  const problems: StateConnectionProblem[] = [];
  if (state.awsRegion !== undefined) {
    if (!AWS_REGION.test(state.awsRegion)) problems.push({ field: 'awsRegion', message: `an AWS region such as "eu-west-1", got "${state.awsRegion}"` });
    else if (state.iamAuth !== 'aws-rds') problems.push({ field: 'awsRegion', message: 'awsRegion applies to iamAuth aws-rds only' });
  }
  if (state.schema !== undefined && !SCHEMA_NAME.test(state.schema)) {
    problems.push({ field: 'schema', message: 'a lowercase SQL name: letters, digits and "_", not starting with a digit' });
  }
  if (state.url === undefined) {
    // The embedded store has no server to log in to or to verify.
    for (const field of ['iamAuth', 'awsRegion', 'caCert', 'serverName', 'sslMode', 'allowUnverifiedServer'] as const) {
      if (state[field] !== undefined) problems.push({ field, message: `${field} applies to a PostgreSQL server: give state.url too` });
    }
    return problems;
  }
  // A secret reference is checked once it is resolved (the store does it at open).
  if (!isPlainStateUrl(state.url)) return problems;
  let parsed: ParsedStateUrl;
  try {
    parsed = parseStateUrl(state.url);
  } catch (e) {
    problems.push({ field: 'url', message: (e as Error).message });
    return problems;
  }
  const sslmode = effectiveSslMode(parsed.params, state);
  if (state.iamAuth !== undefined) {
    if (parsed.password !== undefined) {
      problems.push({ field: 'url', message: `a password in the URL together with iamAuth ${state.iamAuth}: remove the password, the gateway logs in with a token from its platform identity` });
    }
    if (parsed.user === '') problems.push({ field: 'url', message: `iamAuth ${state.iamAuth} needs the database user in the URL (postgresql://USER@HOST:5432/DB?sslmode=verify-full)` });
    const endpointRegion = rdsRegionOf(parsed.host);
    if (state.iamAuth === 'aws-rds' && state.awsRegion !== undefined && endpointRegion !== undefined && endpointRegion !== state.awsRegion) {
      // RDS checks the token's credential scope against its own region: a mismatch never logs in.
      problems.push({ field: 'awsRegion', message: `awsRegion ${state.awsRegion}, but the URL's host is an RDS endpoint in ${endpointRegion}` });
    }
    if (sslmode !== 'verify-full') {
      // A token is a bearer credential: sent to a server whose identity was not verified, it can be replayed.
      problems.push({ field: 'url', message: `iamAuth ${state.iamAuth} needs sslmode=verify-full in the URL (found ${sslmode === undefined ? 'no sslmode' : `sslmode=${sslmode}`}): tokens are only sent to a verified server` });
    }
  }
  if (state.iamAuth !== undefined && state.allowUnverifiedServer === true) {
    problems.push({ field: 'allowUnverifiedServer', message: `not with iamAuth ${state.iamAuth}: a login token goes only to a server verified with sslmode=verify-full` });
  }
  if (state.iamAuth === undefined && sslmode !== 'verify-full' && state.allowUnverifiedServer !== true && !isLocalStateHost(parsed.host)) {
    // The password and every session's metadata would go to whoever answers at that address:
    // plaintext, `no-verify`, and libpq's `require`/`verify-ca` (which do not check the name)
    // leave the server's identity unproven, so only an explicit verify-full is accepted.
    problems.push({
      field: 'url',
      message: `a state database on another host needs sslmode=verify-full (found ${sslmode === undefined ? 'no sslmode' : `sslmode=${sslmode}`}): the gateway sends its credentials and the session index only to a server whose certificate and name it verified. Put sslmode=verify-full in the URL (or state.sslMode: verify-full for a URL you do not write), with state.caCert when the server's CA is not a public one; or set state.allowUnverifiedServer: true to accept an unverified server`,
    });
  }
  for (const field of ['caCert', 'serverName'] as const) {
    if (state[field] !== undefined && sslmode !== 'verify-full') {
      problems.push({ field, message: `${field} is used only with sslmode=verify-full; add it to state.url` });
    }
  }
  if (parsed.params.has('sslrootcert') && state.caCert !== undefined) {
    problems.push({ field: 'caCert', message: 'give the CA once: either caCert or sslrootcert in the URL' });
  }
  return problems;
}

/**
 * A state database reached without crossing a network: a unix socket (no host, or a socket
 * directory) or a loopback address. Anything else may be answered by someone else.
 */
export function isLocalStateHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === '' || h.startsWith('/') || h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** An AWS region name. */
export const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** `<name>.<id>.<region>.rds.amazonaws.com` (and `.amazonaws.com.cn`): the region RDS names in its endpoints. */
const RDS_ENDPOINT = /\.([a-z]{2}(?:-[a-z]+)+-\d{1,2})\.rds\.amazonaws\.com(?:\.cn)?$/i;

/** The region of an RDS endpoint host name, or undefined for any other host. */
export function rdsRegionOf(host: string): string | undefined {
  return RDS_ENDPOINT.exec(host)?.[1]?.toLowerCase();
}

/**
 * The region an `aws-rds` token is signed for: `awsRegion`, else the RDS endpoint's, else the
 * platform's (`AWS_REGION`, which ECS sets in every task; `AWS_DEFAULT_REGION`).
 */
export function rdsSigningRegion(host: string, awsRegion: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const region = awsRegion ?? rdsRegionOf(host) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  return region !== undefined && AWS_REGION.test(region) ? region : undefined;
}

/** The sslmode a connection uses: `state.sslMode` when given, else the URL's. */
export function effectiveSslMode(params: ReadonlyMap<string, string>, state: Pick<StateConnectionFields, 'sslMode'>): string | undefined {
  return state.sslMode ?? params.get('sslmode');
}
