import { PROTOCOL_MODULES } from '../../gateway/src/protocols/registry';
import { EVENT_CATALOG, isEventType } from '../../gateway/src/recording/event-catalog';
import type { RunningGateway } from '../../gateway/src/server/gateway';
import { readEvents } from './pg-gateway';

/**
 * The protocol conformance suite (modelled on recording-sink-conformance.ts): what every
 * registered protocol must do, proven against the whole real gateway (the real GatewayPipeline,
 * OIDC issuer, Cedar, recorder, state store) in strict recording mode. A protocol provides a
 * harness; the suite drives it and reads the record.
 */
export interface ConformanceEnv {
  readonly gateway: RunningGateway;
  /** One operation policy allows, with a valid token of a `developers` member; resolves once answered. */
  allowed(): Promise<void>;
  /** One operation policy forbids; resolves to the protocol-native error the client got. */
  forbidden(): Promise<string>;
  /** One operation policy allows, on a fresh connection; resolves to `ok` or the native error. */
  attempt(): Promise<string>;
  /** A connection or request with a token the issuer never signed; resolves to the native error. */
  badToken(): Promise<string>;
  stop(): Promise<void>;
}

export interface ProtocolHarness {
  /** The module's name in the registry. */
  readonly name: string;
  /** The native errors expected: e.g. HTTP `403` / `401`, PostgreSQL SQLSTATE `42501` / `28P01`. */
  readonly native: { readonly forbidden: string; readonly badToken: string; readonly recordingFailed: string };
  /** Starts a gateway with this protocol configured, strict recording, and a policy that permits `developers` and forbids `forbidden()`'s operation. */
  start(): Promise<ConformanceEnv>;
}

type Event = Record<string, unknown> & { type: string; code: string; session: string; payload: Record<string, unknown> };

export function protocolConformance(harness: ProtocolHarness): void {
  describe(`protocol conformance: ${harness.name}`, () => {
    let env: ConformanceEnv;
    beforeEach(async () => {
      env = await harness.start();
    }, 60_000);
    afterEach(async () => {
      await env.stop();
    });

    const events = async (flush = true): Promise<Event[]> => {
      if (flush) await env.gateway.recorder.flush();
      return (await readEvents(env.gateway.sink)) as Event[];
    };

    it('is a registered module, started by the registry', () => {
      expect(PROTOCOL_MODULES.map((m) => m.name)).toContain(harness.name);
      expect(Object.keys(env.gateway.protocols.endpoints())).toContain(harness.name);
    });

    it('refuses natively, with the refusal durably recorded before the answer, and counts it', async () => {
      await env.allowed();
      const native = await env.forbidden();
      expect(native).toBe(harness.native.forbidden);
      // Strict mode: the denial is in the log store by the time the client has its answer (no flush).
      const stored = await events(false);
      const denied = stored.filter((e) => e.type === 'policy.denied');
      expect(denied).toHaveLength(1);
      expect(denied[0]).toMatchObject({ code: EVENT_CATALOG['policy.denied'].code, payload: { effect: 'deny' } });
      await env.gateway.shutdown('test');
      const ends = (await events()).filter((e) => e.type === 'session.end' && e.session === denied[0]!.session);
      expect(ends).toHaveLength(1);
      expect(ends[0]!.payload).toMatchObject({ denied: 1 });
    });

    it('fails closed on identity: a bad token gets a native error and an auth.failure record', async () => {
      expect(await env.badToken()).toBe(harness.native.badToken);
      const failures = (await events()).filter((e) => e.type === 'auth.failure');
      expect(failures).toHaveLength(1);
      expect(failures[0]!.payload).toMatchObject({ code: expect.stringMatching(/^GH_ERR_TOKEN_/) });
    });

    it('fails closed on recording: when the log store fails, the client gets a native refusal', async () => {
      // Fault injection on the real log store: every write fails as a full disk would.
      const sink = env.gateway.sink as { put: (k: string, b: Uint8Array) => Promise<void>; append?: (k: string, b: Uint8Array) => Promise<void> };
      const fail = () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
      const [put, append] = [sink.put, sink.append];
      sink.put = fail;
      if (append !== undefined) sink.append = fail;
      try {
        expect(await env.attempt()).toBe(harness.native.recordingFailed);
      } finally {
        sink.put = put;
        if (append !== undefined) sink.append = append;
      }
    });

    it('records only registered types, each with its catalog code; an allowed operation carries its decision', async () => {
      await env.allowed();
      await env.forbidden();
      const all = await events();
      expect(all.length).toBeGreaterThan(3);
      for (const e of all) {
        expect([e.type, isEventType(e.type)]).toEqual([e.type, true]);
        if (isEventType(e.type)) expect([e.type, e.code]).toEqual([e.type, EVENT_CATALOG[e.type].code]);
      }
      expect(all.some((e) => (e.payload.decision as { effect?: string } | undefined)?.effect === 'allow')).toBe(true);
    });

    it('drain and close leave no session open, and every session is sealed', async () => {
      await env.allowed();
      await env.forbidden();
      await env.gateway.shutdown('test');
      expect(env.gateway.pipeline.openSessions()).toBe(0);
      const all = await events(false);
      const started = new Set(all.filter((e) => e.type === 'session.start').map((e) => e.session));
      const ended = new Set(all.filter((e) => e.type === 'session.end').map((e) => e.session));
      expect(started.size).toBeGreaterThan(0);
      expect([...started].filter((s) => !ended.has(s))).toEqual([]);
    });
  });
}
