import { GetSecretValueCommand, SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { secretUnavailable } from './reference';
import type { FetchedSecret, SchemeProvider } from './scheme-provider';

export const AWS_SECRETS_MANAGER_SCHEME = 'aws-sm';

/** The `#` selector that renders an RDS-style JSON secret as a PostgreSQL URL. */
export const POSTGRES_URL_KEY = 'postgres-url';

export interface AwsSecretsManagerOptions {
  /** Region for secrets named without an ARN. @default the SDK's (AWS_REGION); an ARN's own region always wins */
  readonly region?: string;
  /** Another endpoint (tests, a VPC endpoint URL). @default the regional AWS endpoint */
  readonly endpoint?: string;
  /** Static credentials, for tests only. @default the SDK's chain (ECS task role, environment, ...) */
  readonly credentials?: SecretsManagerClientConfig['credentials'];
  /** Attempts per call (the SDK's standard retry: throttling, 5xx, network). @default 3 */
  readonly maxAttempts?: number;
  /** @default 3000 */
  readonly connectionTimeoutMs?: number;
  /** @default 10000 */
  readonly requestTimeoutMs?: number;
  /** How long the secret store may serve a value from cache. @default the store's (5 minutes) */
  readonly cacheTtlMs?: number;
  /** `sslmode` of URLs built by `#postgres-url`. @default 'require' */
  readonly postgresSslMode?: 'require' | 'verify-ca' | 'verify-full';
}

export interface AwsSecretName {
  /** Secret ARN or name, as GetSecretValue's SecretId. */
  readonly secretId: string;
  /** Field of a JSON secret to return, or `postgres-url`. */
  readonly jsonKey?: string;
}

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:.+$/;

/** `<arn-or-name>[#jsonKey]`. Secret names and ARNs cannot contain `#`, so the first one splits. */
export function parseAwsSecretName(name: string): AwsSecretName {
  const hash = name.indexOf('#');
  if (hash < 0) return { secretId: name };
  return { secretId: name.slice(0, hash), jsonKey: name.slice(hash + 1) };
}

/**
 * `aws-sm:<arn-or-name>[#jsonKey]` references, read with GetSecretValue (AWSCURRENT). Without
 * `#`, the whole SecretString (or SecretBinary as UTF-8). `#field` returns one field of a JSON
 * secret. `#postgres-url` renders an RDS-style secret (`username`, `password`, `host`, `port`,
 * `dbname`) as `postgresql://user:pass@host:port/dbname?sslmode=require`, percent-encoded, unless
 * the secret has a `postgres-url` field of its own. The store caches values (`cacheTtlMs`); RDS
 * rotation is picked up when the cached value expires.
 *
 * Errors are GH_ERR_SECRET_UNAVAILABLE naming the reference and the AWS error name, never the value
 * (nor a JSON parser's message, which quotes the input).
 */
export function awsSecretsManagerSchemeProvider(options: AwsSecretsManagerOptions = {}): SchemeProvider & { close(): void } {
  const clients = new Map<string, SecretsManagerClient>();
  const clientFor = (region: string | undefined): SecretsManagerClient => {
    const key = region ?? '';
    let client = clients.get(key);
    if (!client) {
      client = new SecretsManagerClient({
        ...(region !== undefined ? { region } : {}),
        ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
        ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
        maxAttempts: options.maxAttempts ?? 3,
        requestHandler: { connectionTimeout: options.connectionTimeoutMs ?? 3000, requestTimeout: options.requestTimeoutMs ?? 10000 },
      });
      clients.set(key, client);
    }
    return client;
  };

  return {
    ...(options.cacheTtlMs !== undefined ? { cacheTtlMs: options.cacheTtlMs } : {}),
    async fetch(name: string, ref: string): Promise<FetchedSecret> {
      const { secretId, jsonKey } = parseAwsSecretName(name);
      if (secretId === '') throw secretUnavailable(ref, 'no secret name or ARN before "#"');
      if (jsonKey === '') throw secretUnavailable(ref, 'empty field name after "#"');
      const region = SECRET_ARN.exec(secretId)?.[1] ?? options.region;
      let out;
      try {
        out = await clientFor(region).send(new GetSecretValueCommand({ SecretId: secretId }));
      } catch (e) {
        throw secretUnavailable(ref, `GetSecretValue failed (${awsErrorName(e)})`, e);
      }
      const raw = out.SecretString ?? (out.SecretBinary !== undefined ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
      if (raw === undefined || raw === '') throw secretUnavailable(ref, 'the secret has no value');
      const version = out.VersionId;
      if (jsonKey === undefined) return { value: raw, version };
      const fields = parseJsonObject(raw, ref);
      if (jsonKey === POSTGRES_URL_KEY && !(POSTGRES_URL_KEY in fields)) {
        return { value: postgresUrlFromRdsSecret(fields, ref, options.postgresSslMode ?? 'require'), version };
      }
      return { value: fieldAsString(fields, jsonKey, ref), version };
    },
    close() {
      for (const c of clients.values()) c.destroy();
      clients.clear();
    },
  };
}

/**
 * `postgresql://user:pass@host:port/dbname?sslmode=<mode>` from an RDS-style secret. Every part is
 * percent-encoded (RDS-generated passwords hold `/`, `@`, `:`...). `dbname` defaults to `postgres`,
 * as it does for an RDS secret made without a default database.
 */
export function postgresUrlFromRdsSecret(fields: Record<string, unknown>, ref: string, sslMode: string = 'require'): string {
  const missing = ['username', 'password', 'host'].filter((k) => typeof fields[k] !== 'string' || fields[k] === '');
  if (missing.length > 0) throw secretUnavailable(ref, `the secret lacks ${missing.join(', ')} for a PostgreSQL URL`);
  const host = fields.host as string;
  if (!/^[A-Za-z0-9.-]+$/.test(host) && !/^[0-9A-Fa-f:]+$/.test(host)) throw secretUnavailable(ref, 'the secret\'s host is not a host name or IP address');
  const port = fields.port === undefined ? 5432 : Number(fields.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw secretUnavailable(ref, 'the secret\'s port is not a TCP port');
  const dbname = fields.dbname === undefined ? 'postgres' : fields.dbname;
  if (typeof dbname !== 'string' || dbname === '') throw secretUnavailable(ref, 'the secret\'s dbname is not a string');
  // node-postgres decodes the path with decodeURI, which leaves %2F, %3F, %23... as they are.
  if (encodeURIComponent(dbname) !== encodeURI(dbname)) throw secretUnavailable(ref, 'the secret\'s dbname holds URL-reserved characters (/ ? # & ...) node-postgres cannot read back');
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const enc = encodeURIComponent;
  return `postgresql://${enc(fields.username as string)}:${enc(fields.password as string)}@${hostPart}:${port}/${enc(dbname)}?sslmode=${enc(sslMode)}`;
}

function parseJsonObject(raw: string, ref: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // No cause: the parser's message quotes the secret.
    throw secretUnavailable(ref, 'the secret is not JSON, so it has no fields to select with "#"');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw secretUnavailable(ref, 'the secret is not a JSON object, so it has no fields to select with "#"');
  return parsed as Record<string, unknown>;
}

function fieldAsString(fields: Record<string, unknown>, key: string, ref: string): string {
  if (!Object.prototype.hasOwnProperty.call(fields, key)) throw secretUnavailable(ref, `the secret has no field "${key}"`);
  const v = fields[key];
  if (typeof v === 'string') {
    if (v === '') throw secretUnavailable(ref, `the secret's field "${key}" is empty`);
    return v;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw secretUnavailable(ref, `the secret's field "${key}" is not a string`);
}

/** The AWS error name (`ResourceNotFoundException`) or network code; never the message. */
function awsErrorName(e: unknown): string {
  if (typeof e !== 'object' || e === null) return 'error';
  const { name, code, message } = e as { name?: unknown; code?: unknown; message?: unknown };
  if (typeof code === 'string') return code;
  // The SDK wraps transport errors from another realm; their code then sits in the text.
  if (name === 'Error' && typeof message === 'string') return /\b(E[A-Z]{4,})\b/.exec(message)?.[1] ?? 'Error';
  return typeof name === 'string' ? name : 'error';
}
