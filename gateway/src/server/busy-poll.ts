import { performance } from 'node:perf_hooks';

/**
 * Busy polling (config `tuning.busyPollMicroseconds`): for a short window after each request,
 * keep the event loop polling its sockets with a zero timeout instead of sleeping in `epoll_wait`.
 *
 * Why: on a VM an idle vCPU halts, and waking it when the next packet arrives costs a VM exit and
 * an inter-processor interrupt, tens of microseconds each. A proxied exchange wakes the gateway
 * twice (request in, response back). Measured here at one connection (`npm run bench -- http`),
 * polling for 1 ms after each request cut Gatehouse's added p50 from 0.416 to 0.331 ms. HAProxy
 * offers the same trade as `busy-polling`.
 *
 * The price is CPU: the loop spins for up to the window after the last request, so an idle gateway
 * burns nothing; with a 1 ms window, one taking a request every 2 ms keeps its core half busy. It suits a dedicated
 * vCPU (Fargate, Cloud Run with CPU always allocated), not a CPU quota shared with other work:
 * under a Kubernetes CPU limit the spin spends the quota and throttling costs more than it saves.
 *
 * How: a chain of `setImmediate` callbacks. While one is pending, libuv polls with a zero timeout,
 * so I/O that arrives is handled in the next turn without a wake-up; timers, the thread pool's
 * completions and everything else run as usual in between.
 */
export interface BusyPoller {
  /** A request (or protocol message) arrived or completed: poll for the next window. */
  touch(): void;
  /** Stops at once; later touches do nothing. */
  stop(): void;
  /** True while the loop is being kept awake. */
  readonly spinning: boolean;
  /** Total time spent in spin windows, in seconds (the `gatehouse_busy_poll_seconds_total` metric). */
  spunSeconds(): number;
}

export interface BusyPollerOptions {
  /** How long to keep polling after the last touch. 0 turns busy polling off. */
  readonly windowMicroseconds: number;
  /** Milliseconds, monotonic. @default performance.now */
  readonly now?: () => number;
  /** Runs `fn` on the next loop turn. @default setImmediate */
  readonly schedule?: (fn: () => void) => void;
}

/** Busy polling off: every call is a no-op (the hot path calls `touch` without a branch). */
const OFF: BusyPoller = Object.freeze({
  touch() {},
  stop() {},
  spinning: false,
  spunSeconds: () => 0,
});

export function createBusyPoller(options: BusyPollerOptions): BusyPoller {
  if (options.windowMicroseconds <= 0) return OFF;
  return new SpinningPoller(options.windowMicroseconds / 1000, options.now ?? (() => performance.now()), options.schedule ?? ((fn) => void setImmediate(fn)));
}

class SpinningPoller implements BusyPoller {
  private until = 0;
  private startedAt = 0;
  private spunMs = 0;
  private stopped = false;
  spinning = false;

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number,
    private readonly schedule: (fn: () => void) => void,
  ) {}

  // Bound: protocols receive `touch` as a bare callback.
  readonly touch = (): void => {
    if (this.stopped) return;
    const now = this.now();
    this.until = now + this.windowMs;
    if (this.spinning) return;
    this.spinning = true;
    this.startedAt = now;
    this.schedule(this.tick);
  };

  stop(): void {
    this.stopped = true;
  }

  spunSeconds(): number {
    const open = this.spinning ? this.now() - this.startedAt : 0;
    return (this.spunMs + open) / 1000;
  }

  private readonly tick = (): void => {
    const now = this.now();
    if (!this.stopped && now < this.until) {
      this.schedule(this.tick);
      return;
    }
    this.spinning = false;
    this.spunMs += now - this.startedAt;
  };
}
