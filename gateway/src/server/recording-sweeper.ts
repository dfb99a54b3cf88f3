import { segmentKey } from '../recording/layout';
import { recoverInstance } from '../recording/recovery';
import type { DigestSigner } from '../recording/signer';
import type { LogSink } from '../recording/sinks/sink';
import type { RecordingWitness } from '../recording/witness';
import type { StateRecordingWitness } from '../state/recording-witness';

export interface SweeperOptions {
  readonly sink: LogSink;
  readonly signer: DigestSigner;
  /** The state database witness (leases live there); `witness` may add a second store. */
  readonly state: StateRecordingWitness;
  readonly witness: RecordingWitness;
  readonly instanceId: string;
  readonly runId: string;
  readonly leaseSeconds: number;
  readonly clock?: () => Date;
  readonly logger?: { info(o: object, m?: string): void; warn(o: object, m?: string): void; error(o: object, m?: string): void };
  /** Called after a dead instance's tail was recovered (metrics, tests). */
  readonly onRecovered?: (instanceId: string) => void;
}

export interface RecordingSweeper {
  /** One heartbeat and one sweep now (the timer does the same every leaseSeconds / 3). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps this instance's recording lease alive and recovers the tail of instances whose lease
 * expired (a crashed replica, a replaced cloud task that never comes back): within about
 * 1⅓ × leaseSeconds of the last heartbeat, some live replica claims the instance (one wins, row
 * lock), attests the segments it registered and closes its cut sessions (recovery.ts), with a
 * `final` digest naming the recoverer. A clean shutdown seals its own log, and sealed instances
 * are never claimed.
 */
export function startRecordingSweeper(o: SweeperOptions): RecordingSweeper {
  const clock = o.clock ?? (() => new Date());
  let running: Promise<void> | undefined;
  let stopped = false;
  let keySeq = 900_000;
  const by = `${o.instanceId}/${o.runId}`;

  const sweepOnce = async () => {
    await o.state.heartbeat(o.instanceId, o.runId);
    for (;;) {
      const dead = await o.state.claimExpired(o.leaseSeconds, by);
      if (!dead) return;
      try {
        const outcome = await recoverInstance({
          sink: o.sink,
          signer: o.signer,
          witness: o.witness,
          instanceId: dead,
          clock,
          runId: o.runId,
          recoveredBy: by,
          allocateKey: (now) => segmentKey(dead, now, keySeq++),
          startedAt: clock(),
          log: o.logger,
          // Even with nothing after its last digest: the sealing digest says it ended here.
          force: true,
        });
        o.logger?.warn(
          { instance: dead, adopted: outcome.adopted.length, rejected: outcome.rejected, closedSessions: outcome.closedSessions.length, sealed: outcome.wroteDigest },
          'recording: recovered the tail of an instance whose lease expired',
        );
        o.onRecovered?.(dead);
      } catch (e) {
        await o.state.releaseClaim(dead).catch(() => undefined);
        throw e;
      }
    }
  };

  const tick = (): Promise<void> => {
    running ??= sweepOnce()
      .catch((e: unknown) => o.logger?.error({ err: { message: (e as Error).message } }, 'recording: lease renewal or sweep failed; retrying at the next tick'))
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const timer = setInterval(() => void tick(), Math.max(1000, (o.leaseSeconds * 1000) / 3));
  timer.unref();
  void tick();
  return {
    tick,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
