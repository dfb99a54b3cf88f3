import type { Detector } from '../../gateway/src/masking/detector';
import type { PolicyEngine } from '../../gateway/src/pipeline/types';
import { DECISION_CODES } from '../../gateway/src/policy/decision';
import { PROTOCOL_MODULES } from '../../gateway/src/protocols/registry';
import { EVENT_CATALOG, isEventType } from '../../gateway/src/recording/event-catalog';
import type { RunningGateway, StartOptions } from '../../gateway/src/server/gateway';
import { readEvents } from './pg-gateway';

/**
 * The protocol conformance suite (modelled on recording-sink-conformance.ts): what every
 * registered protocol must do, proven against the whole real gateway (the real GatewayPipeline,
 * OIDC issuer, Cedar, recorder, state store) in strict recording mode, with the real upstream's
 * own count of the operations it received as the witness that a refused operation went nowhere.
 *
 * A protocol plugs in by giving a driver: how to start a gateway with it configured (passing the
 * suite's fault injection through), how to open a session with a token, send one operation and
 * read the native error, and how many operations its upstream has seen. Everything else (which
 * stage fails, what must be recorded, counted and answered) is the suite's, the same for all.
 */

/** Text an upstream answer carries to make the suite's masking detector fail (never sent by the client). */
export const MASKING_TRIP = 'TRIPWIRE-MASKING';

/** What the suite injects into the gateway a driver starts; pass it through unchanged. */
export interface ConformanceInjection {
  /** Start options: the policy engine wrapped so the suite can make it throw; extra masking detectors per connection (see `detectors`). */
  startOptions(connection: string): Pick<StartOptions, 'policyEngine' | 'extraMaskingDetectors'>;
  /** The masking block the driver's connection must carry (the suite's detector rides on it). */
  readonly masking: Record<string, unknown>;
}

/** An operation a driver can send; the upstream must count each one it receives. */
export interface DriverOperation {
  /** `allowed`: policy permits it for `developers`; `forbidden`: policy forbids it. */
  readonly kind: 'allowed' | 'forbidden';
  /** Text the upstream must put in its answer (not in the request): the driver arranges it. */
  readonly answer?: string;
}

export interface DriverSession {
  /** Sends one operation; resolves to `ok`, or to the native error the client got (e.g. `403`, `42501`). */
  send(op: DriverOperation): Promise<string>;
  close(): Promise<void>;
}

export interface DriverEnv {
  readonly gateway: RunningGateway;
  /** A token of a `developers` member, valid for `ttlSeconds` (default: minutes). */
  token(ttlSeconds?: number): Promise<string>;
  /** Opens a session with `token`: resolves to it, or to the native error when the session is refused. */
  open(token: string): Promise<DriverSession | string>;
  /** How many operations the real upstream has received so far (its own log or counter). */
  upstreamOperations(): Promise<number>;
  stop(): Promise<void>;
}

export interface ProtocolDriver {
  /** The protocol's name (and, unless `module` says otherwise, its module's name in the registry). */
  readonly name: string;
  /** The registry module that serves it, for protocols that ride on another's listener (AWS on HTTP). @default name */
  readonly module?: string;
  /**
   * Why the protocol's answers are never masked, when they are not (Git: packs and pkt-line
   * streams, which masking would corrupt; a git connection has no masking): the masking stage is
   * then skipped and `native.maskingFailed` is not given.
   */
  readonly unmasked?: string;
  /** The native errors the client must get, one per failing stage. */
  readonly native: {
    /** Policy forbids the operation (HTTP `403`, PostgreSQL `42501`). */
    readonly forbidden: string;
    /** The token is not valid at all. */
    readonly badToken: string;
    /** The session's token expired mid-session: the answer to the next operation (or the end of the connection). */
    readonly tokenExpired: string;
    /** The policy engine threw. */
    readonly policyFailed: string;
    /** Masking the answer failed (absent with `unmasked`). */
    readonly maskingFailed?: string;
    /** The log store failed under an open session. */
    readonly recordingFailed: string;
  };
  /**
   * Starts a gateway with this protocol configured: strict recording, a policy that permits
   * `developers` and forbids the `forbidden` operation, the injection's masking block on the
   * connection, and `injection.startOptions(connection)` passed to the gateway.
   */
  start(injection: ConformanceInjection): Promise<DriverEnv>;
}

type Event = Record<string, unknown> & { type: string; code: string; session: string; payload: Record<string, unknown> };

/** A detector that finds nothing, and throws on the suite's trip text: a masker failing on a real answer. */
const trippingDetector: Detector = {
  id: 'conformance-trip',
  type: 'conformance_trip',
  family: 'secret',
  maxLength: MASKING_TRIP.length,
  find(text: string) {
    if (text.includes(MASKING_TRIP)) throw new Error('conformance: the masker failed on purpose');
    return [];
  },
};

/** Every driver this file's process declared, in order: to check that no registered module lacks one. */
const declared: ProtocolDriver[] = [];

/** The registry modules served by the drivers declared so far (a driver's `module`, else its name). */
export function modulesWithDriver(): ReadonlySet<string> {
  return new Set(declared.map((d) => d.module ?? d.name));
}

export function protocolConformance(driver: ProtocolDriver): void {
  declared.push(driver);
  describe(`protocol conformance: ${driver.name}`, () => {
    let env: DriverEnv;
    let policyFails = false;
    /** Sessions opened by the recording-failure test. */
    const sessions: DriverSession[] = [];
    const injection: ConformanceInjection = {
      startOptions: (connection) => ({
        policyEngine: (engine: PolicyEngine): PolicyEngine => ({
          decide(principal, conn, operation) {
            if (policyFails) throw new Error('conformance: the policy engine failed on purpose');
            return engine.decide(principal, conn, operation);
          },
        }),
        extraMaskingDetectors: { [connection]: [trippingDetector] },
      }),
      masking: { enabled: true },
    };

    // One gateway, issuer and upstream per protocol and file; tests tell their records apart by session.
    beforeAll(async () => {
      env = await driver.start(injection);
    }, 90_000);
    afterAll(async () => {
      await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
      await env?.stop();
    });
    afterEach(() => {
      policyFails = false;
    });

    const events = async (): Promise<Event[]> => {
      await env.gateway.recorder.flush();
      return (await readEvents(env.gateway.sink)) as Event[];
    };
    /** Events stored so far, without flushing: what strict mode made durable before the answer. */
    const durable = async (): Promise<Event[]> => (await readEvents(env.gateway.sink)) as Event[];
    const open = async (token?: string): Promise<DriverSession> => {
      const s = await env.open(token ?? (await env.token()));
      if (typeof s === 'string') throw new Error(`the session was refused: ${s}`);
      sessions.push(s);
      return s;
    };
    /** Runs `fn` and returns how many operations the upstream received meanwhile. */
    const reached = async (fn: () => Promise<unknown>): Promise<number> => {
      const before = await env.upstreamOperations();
      await fn();
      return (await env.upstreamOperations()) - before;
    };

    it('is a registered module, started by the registry', () => {
      expect(PROTOCOL_MODULES.map((m) => m.name)).toContain(driver.module ?? driver.name);
      expect(Object.keys(env.gateway.protocols.endpoints())).toContain(driver.module ?? driver.name);
    });

    it('forwards an allowed operation: the upstream counts it (the witness the other tests rely on)', async () => {
      const s = await open();
      let answer = '';
      expect(await reached(async () => (answer = await s.send({ kind: 'allowed' })))).toBe(1);
      expect(answer).toBe('ok');
    });

    it('policy denies: native error, nothing upstream, policy.denied durable before the answer', async () => {
      const s = await open();
      let native = '';
      expect(await reached(async () => (native = await s.send({ kind: 'forbidden' })))).toBe(0);
      expect(native).toBe(driver.native.forbidden);
      // Strict mode: the denial is in the log store by the time the client has its answer (no flush).
      const denied = (await durable()).filter((e) => e.type === 'policy.denied' && e.payload.code === DECISION_CODES.forbid);
      expect(denied.length).toBeGreaterThanOrEqual(1);
      expect(denied.at(-1)).toMatchObject({ code: EVENT_CATALOG['policy.denied'].code, payload: { effect: 'deny' } });
    });

    it('identity fails: a token the issuer never signed gets the native error, opens nothing upstream, and is recorded', async () => {
      const good = await env.token();
      const bad = `${good.slice(0, -4)}AAAA`;
      let native = '';
      expect(
        await reached(async () => {
          const s = await env.open(bad);
          native = typeof s === 'string' ? s : await s.send({ kind: 'allowed' });
          if (typeof s !== 'string') sessions.push(s);
        }),
      ).toBe(0);
      expect(native).toBe(driver.native.badToken);
      const failures = (await events()).filter((e) => e.type === 'auth.failure' && e.payload.code === 'GH_ERR_TOKEN_SIGNATURE');
      expect(failures.length).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(failures)).not.toContain(bad);
    });

    // The driver's issuer allows no clock skew (clockSkewSeconds: 0), so "expired" is exact.
    it('identity fails mid-session: once the session token expires, the next operation gets the native error and reaches nothing', async () => {
      const ttl = 2;
      const s = await open(await env.token(ttl));
      expect(await s.send({ kind: 'allowed' })).toBe('ok');
      // Real time: the token's `exp` is a wall-clock instant (seconds), checked by the real verifier.
      await new Promise((r) => setTimeout(r, (ttl + 1.2) * 1000));
      let native = '';
      expect(await reached(async () => (native = await s.send({ kind: 'allowed' })))).toBe(0);
      expect(native).toBe(driver.native.tokenExpired);
    }, 20_000);

    it('policy fails: when the engine throws, the operation is refused natively, reaches nothing, and the refusal is recorded durably', async () => {
      const s = await open();
      policyFails = true;
      let native = '';
      expect(await reached(async () => (native = await s.send({ kind: 'allowed' })))).toBe(0);
      policyFails = false;
      expect(native).toBe(driver.native.policyFailed);
      const refused = (await durable()).filter((e) => e.type === 'policy.denied' && e.payload.code === DECISION_CODES.error);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(refused.at(-1)!.code).toBe(EVENT_CATALOG['policy.denied'].code);
    });

    (driver.unmasked === undefined ? it : it.skip)('masking fails: the client gets the native error, never the answer that could not be masked, and masking.failed is recorded', async () => {
      const s = await open();
      const native = await s.send({ kind: 'allowed', answer: MASKING_TRIP });
      expect(native).toBe(driver.native.maskingFailed);
      const all = await events();
      const failed = all.filter((e) => e.type === 'masking.failed');
      expect(failed.length).toBeGreaterThanOrEqual(1);
      expect(failed.at(-1)).toMatchObject({ code: EVENT_CATALOG['masking.failed'].code, payload: { code: 'GH_ERR_MASKING_FAILED' } });
      // The record does not hold what could not be masked either.
      expect(JSON.stringify(all)).not.toContain(MASKING_TRIP);
    });

    it('recording fails: under an open session, a failing log store refuses the next operation natively before it reaches the upstream', async () => {
      const s = await open();
      expect(await s.send({ kind: 'allowed' })).toBe('ok');
      // Fault injection on the real log store: every write fails as a full disk would.
      const sink = env.gateway.sink as { put: (k: string, b: Uint8Array) => Promise<void>; append?: (k: string, b: Uint8Array) => Promise<void> };
      const fail = () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
      const [put, append] = [sink.put, sink.append];
      sink.put = fail;
      if (append !== undefined) sink.append = fail;
      let native = '';
      try {
        expect(await reached(async () => (native = await s.send({ kind: 'allowed' })))).toBe(0);
      } finally {
        sink.put = put;
        if (append !== undefined) sink.append = append;
      }
      expect(native).toBe(driver.native.recordingFailed);
      // The store is back: the recorder's retry lands what it held (the session's end must be stored below).
      for (let i = 0; i < 100 && !env.gateway.recorder.stats().healthy; i++) {
        await env.gateway.recorder.flush().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(env.gateway.recorder.stats().healthy).toBe(true);
    });

    // Last: it shuts the shared gateway down.
    it('drain and close leave no session open; every session is sealed and every refusal counted in its session', async () => {
      await env.gateway.shutdown('test');
      expect(env.gateway.pipeline.openSessions()).toBe(0);
      const all = (await readEvents(env.gateway.sink)) as Event[];
      for (const e of all) {
        expect([e.type, isEventType(e.type)]).toEqual([e.type, true]);
        if (isEventType(e.type)) expect([e.type, e.code]).toEqual([e.type, EVENT_CATALOG[e.type].code]);
      }
      expect(all.some((e) => (e.payload.decision as { effect?: string } | undefined)?.effect === 'allow')).toBe(true);
      const started = new Set(all.filter((e) => e.type === 'session.start').map((e) => e.session));
      const ends = all.filter((e) => e.type === 'session.end');
      expect(started.size).toBeGreaterThan(0);
      // Sessions cut by the recording failure included: their ends are kept for the retry.
      expect([...started].filter((id) => !ends.some((e) => e.session === id))).toEqual([]);
      // The documented rule: every refusal recorded is counted in its session's `denied`.
      const deniedBySession = new Map<string, number>();
      for (const e of all.filter((x) => x.type === 'policy.denied')) deniedBySession.set(e.session, (deniedBySession.get(e.session) ?? 0) + 1);
      expect(deniedBySession.size).toBeGreaterThan(0);
      for (const [session, n] of deniedBySession) expect([session, ends.find((e) => e.session === session)?.payload.denied]).toEqual([session, n]);
    });
  });
}
