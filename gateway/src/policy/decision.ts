/**
 * What a protocol asks the pipeline to judge. Protocols decode wire traffic into operations;
 * policy never sees the wire format.
 */
export interface Operation {
  /** Protocol that produced it: `http`, `postgres`, `ssh`, ... */
  readonly protocol: string;
  /** Action name used by policy, e.g. `http:GET`, `sql:select`. Cedar action id. */
  readonly action: string;
  /** Protocol-specific attributes policy can read (method, path, host; SQL kind, tables ...). */
  readonly attributes: Readonly<Record<string, string | number | boolean | readonly string[]>>;
  /** Short human summary for records and approval requests, e.g. `POST /v1/messages`. */
  readonly summary: string;
}

export type Effect = 'allow' | 'review' | 'deny';

export interface Decision {
  readonly effect: Effect;
  /** Stable reason code, e.g. `policy.forbid` or the id of the policy / rule that decided. */
  readonly code: string;
  /** Ids of the policies or rules that determined the decision. */
  readonly reasons: readonly string[];
  /** Human explanation safe to show to the caller. */
  readonly message: string;
}
