/**
 * When a long-lived PostgreSQL connection must end: at its token's expiry, or at the connection's
 * maximum session life, whichever comes first. The protocol has no way to present a new token
 * mid-session, so an expired token ends the connection (issue 15: every operation under a current
 * token). Pure apart from the timer it arms; `now` is the caller's clock.
 */
export interface SessionDeadline {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly reason: 'token_expired' | 'max_life';
  /** Calls `onExpired` once at the deadline (at once when it has passed); cancel() when the connection ends first. */
  arm(onExpired: () => void): { cancel(): void };
}

/** Node's timers overflow beyond 2^31-1 ms (about 24.8 days): longer waits re-arm. */
const MAX_TIMER_MS = 0x7fffffff;

export function sessionDeadline(now: number, maxSessionSeconds: number, tokenExpiresAt: number | undefined): SessionDeadline {
  const maxLife = now + maxSessionSeconds * 1000;
  const tokenEnd = tokenExpiresAt === undefined ? Infinity : tokenExpiresAt * 1000;
  const at = Math.min(maxLife, tokenEnd);
  const reason = tokenEnd <= maxLife ? 'token_expired' : 'max_life';
  return {
    at,
    reason,
    arm(onExpired) {
      let timer: NodeJS.Timeout | undefined;
      let cancelled = false;
      const wait = (): void => {
        if (cancelled) return;
        const left = at - Date.now();
        if (left <= 0) {
          timer = undefined;
          onExpired();
          return;
        }
        timer = setTimeout(wait, Math.min(left, MAX_TIMER_MS));
        timer.unref();
      };
      wait();
      return {
        cancel() {
          cancelled = true;
          if (timer !== undefined) clearTimeout(timer);
        },
      };
    },
  };
}
