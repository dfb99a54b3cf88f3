import { GatehouseError, toGatehouseError } from '../errors';
import type { Logger } from '../observability/logger';

/**
 * Whether the state database can serve the gateway yet, and the retries that get it there.
 *
 * In the cloud the gateway's database role is made by a separate job (`gatehouse bootstrap-state`):
 * on Azure a scheduled Container Apps job that may run minutes after the first replica starts. A
 * replica that died at start until then would restart in a loop; one that served without its
 * state could not index, witness or approve. So a PostgreSQL state store that cannot be prepared
 * at start (no role yet, no grants, no schema, unreachable, a URL secret not written yet) leaves
 * the gateway running but **not ready**: `/readyz` answers 503 naming the failing code, every new
 * session is refused with `GH_ERR_STATE_UNAVAILABLE` (fail closed), and the preparation is
 * retried with backoff until it succeeds, when the gateway turns ready by itself, without a
 * restart. The embedded store has no such outside step: its failure stops the start as before.
 */
export interface StateReadinessOptions {
  /** Opens the store and applies every component's migrations (idempotent; safe to repeat). */
  readonly prepare: () => Promise<void>;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** First delay between attempts; it doubles up to `maxRetryMs`. @default 1000 */
  readonly retryMs?: number;
  /** @default 30000 */
  readonly maxRetryMs?: number;
}

export interface StateStatus {
  /** `ok`, or `unavailable` while the preparation has not succeeded. */
  readonly state: 'ok' | 'unavailable';
  /** The last attempt's error code (never its message: it may name hosts and roles). */
  readonly code?: string;
}

export class StateReadiness {
  private ready = false;
  private lastError: GatehouseError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt: Promise<void> | undefined;
  private stopped = false;
  /** Failed attempts since the last logged one. */
  private repeats = 0;
  private delay: number;
  private readonly maxDelay: number;

  constructor(private readonly options: StateReadinessOptions) {
    this.delay = Math.max(1, options.retryMs ?? 1000);
    this.maxDelay = Math.max(this.delay, options.maxRetryMs ?? 30000);
  }

  /** The embedded store: one attempt, and its failure is the start's failure. */
  async prepareOrThrow(): Promise<void> {
    await this.options.prepare();
    this.ready = true;
  }

  /**
   * A server: one attempt now (a reachable, prepared database makes the gateway ready before it
   * listens, as before); when it fails, the gateway starts not ready and retries in the background.
   */
  async start(): Promise<void> {
    await this.tryOnce();
  }

  get isReady(): boolean {
    return this.ready;
  }

  status(): StateStatus {
    return this.ready ? { state: 'ok' } : { state: 'unavailable', ...(this.lastError !== undefined && { code: this.lastError.code }) };
  }

  /** Why a new session must be refused now, or undefined when the state database is ready. */
  refusal(): GatehouseError | undefined {
    if (this.ready) return undefined;
    const why = this.lastError?.code ?? 'not prepared yet';
    return new GatehouseError('GH_ERR_STATE_UNAVAILABLE', `the gateway is not ready: its state database cannot be used yet (${why}); retry later`, { details: { reason: 'state-not-ready' } });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tryOnce(): Promise<void> {
    this.attempt ??= this.options
      .prepare()
      .then(
        () => {
          const wasWaiting = this.lastError !== undefined;
          this.ready = true;
          this.lastError = undefined;
          if (wasWaiting) this.options.logger.info('state database ready: the gateway now accepts traffic');
        },
        (e: unknown) => {
          const err = toGatehouseError(e, 'GH_ERR_STATE_UNAVAILABLE');
          // Each new reason is logged at once; the same one again every tenth attempt (minutes apart).
          const changed = this.lastError?.code !== err.code || this.lastError?.message !== err.message || ++this.repeats % 10 === 0;
          if (changed) this.repeats = 0;
          this.lastError = err;
          // A configuration the gateway refuses (a URL in a secret) needs a person; anything else may
          // be a step still to come (the bootstrap job, a secret version, the network).
          const log = err.code === 'GH_ERR_CONFIG_INVALID' ? this.options.logger.error.bind(this.options.logger) : this.options.logger.warn.bind(this.options.logger);
          if (changed) log({ code: err.code, err: err.message, retryMs: this.delay }, 'state database not ready: the gateway refuses traffic (not ready) and retries');
          this.schedule();
        },
      )
      .finally(() => {
        this.attempt = undefined;
      });
    return this.attempt;
  }

  private schedule(): void {
    if (this.stopped || this.ready) return;
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, this.maxDelay);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tryOnce();
    }, wait);
    this.timer.unref();
  }
}
