import type { AwsConnectionConfig, HttpConnectionConfig, MaskingConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';
import type { SecretProvider } from '../../pipeline/types';
import type { HttpDialect } from '../kit/http-dialect';
import { brokeredCredentials } from './brokered';
import { parseKeyring, type GatewayKeyring } from './credentials';
import { awsDialect } from './dialect';
import { AWS_SERVICE_MODELS } from './model/services.generated';

/**
 * `aws` connections ride on the HTTP exchange: each becomes an HTTP connection (its route, its
 * upstream endpoint, no bearer credential: the dialect re-signs) with the aws dialect.
 */

/** AWS's regional endpoint of a service (its model's endpoint prefix, else its signing name), unless the connection names one. */
export function endpointOf(connection: AwsConnectionConfig): string {
  if (connection.endpoint !== undefined) return connection.endpoint;
  const prefix = Object.hasOwn(AWS_SERVICE_MODELS, connection.service) ? (AWS_SERVICE_MODELS[connection.service]!.endpointPrefix ?? connection.service) : connection.service;
  return `https://${prefix}.${connection.region}.amazonaws.com`;
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
  /** The top-level masking block, which connections without their own take. @default none */
  readonly defaultMasking?: MaskingConfig;
}

/** The prepared `aws` connections: their HTTP form, dialects and keyrings, by name. */
export interface AwsConnections {
  readonly http: readonly HttpConnectionConfig[];
  readonly dialects: Readonly<Record<string, HttpDialect>>;
  readonly keyrings: ReadonlyMap<string, KeyringSource>;
  readonly configs: ReadonlyMap<string, AwsConnectionConfig>;
}

/**
 * Largest body judged whole (JSON, REST-JSON and query protocols: read into memory because the
 * caller's signature covers its hash and the resources it names are judged on it). AWS's largest
 * documented request of these protocols is DynamoDB's 16 MB (BatchWriteItem, TransactWriteItems;
 * Lambda's synchronous Invoke takes 6 MB): a smaller cap would refuse valid calls (it was 1 MiB).
 * A longer body is refused (413) before it is judged. S3 (REST-XML) streams and is not bounded here.
 */
export const JUDGED_BODY_CAP = 16 * 1024 * 1024;

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
      masks: (c.masking ?? options.defaultMasking)?.enabled === true,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }
  return { http: connections.map(httpConnectionOf), dialects, keyrings, configs };
}
