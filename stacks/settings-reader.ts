import { connectionSpecProblems } from './connection-specs';
import type { GatewaySize, ReplicaRange } from '../constructs/core/gatehouse-props';
import type { GatewayTcpProtocol } from '../constructs/core/gateway-ports';

/** The TCP protocols a reference stack may open beside HTTP and admin. */
export const TCP_PROTOCOLS: readonly GatewayTcpProtocol[] = ['postgres', 'mysql', 'ssh'];
/** The keys of one `issuers[]` setting: the constructs' `GatehouseIssuerBase`. */
export const ISSUER_KEYS = ['name', 'issuer', 'audiences', 'options', 'federation'] as const;
/** The keys of one `connections[]` setting: the constructs' `GatehouseConnectionBase`. */
export const CONNECTION_KEYS = ['name', 'spec', 'secret'] as const;

/** How a reader finds one setting and names it in a problem. */
export interface SettingsSource {
  /** The raw value of `key`, or undefined. */
  readonly get: (key: string) => unknown;
  /** How a problem names `key` (`gatehouse:azure.replicas`, `gatehouse:replicas`). */
  readonly where: (key: string) => string;
  /**
   * Accept numbers and booleans written as strings (`cdk synth -c gatehouse:key=value` passes
   * strings only).
   * @default false: a JSON value of the right type
   */
  readonly fromStrings?: boolean;
}

/**
 * The readers the three reference stacks share (AWS from CDK context, Azure and Google Cloud from
 * cdktf.json's `gatehouse:<cloud>` object), so the same setting is read and checked alike on every
 * cloud. Each reader records its problems instead of throwing: `finish()` reports all at once,
 * because an operator fixing a settings file wants every mistake in one run.
 */
export class SettingsReader {
  public readonly problems: string[] = [];

  constructor(private readonly source: SettingsSource) {}

  public where(key: string): string {
    return this.source.where(key);
  }

  public get(key: string): unknown {
    return this.source.get(key);
  }

  /** Names every key of `value` not in `known` (a typo would otherwise fall back to a default); `renamed` maps an old name to the new one. */
  public unknownKeys(where: string, value: unknown, known: readonly string[], renamed: Readonly<Record<string, string>> = {}): void {
    if (typeof value !== 'object' || value === null) return;
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      this.problems.push(renamed[key] ? `${where}.${key}: renamed to ${renamed[key]}` : `${where}.${key}: unknown key (known: ${known.join(', ')})`);
    }
  }

  public str(key: string): string | undefined;
  public str(key: string, fallback: string): string;
  public str(key: string, fallback?: string): string | undefined {
    const v = this.get(key);
    if (v === undefined || v === null || v === '') return fallback;
    if (typeof v !== 'string') {
      this.problems.push(`${this.where(key)}: expected a string, got ${typeof v}`);
      return fallback;
    }
    return v;
  }

  public num(key: string): number | undefined;
  public num(key: string, fallback: number): number;
  public num(key: string, fallback?: number): number | undefined {
    const v = this.get(key);
    if (v === undefined) return fallback;
    const n = this.source.fromStrings && typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) {
      this.problems.push(`${this.where(key)}: expected a number, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return n;
  }

  public bool(key: string): boolean | undefined;
  public bool(key: string, fallback: boolean): boolean;
  public bool(key: string, fallback?: boolean): boolean | undefined {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (v === true || (this.source.fromStrings && v === 'true')) return true;
    if (v === false || (this.source.fromStrings && v === 'false')) return false;
    this.problems.push(`${this.where(key)}: expected true or false, got ${JSON.stringify(v)}`);
    return fallback;
  }

  /** A JSON array, or undefined when the key is absent. */
  public list<T>(key: string): T[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      this.problems.push(`${this.where(key)}: expected a JSON array`);
      return undefined;
    }
    return v as T[];
  }

  public oneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const v = this.str(key);
    if (v === undefined) return undefined;
    if (!(values as readonly string[]).includes(v)) {
      this.problems.push(`${this.where(key)}: expected one of ${values.join(', ')}, got "${v}"`);
      return undefined;
    }
    return v as T;
  }

  /** `{ "min": number, "max": number }` (the constructs check the bounds). */
  public range(key: string, fallback: ReplicaRange): ReplicaRange;
  public range(key: string): ReplicaRange | undefined;
  public range(key: string, fallback?: ReplicaRange): ReplicaRange | undefined {
    return this.rangeOf(this.get(key), this.where(key), fallback);
  }

  /** A range inside another setting (e.g. `database.capacity`). */
  public rangeOf(value: unknown, where: string, fallback?: ReplicaRange): ReplicaRange | undefined {
    if (value === undefined) return fallback;
    const r = value as { min?: unknown; max?: unknown };
    if (typeof r !== 'object' || r === null || typeof r.min !== 'number' || typeof r.max !== 'number') {
      this.problems.push(`${where}: expected {"min": number, "max": number}`);
      return fallback;
    }
    this.unknownKeys(where, r, ['min', 'max']);
    return { min: r.min, max: r.max };
  }

  /** One replica's size, `{ "cpu": vCPU, "memoryMiB": number }`. */
  public size(key: string): GatewaySize | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    const s = v as { cpu?: unknown; memoryMiB?: unknown };
    if (typeof s !== 'object' || s === null || typeof s.cpu !== 'number' || typeof s.memoryMiB !== 'number') {
      this.problems.push(`${this.where(key)}: expected {"cpu": vCPU, "memoryMiB": number}`);
      return undefined;
    }
    return { cpu: s.cpu, memoryMiB: s.memoryMiB };
  }

  public tcpProtocols(key: string): GatewayTcpProtocol[] {
    const protocols = this.list<GatewayTcpProtocol>(key) ?? [];
    for (const p of protocols) {
      if (!TCP_PROTOCOLS.includes(p)) this.problems.push(`${this.where(key)}: unknown protocol "${String(p)}"`);
    }
    return protocols;
  }

  /** Secret references `{ "cert", "key" }` for the PostgreSQL/MySQL listeners. */
  public tcpTls(key: string): { cert: string; key: string } | undefined {
    const value = this.get(key);
    if (value === undefined) return undefined;
    const v = value as { cert?: unknown; key?: unknown };
    if (typeof v !== 'object' || v === null || typeof v.cert !== 'string' || typeof v.key !== 'string' || Object.keys(v).some((k) => k !== 'cert' && k !== 'key')) {
      this.problems.push(`${this.where(key)}: expected {"cert": secret reference, "key": secret reference}`);
      return undefined;
    }
    return { cert: v.cert, key: v.key };
  }

  /**
   * Trusted issuers: each needs `name`, `issuer` and `audiences`; `federation` needs exact
   * `subjects`; any other key is a problem.
   */
  public issuers<T>(key: string, options: { federationKeys?: readonly string[]; renamed?: Readonly<Record<string, string>> } = {}): T[] {
    const issuers = this.list<Record<string, unknown>>(key) ?? [];
    issuers.forEach((i, n) => {
      const where = `${this.where(key)}[${n}]`;
      if (typeof i?.name !== 'string' || typeof i?.issuer !== 'string' || !Array.isArray(i?.audiences)) this.problems.push(`${where}: needs name, issuer and audiences`);
      this.unknownKeys(where, i, ISSUER_KEYS, options.renamed);
      const federation = i?.federation as { subjects?: unknown } | undefined;
      if (federation === undefined) return;
      if (typeof federation !== 'object' || federation === null || !Array.isArray(federation.subjects)) {
        this.problems.push(`${where}.federation: needs subjects (exact token subjects)`);
        return;
      }
      this.unknownKeys(`${where}.federation`, federation, ['subjects', 'audiences', ...(options.federationKeys ?? [])], options.renamed);
    });
    return issuers as T[];
  }

  /**
   * Upstream connections: each needs `name` and `spec`, and the spec is checked against the
   * gateway's own schema, with `secretStandIn` (a reference in the cloud's form) where the kit
   * fills in the credential's secret.
   */
  public connections<T>(key: string, secretStandIn: string, renamed: Readonly<Record<string, string>> = {}): T[] {
    const connections = this.list<Record<string, unknown>>(key) ?? [];
    connections.forEach((c, n) => {
      const where = `${this.where(key)}[${n}]`;
      this.unknownKeys(where, c, CONNECTION_KEYS, renamed);
      if (typeof c?.name !== 'string' || typeof c?.spec !== 'object' || c.spec === null) {
        this.problems.push(`${where}: needs name and spec`);
        return;
      }
      this.problems.push(...connectionSpecProblems({ name: c.name, spec: c.spec }, secretStandIn).map((p) => `${where}.spec: ${p}`));
    });
    return connections as T[];
  }

  /** Throws every problem at once, under `title`. */
  public finish(title: string): void {
    if (this.problems.length > 0) throw new Error(`${title}:\n  ${this.problems.join('\n  ')}`);
  }
}

/** A reader over one settings object (cdktf.json's `gatehouse:<cloud>`), its problems named `<where>.<key>`. */
export function objectSettingsReader(where: string, raw: unknown): { reader: SettingsReader; values: Record<string, unknown> } {
  const values = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const reader = new SettingsReader({ get: (key) => values[key], where: (key) => `${where}.${key}` });
  if (typeof raw !== 'object' || raw === null) reader.problems.push(`${where}: expected an object`);
  return { reader, values };
}
