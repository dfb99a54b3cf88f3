import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsConnectionConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';
import type { SecretProvider } from '../../pipeline/types';
import { NodeSha256 } from './sha256';

/**
 * The brokered credential of an `aws` connection: what the gateway re-signs upstream requests with
 * (the caller never sees it). Its source is the gateway's ambient credential (task role, instance
 * profile, environment: the SDK's default chain) or static keys from the secret store; with
 * `roleArn` the gateway assumes that role with the source credential (`sts:AssumeRole`) and keeps
 * the result in memory only, renewed ahead of its expiry.
 */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** Undefined: does not expire (static keys). */
  readonly expiration?: Date;
}

export type CredentialSource = () => Promise<AwsCredentials>;

/** Renew this long before a credential expires. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

export class BrokeredCredentials {
  private cached: AwsCredentials | undefined;
  private pending: Promise<AwsCredentials> | undefined;

  constructor(
    private readonly source: CredentialSource,
    private readonly now: () => number = Date.now,
  ) {}

  /** The credential, without a promise while a cached one is fresh (the hot path). */
  get(): AwsCredentials | Promise<AwsCredentials> {
    const c = this.cached;
    if (c !== undefined && (c.expiration === undefined || c.expiration.getTime() - this.now() > REFRESH_MARGIN_MS)) return c;
    // One fetch at a time (single flight): concurrent requests wait for the same one.
    this.pending ??= this.source().then(
      (fresh) => {
        this.pending = undefined;
        this.cached = fresh;
        return fresh;
      },
      (e: unknown) => {
        this.pending = undefined;
        throw e;
      },
    );
    return this.pending;
  }
}

/** The source credential of a connection's `brokered` block (before any role is assumed). */
function sourceOf(config: AwsConnectionConfig, secrets: SecretProvider): CredentialSource {
  const b = config.brokered;
  if (b.source === 'static') {
    return async () => ({ accessKeyId: (await secrets.get(b.accessKeyId!)).trim(), secretAccessKey: (await secrets.get(b.secretAccessKey!)).trim() });
  }
  let chain: (() => Promise<AwsCredentials>) | undefined;
  return async () => {
    // The SDK's default chain (environment, ECS/EKS container credentials, web identity, IMDS),
    // loaded on first use only.
    if (chain === undefined) {
      const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
      chain = defaultProvider() as () => Promise<AwsCredentials>;
    }
    return chain();
  };
}

/** A connection's brokered credentials: the source, or the role assumed with it. */
export function brokeredCredentials(config: AwsConnectionConfig, secrets: SecretProvider): BrokeredCredentials {
  const source = sourceOf(config, secrets);
  const b = config.brokered;
  if (b.roleArn === undefined) {
    const direct = new BrokeredCredentials(source);
    return direct;
  }
  const sourceCache = new BrokeredCredentials(source);
  return new BrokeredCredentials(async () => {
    const c = sourceCache.get();
    return assumeRole(c instanceof Promise ? await c : c, {
      roleArn: b.roleArn!,
      sessionName: b.sessionName ?? `gatehouse-${config.name}`.slice(0, 64),
      durationSeconds: b.durationSeconds,
      externalId: b.externalId,
      region: config.region,
      endpoint: b.stsEndpoint ?? `https://sts.${config.region}.amazonaws.com`,
    });
  });
}

export interface AssumeRoleOptions {
  readonly roleArn: string;
  readonly sessionName: string;
  readonly durationSeconds: number;
  readonly externalId?: string;
  readonly region: string;
  /** The STS endpoint (`https://sts.<region>.amazonaws.com`, or a stand-in). */
  readonly endpoint: string;
  readonly fetch?: typeof fetch;
}

/**
 * `sts:AssumeRole` (query protocol, form body, signed with SigV4 by @smithy/signature-v4): the
 * gateway's own call, never a caller's. The answer is kept in memory only.
 */
export async function assumeRole(source: AwsCredentials, options: AssumeRoleOptions): Promise<AwsCredentials> {
  const url = new URL(options.endpoint);
  const form = new URLSearchParams({ Action: 'AssumeRole', Version: '2011-06-15', RoleArn: options.roleArn, RoleSessionName: options.sessionName, DurationSeconds: String(options.durationSeconds) });
  if (options.externalId !== undefined) form.set('ExternalId', options.externalId);
  const body = form.toString();
  const signer = new SignatureV4({ credentials: source, region: options.region, service: 'sts', sha256: NodeSha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port === '' ? {} : { port: Number(url.port) }),
    path: url.pathname,
    query: {},
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
  });
  let text: string;
  let status: number;
  try {
    const res = await (options.fetch ?? fetch)(url, { method: 'POST', headers: signed.headers as Record<string, string>, body });
    status = res.status;
    text = await res.text();
  } catch (e) {
    throw new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `sts:AssumeRole for ${options.roleArn} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const tag = (name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
  if (status !== 200) throw new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `sts:AssumeRole for ${options.roleArn} was refused (${status} ${tag('Code') ?? ''})`);
  const accessKeyId = tag('AccessKeyId');
  const secretAccessKey = tag('SecretAccessKey');
  const sessionToken = tag('SessionToken');
  const expiration = tag('Expiration');
  if (!accessKeyId || !secretAccessKey || !sessionToken || !expiration || Number.isNaN(Date.parse(expiration))) {
    throw new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `sts:AssumeRole for ${options.roleArn} answered without credentials`);
  }
  return { accessKeyId, secretAccessKey, sessionToken: unxml(sessionToken), expiration: new Date(expiration) };
}

function unxml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
