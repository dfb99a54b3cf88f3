/**
 * Bounded retries for the object-store sinks (S3, Azure Blob, GCS): each sink classifies its own
 * errors; the attempt budget and backoff are shared here so all three behave alike.
 */
export interface RetryOptions {
  /** Attempts per operation, the first included, before failing closed. @default 4 */
  readonly maxAttempts?: number;
  /** Backoff before the second attempt; doubles with full jitter up to `retryMaxMs`. @default 100 */
  readonly retryBaseMs?: number;
  /** @default 2000 */
  readonly retryMaxMs?: number;
  /** Waits between attempts; tests inject one to skip real waiting. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

export class Retry {
  readonly maxAttempts: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: RetryOptions = {}) {
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.baseMs = options.retryBaseMs ?? 100;
    this.maxMs = options.retryMaxMs ?? 2000;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Full jitter (AWS architecture blog "Exponential Backoff and Jitter"): spreads replicas' retries. */
  backoff(attempt: number): number {
    return Math.floor(Math.random() * Math.min(this.maxMs, this.baseMs * 2 ** (attempt - 1)));
  }

  /** Waits the backoff that follows failed attempt number `attempt`. */
  pause(attempt: number): Promise<void> {
    return this.sleep(this.backoff(attempt));
  }

  /**
   * Runs `call` until it succeeds, fails in a way `classify` calls permanent, or the attempts run
   * out; then throws what `giveUp` builds from the last error.
   */
  async run<T, F extends { readonly transient: boolean }>(call: () => Promise<T>, classify: (e: unknown) => F, giveUp: (e: unknown, f: F, attempts: number) => Error): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        const f = classify(e);
        if (!f.transient || attempt >= this.maxAttempts) throw giveUp(e, f, attempt);
        await this.pause(attempt);
      }
    }
  }
}
