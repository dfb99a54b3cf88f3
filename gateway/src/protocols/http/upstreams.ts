import type { Pool } from 'undici';
import type { HttpConnectionConfig, MaskingConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';
import type { Detector } from '../../masking/detector';
import { prepareMasking, type PreparedMasking } from '../../masking/masking-policy';
import type { SecretProvider } from '../../pipeline/types';
import type { HttpDialect } from '../kit/http-dialect';
import { UpstreamCaCache } from '../kit/upstream-tls';
import type { CredentialForms } from './credential-scrubber';
import { dialectFor } from './dialects';
import { callerHeaderRule, redactedHeaderSet, sensitiveQuerySet, type CallerHeaderRule } from './headers';
import { createUpstreamPool } from './upstream-pool';

/** What is prepared once per connection, off the hot path. */
export interface Upstream {
  readonly connection: HttpConnectionConfig;
  readonly protocol: 'http:' | 'https:';
  readonly origin: string;
  readonly redactedHeaders: ReadonlySet<string>;
  readonly sensitiveQuery: ReadonlySet<string>;
  /** Which caller headers are stripped as credentials, and which of them the connection forwards anyway. */
  readonly callerHeaders: CallerHeaderRule;
  /** What is recorded of a body (the connection's `bodyCapBytes`, else the pipeline's). */
  readonly bodyCap: number;
  /** How requests are decoded into operations (kit/http-dialect.ts): chosen here, once. */
  readonly dialect: HttpDialect;
  /** Bytes of the body read before judging: the recording cap, or more when the dialect needs them. */
  readonly readCap: number;
  /** Undefined when the connection does not mask: the hot path never looks further. */
  readonly masking: PreparedMasking | undefined;
  pool: Pool | undefined;
  poolPending: Promise<Pool> | undefined;
  /** The brokered credential's forms (credential-scrubber.ts), for the value they were built from. */
  formsOf: string | undefined;
  forms: CredentialForms | undefined;
}

export interface UpstreamsOptions {
  readonly secrets: SecretProvider;
  /** The pipeline's default recorded body cap. */
  readonly bodyCapBytes: number;
  readonly transcriptLimit: number;
  readonly maxSockets: number;
  readonly defaultMasking?: MaskingConfig;
  readonly extraMaskingDetectors?: Readonly<Record<string, readonly Detector[]>>;
  /** Dialects by connection name, in place of the configured ones (HttpProxyOptions.dialects). */
  readonly dialects?: Readonly<Record<string, HttpDialect>>;
}

/** Every connection's prepared upstream and its keep-alive pool. */
export class HttpUpstreams {
  private readonly byName = new Map<string, Upstream>();
  private readonly cas: UpstreamCaCache;

  constructor(
    connections: readonly HttpConnectionConfig[],
    private readonly options: UpstreamsOptions,
  ) {
    this.cas = new UpstreamCaCache(options.secrets);
    for (const c of connections) this.byName.set(c.name, this.prepare(c));
  }

  get(name: string): Upstream {
    return this.byName.get(name)!;
  }

  private prepare(connection: HttpConnectionConfig): Upstream {
    const url = new URL(connection.upstream);
    const bodyCap = connection.bodyCapBytes ?? this.options.bodyCapBytes;
    const dialect = this.options.dialects?.[connection.name] ?? dialectFor(connection, this.options.transcriptLimit);
    return {
      connection,
      protocol: url.protocol === 'https:' ? 'https:' : 'http:',
      origin: url.origin,
      redactedHeaders: redactedHeaderSet(connection.credential),
      sensitiveQuery: sensitiveQuerySet(connection.credential),
      callerHeaders: callerHeaderRule(connection.credential, connection.forwardHeaders),
      bodyCap,
      dialect,
      // A spooling dialect holds only the recording cap in memory; the rest goes to a file.
      readCap: dialect.body === 'none' || dialect.body === 'spool' ? bodyCap : Math.max(bodyCap, dialect.bodyCap),
      // Compiled now so a bad rule stops start-up (GH_ERR_CONFIG_INVALID); its secrets are read on first use.
      masking: prepareMasking(connection.masking ?? this.options.defaultMasking, { connection: connection.name, extraDetectors: this.options.extraMaskingDetectors?.[connection.name] }),
      pool: undefined,
      poolPending: undefined,
      formsOf: undefined,
      forms: undefined,
    };
  }

  /** One keep-alive pool per upstream; a custom CA is read once, on first use. */
  poolFor(u: Upstream): Pool | Promise<Pool> {
    if (u.pool !== undefined) return u.pool;
    const base = { connections: this.options.maxSockets, timeoutMs: u.connection.timeoutMs };
    const caRef = u.connection.upstreamCa;
    if (u.protocol === 'http:' || caRef === undefined) {
      u.pool = createUpstreamPool(u.origin, base);
      return u.pool;
    }
    u.poolPending ??= this.cas.get(caRef).then(
      (ca) => (u.pool = createUpstreamPool(u.origin, { ...base, ca: ca! })),
      (e: unknown) => {
        u.poolPending = undefined;
        throw new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `the upstream CA of connection "${u.connection.name}" could not be read`, { cause: e });
      },
    );
    return u.poolPending;
  }

  async close(): Promise<void> {
    await Promise.all([...this.byName.values()].map((u) => u.pool?.destroy()));
  }
}
