import type { StateLogger } from '../state/store';
import type { Approval } from './types';

/**
 * One read of the waiting approvals per interval, shared by everything on this replica that
 * watches them: the operations waiting here and every open console stream, however many browser
 * tabs there are. Each read goes to every subscriber; the loop runs only while someone subscribes.
 * A change signalled in-process or by NOTIFY (`poke`) brings the next read forward; reads never
 * overlap (a poke during a read asks for one more read after it).
 */
export interface PendingApprovalsWatchOptions {
  /** The pending approvals (ApprovalService.list, which also marks overdue ones expired). */
  readonly read: () => Promise<readonly Approval[]>;
  /** Time between reads while nothing is signalled. */
  readonly intervalMs: number;
  readonly logger: StateLogger;
}

export type PendingApprovalsListener = (pending: readonly Approval[]) => void;

export class PendingApprovalsWatch {
  private readonly listeners = new Set<PendingApprovalsListener>();
  /** The newest read while the loop runs: a new subscriber's baseline, without a read of its own. */
  private latest: readonly Approval[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private again = false;
  private failing = false;
  private closed = false;

  constructor(private readonly options: PendingApprovalsWatchOptions) {}

  /** Calls `listener` with every read from now on; returns the unsubscribe function. */
  subscribe(listener: PendingApprovalsListener): () => void {
    if (this.closed) return () => undefined;
    this.listeners.add(listener);
    if (this.latest !== undefined) deliver(listener, this.latest);
    else if (!this.reading) this.poke(); // the read in flight, if any, reaches this listener too
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.idle();
    };
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** Something changed: read now (or right after the read in flight). */
  poke(): void {
    if (this.closed || this.listeners.size === 0) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.reading = true;
    void this.read().finally(() => {
      this.reading = false;
      if (this.again) {
        this.again = false;
        this.poke();
      } else {
        this.schedule();
      }
    });
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.idle();
  }

  private async read(): Promise<void> {
    let pending: readonly Approval[];
    try {
      pending = await this.options.read();
    } catch (e) {
      // Waiters fail closed at their expiry; the console keeps its last page. Log the first failure only.
      if (!this.failing) this.options.logger.warn({ err: (e as Error).message }, 'pending approvals could not be read; retrying');
      this.failing = true;
      return;
    }
    this.failing = false;
    if (this.listeners.size === 0) return;
    this.latest = pending;
    for (const listener of [...this.listeners]) deliver(listener, pending);
  }

  private schedule(): void {
    if (this.closed || this.listeners.size === 0 || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.poke();
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private idle(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.latest = undefined;
  }
}

function deliver(listener: PendingApprovalsListener, pending: readonly Approval[]): void {
  try {
    listener(pending);
  } catch {
    // One subscriber's failure (a closed stream) must not starve the others.
  }
}
