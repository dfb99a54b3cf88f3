import type { AwsConnectionConfig, HttpConnectionConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';
import type { SecretProvider } from '../../pipeline/types';
import type { HttpDialect } from '../kit/http-dialect';
import { brokeredCredentials } from './brokered';
import { parseKeyring, type GatewayKeyring } from './credentials';
import { awsDialect } from './dialect';

/**
 * `aws` connections ride on the HTTP exchange: each becomes an HTTP connection (its route, its
 * upstream endpoint, no bearer credential: the dialect re-signs) with the aws dialect.
 */

/** AWS's regional endpoint of a service (its signing name), unless the connection names one. */
export function endpointOf(connection: AwsConnectionConfig): string {
  if (connection.endpoint !== undefined) return connection.endpoint;
  return `https://${connection.service}.${connection.region}.amazonaws.com`;
}

export function httpConnectionOf(connection: AwsConnectionConfig): HttpConnectionConfig {
  return {
    name: connection.name,
    kind: 'http',
    upstream: endpointOf(connection),
    route: { ...connection.route, stripPrefix: true },
    credential: { type: 'none' },
    llm: 'none',
    ...(connection.bodyCapBytes === undefined ? {} : { bodyCapBytes: connection.bodyCapBytes }),
    timeoutMs: connection.timeoutMs,
    ...(connection.upstreamCa === undefined ? {} : { upstreamCa: connection.upstreamCa }),
    ...(connection.masking === undefined ? {} : { masking: connection.masking }),
    methodOverride: 'refuse',
    forwardHeaders: [],
    credentialInResponse: 'mask',
  };
}

/** A keyring read from its secret once, re-read when the secret's value changes (rotation). */
export class KeyringSource {
  private value: string | undefined;
  private keyring: GatewayKeyring | undefined;

  constructor(
    private readonly secrets: SecretProvider,
    private readonly ref: string,
  ) {}

  get(): GatewayKeyring | Promise<GatewayKeyring> {
    const peeked = this.secrets.peek?.(this.ref);
    if (peeked !== undefined) return this.parse(peeked);
    return this.secrets.get(this.ref).then(
      (v) => this.parse(v),
      (e: unknown) => {
        throw new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', 'the AWS caller-credential keyring could not be read', { cause: e });
      },
    );
  }

  private parse(value: string): GatewayKeyring {
    if (value !== this.value || this.keyring === undefined) {
      this.keyring = parseKeyring(value);
      this.value = value;
    }
    return this.keyring;
  }
}

export interface AwsConnectionsOptions {
  readonly secrets: SecretProvider;
  /** The pipeline's default recorded body cap. */
  readonly bodyCapBytes: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The prepared `aws` connections: their HTTP form, dialects and keyrings, by name. */
export interface AwsConnections {
  readonly http: readonly HttpConnectionConfig[];
  readonly dialects: Readonly<Record<string, HttpDialect>>;
  readonly keyrings: ReadonlyMap<string, KeyringSource>;
  readonly configs: ReadonlyMap<string, AwsConnectionConfig>;
}

/** Largest body judged whole (JSON and query protocols): the SDKs' requests are far smaller. */
const JUDGED_BODY_CAP = 1024 * 1024;

export function prepareAwsConnections(connections: readonly AwsConnectionConfig[], options: AwsConnectionsOptions): AwsConnections {
  const dialects: Record<string, HttpDialect> = {};
  const keyrings = new Map<string, KeyringSource>();
  const configs = new Map<string, AwsConnectionConfig>();
  for (const c of connections) {
    const keyring = new KeyringSource(options.secrets, c.callerCredentials.keys);
    keyrings.set(c.name, keyring);
    configs.set(c.name, c);
    const recordCap = c.bodyCapBytes ?? options.bodyCapBytes;
    dialects[c.name] = awsDialect({
      connection: c,
      keyring: () => keyring.get(),
      brokered: brokeredCredentials(c, options.secrets),
      bodyCap: Math.max(JUDGED_BODY_CAP, recordCap),
      recordCap,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }
  return { http: connections.map(httpConnectionOf), dialects, keyrings, configs };
}
