import type { GatewayMetrics } from '../../admin/metrics';
import type { GatehouseConfig } from '../../config/schema';
import type { Detector } from '../../masking/detector';
import type { Logger } from '../../observability/logger';
import type { Pipeline, SecretProvider } from '../../pipeline/types';
import type { WellKnownPublisher } from '../../server/well-known';

/**
 * The contract every protocol implements (Teleport's RegisterEngine): the server loops over the
 * registry (protocols/registry.ts) and knows nothing protocol-specific. A protocol reaches the
 * rest of the gateway only through what `start` is given; per operation it drives the session
 * seam (`session.admit`, `session.refuse`, `session.recordRequest`; pipeline/types.ts).
 *
 * Adding a protocol: implement this in protocols/<name>/module.ts, add it to the registry, and
 * pass the protocol conformance suite (docs/protocols.md).
 */
export interface ProtocolModule<Section = unknown, Handle = unknown> {
  /** `http`, `postgres`, ...: the `protocol` of its sessions and operations. */
  readonly name: string;
  /**
   * Reads this protocol's part of the validated configuration (its listener, its connections).
   * Undefined when the configuration does not ask for the protocol: it is then not started.
   */
  configure(config: GatehouseConfig): Section | undefined;
  /** Starts listening. Throws (nothing left running) when it cannot. */
  start(section: Section, context: ProtocolContext): Promise<StartedProtocol<Handle>>;
}

/** What a protocol is given: the shared pipeline and the gateway's services, nothing else. */
export interface ProtocolContext {
  readonly config: GatehouseConfig;
  readonly pipeline: Pipeline;
  readonly secrets: SecretProvider;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** Called on traffic (busy polling, server/busy-poll.ts). */
  readonly onActivity: () => void;
  /** The gateway's `/.well-known/gatehouse`, for the listeners agents reach to serve. */
  readonly wellKnown: WellKnownPublisher;
  /** Extra masking detectors per connection name (embedding and tests). */
  readonly extraMaskingDetectors?: Readonly<Record<string, readonly Detector[]>>;
}

export interface ProtocolMetrics {
  /** Open client connections (or sessions, for connectionless protocols). */
  readonly connections: number;
}

export interface StartedProtocol<Handle = unknown> {
  /** The protocol's own object (its listener), for embedders and tests. */
  readonly handle: Handle;
  /** Where it listens, e.g. `https://0.0.0.0:8443`, for the start-up log. */
  readonly endpoint: string;
  metrics(): ProtocolMetrics;
  /**
   * Graceful close: stop accepting, let in-flight operations finish until `graceMs`, cut what is
   * left, and close every session the protocol opened (each records `session.end`).
   */
  close(graceMs: number): Promise<void>;
}

/** The protocols a gateway runs, started in registry order. */
export class StartedProtocols {
  private constructor(private readonly started: ReadonlyMap<ProtocolModule, StartedProtocol>) {}

  /**
   * Starts every configured module in order. If one fails, those already started are closed at
   * once (no grace) and the error is rethrown: a gateway starts whole or not at all.
   */
  static async start(modules: readonly ProtocolModule[], context: ProtocolContext): Promise<StartedProtocols> {
    const started = new Map<ProtocolModule, StartedProtocol>();
    try {
      for (const m of modules) {
        const section = m.configure(context.config);
        if (section !== undefined) started.set(m, await m.start(section, context));
      }
    } catch (e) {
      await Promise.allSettled([...started.values()].map((s) => s.close(0)));
      throw e;
    }
    return new StartedProtocols(started);
  }

  /** The handle of a module, when it was configured and started. */
  get<S, H>(module: ProtocolModule<S, H>): H | undefined {
    return (this.started.get(module as unknown as ProtocolModule) as StartedProtocol<H> | undefined)?.handle;
  }

  /** `name → endpoint` of every started protocol. */
  endpoints(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [m, s] of this.started) out[m.name] = s.endpoint;
    return out;
  }

  metrics(): Record<string, ProtocolMetrics> {
    const out: Record<string, ProtocolMetrics> = {};
    for (const [m, s] of this.started) out[m.name] = s.metrics();
    return out;
  }

  /** Closes all of them together, each with the same grace. */
  async close(graceMs: number): Promise<void> {
    await Promise.all([...this.started.values()].map((s) => s.close(graceMs)));
  }
}
