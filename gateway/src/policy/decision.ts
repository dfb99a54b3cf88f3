/**
 * What a protocol asks the pipeline to judge. Protocols decode wire traffic into operations;
 * policy never sees the wire format.
 */
export interface Operation {
  /** Protocol that produced it: `http`, `postgres`, `ssh`, ... */
  readonly protocol: string;
  /** Action name used by policy, e.g. `http:GET`, `sql:select`. Cedar action id. */
  readonly action: string;
  /**
   * Protocol-specific attributes policy can read (method, path, host, query; SQL kind, tables ...).
   * A record value (HTTP's `query`) becomes a Cedar record of strings.
   */
  readonly attributes: Readonly<Record<string, string | number | boolean | readonly string[] | Readonly<Record<string, string>>>>;
  /** Short human summary for records and approval requests, e.g. `POST /v1/messages`. */
  readonly summary: string;
  /**
   * What an approver sees beyond the summary and attributes (HTTP: method, canonical path and
   * query, non-credential headers, the body as recorded). Never seen by policy; built only when
   * the operation waits for approval, and recorded with `approval.requested`. A member
   * `attributes` (the attributes as they may be stored and shown, e.g. with sensitive query values
   * redacted) replaces the operation's attributes in the approval and is not repeated in it.
   */
  readonly details?: () => Record<string, unknown>;
  /**
   * Review by refusal and retry (approvals/service.ts): instead of waiting, a `review` is refused
   * at once naming a new approval, and a later operation with the same key by the same principal
   * is allowed once while that approval is granted and younger than `withinSeconds`. The key is
   * deterministic (a hash of what the approval covers), so any replica finds it in the store.
   */
  readonly retryApproval?: { readonly key: string; readonly withinSeconds: number };
}

export type Effect = 'allow' | 'review' | 'deny';

/**
 * The one namespace of decision codes (Decision.code): who or what decided, stable in records.
 * Code branches on these by equality or with the helpers below, never by string prefix.
 */
export const DECISION_CODES = {
  // policy (policy/engine.ts)
  permit: 'policy.permit',
  review: 'policy.review',
  forbid: 'policy.forbid',
  noPermit: 'policy.no_permit',
  /** The engine failed: the operation is denied. */
  error: 'policy.error',
  // approvals (approvals/service.ts): the outcome of a review
  approvalGranted: 'approval.granted',
  approvalDenied: 'approval.denied',
  approvalExpired: 'approval.expired',
  approvalCancelled: 'approval.cancelled',
  /** No approval could be asked for (none configured, store unreachable, shutting down). */
  approvalUnavailable: 'approval.unavailable',
  /** Refused until approved: the same operation, retried once the approval is granted, goes through. */
  approvalRequired: 'approval.required',
  // protocols: refusals a protocol makes itself, without asking policy
  postgresUnparsed: 'postgres.unparsed',
  postgresUnparsedReview: 'postgres.unparsed_review',
  postgresFunctionCall: 'postgres.function_call',
  /** A statement that would change how the server lexes SQL (protocols/postgres/sql/settings.ts). */
  postgresLexingSetting: 'postgres.lexing_setting',
  /** A search_path change name resolution cannot follow. */
  postgresSearchPath: 'postgres.search_path',
  /** set_config with a computed parameter name. */
  postgresSetConfigName: 'postgres.set_config_name',
  /** A name in another database (three-part name). */
  postgresCrossDatabase: 'postgres.cross_database',
  /** A statement that may make a read-only session's transaction read-write (`BEGIN READ WRITE`, ...). */
  postgresReadOnly: 'postgres.read_only',
  /** A request body longer than what its HTTP dialect must judge whole (protocols/kit/http-dialect.ts). */
  httpBodyTooLarge: 'http.body_too_large',
  /** A request body its HTTP dialect cannot decode into operations (malformed, ambiguous). */
  httpBodyUndecodable: 'http.body_undecodable',
  /** SSH remote and socket forwarding (tcpip-forward, streamlocal), which the gateway does not serve (local forwards are judged by policy; protocols/ssh). */
  sshPortForward: 'ssh.port_forward',
  /** SSH agent forwarding: refused until policy can allow it. */
  sshAgentForward: 'ssh.agent_forward',
  /** Subsystems other than SFTP, X11: refused (SFTP is parsed and judged per file operation: protocols/ssh/sftp). */
  sshSubsystem: 'ssh.subsystem',
  /** An SFTP request whose path the gateway cannot make unambiguous (NUL, not UTF-8, `..`, relative before the working directory is known) or whose handle it does not know. */
  sshSftpPath: 'ssh.sftp_path',
  // AWS APIs (protocols/aws)
  /** The caller's gateway-issued AWS credential or its SigV4 signature did not verify. */
  awsAuthentication: 'aws.authentication',
  /** A presigned request (query authentication): refused, its signature is the caller's. */
  awsPresigned: 'aws.presigned',
  /** A request no single operation of the service model matches (unknown service or operation, ambiguous). */
  awsOperationUndecodable: 'aws.operation_undecodable',
  /** An operation that mints or reveals credentials (STS AssumeRole*, SSO GetRoleCredentials, ...), denied by default. */
  awsMintsCredentials: 'aws.mints_credentials',
  /** An operation whose input or output is an event stream (S3 SelectObjectContent, Bedrock streaming): refused. */
  awsEventStream: 'aws.event_stream',
  // git smart HTTP (protocols/git): requests the git dialect refuses by itself
  /** A repository path with more than one spelling (`..`, `//`, escapes, `.git` variants) or none. */
  gitPathAmbiguous: 'git.path_ambiguous',
  /** A Git request that is not smart HTTP (dumb-protocol paths, unknown service, wrong method). */
  gitUnsupported: 'git.unsupported',
  /** A pkt-line body that cannot be decoded (bad framing, commands, ref names, ids). */
  gitRequestInvalid: 'git.request_invalid',
  /** A push adds a line the secret detectors flag (named by file, line and detector, never the value). */
  gitSecretFound: 'git.secret_found',
  /** A push whose added lines could not all be scanned within the bounds: refused rather than passed unscanned. */
  gitScanIncomplete: 'git.scan_incomplete',
} as const;

export type DecisionCode = (typeof DECISION_CODES)[keyof typeof DECISION_CODES];

const APPROVAL_OUTCOMES: ReadonlySet<DecisionCode> = new Set([
  DECISION_CODES.approvalGranted,
  DECISION_CODES.approvalDenied,
  DECISION_CODES.approvalExpired,
  DECISION_CODES.approvalCancelled,
  DECISION_CODES.approvalUnavailable,
  DECISION_CODES.approvalRequired,
]);

/** True when an approval (not policy alone) decided: the operation went through review. */
export function isApprovalOutcome(code: DecisionCode): boolean {
  return APPROVAL_OUTCOMES.has(code);
}

/** The GatehouseError code a refused operation is answered with: approvals' outcomes keep their own. */
export function refusalErrorCode(code: DecisionCode): 'GH_ERR_POLICY_DENIED' | 'GH_ERR_APPROVAL_DENIED' | 'GH_ERR_APPROVAL_EXPIRED' {
  switch (code) {
    case DECISION_CODES.approvalDenied:
    case DECISION_CODES.approvalCancelled:
      return 'GH_ERR_APPROVAL_DENIED';
    case DECISION_CODES.approvalExpired:
      return 'GH_ERR_APPROVAL_EXPIRED';
    default:
      return 'GH_ERR_POLICY_DENIED';
  }
}

export interface Decision {
  readonly effect: Effect;
  /** Who or what decided (DECISION_CODES); the deciding policies or rules are in `reasons`. */
  readonly code: DecisionCode;
  /** Ids of the policies or rules that determined the decision. */
  readonly reasons: readonly string[];
  /** Human explanation safe to show to the caller. */
  readonly message: string;
}
