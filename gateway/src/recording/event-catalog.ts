import type { ErrorCode } from '../errors';
import type { DecisionCode, Effect } from '../policy/decision';
import type { PrincipalRef } from './events';

/**
 * The closed catalog of audit event types (Teleport's `codes.go` and `eventsMap`): every type the
 * gateway records is registered here ONCE with its stable code, its severity and its payload type,
 * side by side. The recorder and the session API accept only these types (`record<T>(type: T,
 * payload: PayloadOf<T>)`): an unregistered type is a compile error, and a runtime error
 * (GH_ERR_EVENT_UNREGISTERED) for a caller that got around the types. The console renders from it.
 *
 * Rules (test/gateway/recording/event-catalog.test.ts enforces them):
 * - a code is `GH` + four digits + the severity's letter (I info, W warning, E error);
 * - codes are unique and stable: never change or reuse one, add new ones;
 * - what reports a failure (`*.error`, `*.failed`, `*.gap`) is not info;
 * - every type emitted in gateway/src is registered here.
 *
 * Code blocks: 1xxx session, identity, policy and approvals; 2xxx protocols (20xx HTTP, 21xx LLM,
 * 22xx PostgreSQL, 23xx SSH); 4xxx masking; 9xxx the recording itself.
 */

export type Severity = 'info' | 'warning' | 'error';
type SeverityLetter<S extends Severity> = S extends 'info' ? 'I' : S extends 'warning' ? 'W' : 'E';
export type EventCode<S extends Severity = Severity> = `GH${number}${SeverityLetter<S>}`;

/** One catalog entry. `payload` exists only in the type (a phantom): it carries PayloadOf<T>. */
export interface EventSpec<P extends object, S extends Severity = Severity> {
  readonly code: EventCode<S>;
  readonly severity: S;
  /** One line for the console and the docs: what the event means. */
  readonly description: string;
  /** @internal type-only */
  readonly payload?: P;
}

function event<P extends object>() {
  return <S extends Severity>(severity: S, code: EventCode<S>, description: string): EventSpec<P, S> => ({ code, severity, description });
}

// ---- payload types -------------------------------------------------------------------------------

/**
 * The principal an operation was judged under, recorded when it is not the session's own (another
 * token of the same subject, with other groups, name or kind): who was actually checked.
 */
export interface CheckedPrincipal extends PrincipalRef {
  readonly tokenId: string;
}

/** An allowed operation's decision, folded into the first event recorded for it (pipeline.ts). */
export interface RecordedDecision {
  readonly effect: Effect;
  readonly code: DecisionCode;
  readonly reasons: readonly string[];
  readonly principal?: CheckedPrincipal;
}

/** Any event recorded with a request id may carry the decision that let the operation through. */
interface OperationEvent {
  decision?: RecordedDecision;
  /** When the request carried several operations (a dialect's decode): every one's decision, in order (`decision` is the last). */
  decisions?: readonly RecordedDecision[];
}

/** A captured body as recording describes it (capture.ts, masking): size, hash, text or base64. */
export type RecordedBody = Record<string, unknown>;

export interface SessionStartPayload {
  readonly protocol: string;
  readonly client: Record<string, unknown>;
}

export interface SessionEndPayload {
  /** Why it ended: `closed`, `client_closed`, `shutdown`, `auth_failed`, `upstream_unavailable`, ... */
  readonly reason?: string;
  readonly requests?: number;
  /** Operations refused in the session (policy, approvals, protocol refusals). */
  readonly denied?: number;
  readonly counters?: Readonly<Record<string, number>>;
  /** Reason `crashed`: who closed it (recovery.ts) and the time of its last stored event. */
  readonly recoveredBy?: string;
  readonly lastEventTime?: string | null;
}

export interface AuthFailurePayload {
  readonly code: ErrorCode;
  readonly message: string;
  readonly connection: string | null;
}

export interface PolicyDecisionPayload {
  readonly effect: Effect;
  readonly code: DecisionCode;
  readonly reasons: readonly string[];
  readonly operation: string;
  readonly action: string;
  readonly principal?: CheckedPrincipal;
}

export interface PolicyDeniedPayload extends PolicyDecisionPayload {
  readonly effect: 'deny';
  readonly message: string;
}

export interface ApprovalVote {
  readonly subject: string;
  readonly name: string;
  readonly issuer: string;
  readonly verdict: string;
  readonly reason?: string | null;
  readonly at: string;
}

export interface ApprovalRequestedPayload {
  readonly approvalId: string;
  readonly operation: string;
  readonly action: string;
  readonly reasons: readonly string[];
  readonly minApprovals: number;
  readonly approverGroups: readonly string[];
  readonly expiresAt: string;
  readonly link?: string | null;
  /**
   * What the approver is shown (HTTP: method, canonical path and query, non-credential headers,
   * body up to the record cap, masked as configured): in the record whatever the outcome.
   */
  readonly request?: Readonly<Record<string, unknown>>;
}

interface ApprovalOutcome {
  readonly approvalId: string | null;
  readonly decidedAt: string;
  readonly reason?: string | null;
}

export interface ApprovalGrantedPayload extends ApprovalOutcome {
  readonly by: readonly string[];
  readonly approvers: readonly ApprovalVote[];
}

export interface ApprovalDeniedPayload extends ApprovalOutcome {
  /** The denier's subject; null when the gateway itself refused (no approval could be asked for). */
  readonly by: string | null;
  readonly name?: string | null;
  readonly votes?: readonly ApprovalVote[];
  /** `approval.unavailable` when the gateway refused for want of an approval service. */
  readonly code?: DecisionCode;
}

export interface ApprovalExpiredPayload extends ApprovalOutcome {
  readonly expiresAt: string;
  readonly votes: readonly ApprovalVote[];
}

export interface ApprovalCancelledPayload extends ApprovalOutcome {
  readonly votes: readonly ApprovalVote[];
}

export interface HttpRequestPayload extends OperationEvent {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly upstream: string;
  readonly host: string | undefined;
  readonly httpVersion: string;
  readonly headers: Record<string, unknown>;
  readonly body: RecordedBody;
  /** The request target as sent, when it differs from the canonical `path` and `query` (canonical-target.ts). */
  rawTarget?: string;
}

export interface HttpResponsePayload extends OperationEvent {
  readonly status: number | undefined;
  readonly headers: Record<string, unknown>;
  readonly body: RecordedBody;
  readonly timings: { readonly ttfbMs: number; readonly totalMs: number; readonly gatewayMs: number };
}

export interface HttpErrorPayload extends OperationEvent {
  readonly code: ErrorCode;
  /** What failed: `upstream_unavailable`, `masking_failed`, `client_aborted`, ... */
  readonly reason: string;
  readonly message: string;
  readonly status: number;
  timings?: { readonly totalMs: number };
  responseBytes?: number;
}

export interface HttpRequestBodyPayload extends OperationEvent {
  readonly size: number;
  readonly sha256: string | undefined;
  /** The cap the request event's body was captured up to. */
  readonly capturedInRequest: number;
}

/** The transcript of one model call; its shape is the dialect's (protocols/http/llm). */
export interface LlmExchangePayload extends OperationEvent {
  [field: string]: unknown;
  masked?: boolean;
}

/** One AWS API call's outcome (protocols/aws): the operation, what it acted on, and AWS's answer. */
export interface AwsResponsePayload {
  readonly service: string;
  readonly region: string;
  /** `aws:<service>:<Operation>`. */
  readonly action: string;
  readonly operation: string;
  readonly group: 'read' | 'write';
  readonly resources: Readonly<Record<string, string>>;
  /** DynamoDB: every table the call names. */
  readonly tables?: readonly string[];
  readonly status: number;
  /** AWS's request id (`x-amz-request-id`, `x-amzn-RequestId`). */
  readonly awsRequestId?: string;
  /** AWS's error code on a failed call (`<Code>`, `__type`, `x-amzn-ErrorType`). */
  readonly errorCode?: string;
  /** The response body up to the cap, as delivered (masked when the connection masks); omitted for calls that reveal credentials. */
  readonly body?: RecordedBody;
  /** True when the body was left out because the call mints or reveals credentials. */
  readonly bodyOmitted?: boolean;
  readonly masked?: boolean;
  /**
   * An event-stream answer (`application/vnd.amazon.eventstream`), passed through message by message
   * after checking each one's framing and CRCs: recorded as metadata (the body is not kept).
   */
  readonly eventStream?: {
    readonly messages: number;
    readonly bytes: number;
    readonly sha256: string;
    readonly events: Readonly<Record<string, number>>;
    readonly exceptions?: readonly { readonly type: string; readonly message: string }[];
  };
  /** The call was made with a gateway-signed presigned URL (`gatehouse aws presign`): its ticket's id. */
  readonly presign?: string;
}

/** A gateway presigned URL issued for one S3 object (`gatehouse aws presign`): its ticket's id, never the ticket. */
export interface AwsPresignIssuedPayload {
  readonly connection: string;
  /** The ticket's id (each use's `aws.response` names it as `presign`). */
  readonly id: string;
  /** `aws:s3:GetObject` or `aws:s3:PutObject`. */
  readonly action: string;
  readonly method: string;
  readonly bucket: string;
  readonly key: string;
  /** ISO 8601. */
  readonly expiration: string;
}

/** Caller credentials issued for AWS APIs (`gatehouse aws-credentials`): never the secret. */
export interface AwsCredentialsIssuedPayload {
  readonly connection: string;
  /** The credential scope (connections sharing it accept the credential). */
  readonly scope: string;
  readonly accessKeyId: string;
  /** ISO 8601. */
  readonly expiration: string;
}

export interface PgSessionPayload {
  readonly upstream: string;
  /** The upstream role logged in as (`upstream.roles` chooses it by group). */
  readonly upstreamUser: string;
  /** The upstream session was opened read-only (`default_transaction_read_only = on`). */
  readonly readOnly?: boolean;
  readonly upstreamTls: boolean;
  readonly clientTls: boolean;
  readonly requested: { readonly user: string | null; readonly database: string | null; readonly application_name: string | null };
  readonly backendPid: number;
}

export interface PgUpstreamErrorPayload {
  readonly upstream: string;
  readonly code: ErrorCode;
  readonly message: string;
}

export interface PgQueryPayload extends OperationEvent {
  /** `simple` (Query) or `extended` (Parse/Bind). */
  readonly protocol: string;
  readonly text: string | null;
  readonly command?: string;
  readonly kind?: string;
  readonly tables?: readonly string[];
  readonly statement?: string | null;
  readonly portal?: string | null;
  readonly parameters?: readonly unknown[];
  /** False for an allowed statement that never ran (another one of its message was refused). */
  readonly executed?: boolean;
  readonly reason?: string;
}

export interface PgErrorFields {
  readonly sqlstate: string;
  readonly message: string;
  readonly severity?: string;
}

export interface PgResultPayload extends OperationEvent {
  ms: number;
  skipped?: boolean;
  tag?: string;
  rowsAffected?: number | null;
  suspended?: boolean;
  error?: PgErrorFields;
  columns?: readonly { readonly name: string; readonly typeOid: number }[] | null;
  rows?: readonly unknown[];
  rowCount?: number;
  truncated?: boolean;
}

export interface PgErrorPayload extends PgErrorFields {
  /** Where: `parse`, `bind` (the server's error to a message), `protocol` (the gateway's framing or size check), `parameter` (the server reported a pinned setting changed). */
  readonly phase: string;
}

/** The upstream SSH connection behind a client's SSH connection (protocols/ssh). */
export interface SshSessionOpenPayload {
  /** `host:port` of the upstream sshd. */
  readonly upstream: string;
  /** The user the gateway logged in as upstream. */
  readonly upstreamUser: string;
  /** The SSH user name the client sent (`connection` or `user@connection`). */
  readonly requestedUser: string;
  /** How the client logged in: a registered key, a gateway-signed certificate, or a device sign-in (keyboard-interactive). */
  readonly login: 'registered' | 'certificate' | 'device';
  /** SHA256 fingerprint of the client's key or certificate's key (`SHA256:…`); null for a device sign-in. */
  readonly clientKey: string | null;
  /** SHA256 fingerprint of the upstream host key, as pinned. */
  readonly upstreamHostKey: string;
}

/**
 * A local port forward (direct-tcpip: `ssh -L`, `ssh -W`) that policy allowed (`ssh:port-forward`),
 * recorded with its decision before it is opened upstream. Its bytes are counted, not recorded.
 */
export interface SshForwardOpenPayload extends OperationEvent {
  /** Numbers forwards on the client connection (their own sequence, apart from session channels). */
  readonly forward: number;
  /** local (`ssh -L`/`-W`): the upstream host connects out; remote (`ssh -R`): the upstream host listens. */
  readonly direction: 'local' | 'remote';
  /** Where the upstream host connects to (local), or the address and port asked to listen on (remote; 0 = allocated). */
  readonly host: string;
  readonly port: number;
}

/** A forward ended: bytes each way and how long it was open. */
export interface SshForwardClosePayload {
  readonly forward: number;
  /** Remote forwards: which connection on the forward this was (one close per connection, from 0). */
  readonly connection?: number;
  /** Milliseconds it was open. */
  readonly t: number;
  /** Bytes from the client to the forwarded destination, and back. */
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/**
 * Agent forwarding (`ssh -A`) that policy allowed (`ssh:agent-forward`) on a session channel,
 * recorded with its decision before it is requested on the upstream session channel.
 */
export interface SshAgentForwardPayload extends OperationEvent {
  /** The session channel the client asked on. */
  readonly channel: number;
}

/**
 * One agent channel the upstream host opened ended: bytes each way, counted only. The agent
 * protocol (key blobs, data to sign, signatures) is never parsed or recorded.
 */
export interface SshAgentUsePayload {
  /** Numbers the agent channels on the client connection. */
  readonly use: number;
  /** Milliseconds it was open. */
  readonly t: number;
  /** Bytes from the upstream host to the client's agent (requests), and back (answers). */
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** A terminal's size (pty-req, window-change): columns and rows. */
export interface SshPtySize {
  readonly term?: string;
  readonly cols: number;
  readonly rows: number;
}

/**
 * A session channel the client opened: its kind, the exec command line, the pty asked for. The
 * request event of the `ssh:exec` / `ssh:shell` operation, recorded (with its decision) before
 * the channel is opened upstream.
 */
export interface SshChannelOpenPayload extends OperationEvent {
  /** The channel's number on the client connection (events of one channel share it). */
  readonly channel: number;
  readonly kind: 'shell' | 'exec';
  /** The exec command line, as sent (null for a shell). */
  readonly command: string | null;
  /** The pseudo-terminal the client asked for before the shell or exec; null without one. */
  readonly pty: SshPtySize | null;
}

/**
 * Bytes on a channel. `t` is milliseconds since the channel opened (the timing a player needs).
 * `text` is UTF-8 decoded across chunk boundaries (a character split between two chunks is in the
 * later event, never mangled) and masked by the stream masker when masking is configured; what
 * the masker holds back to see a whole value arrives in a later event. `bytes` counts the raw
 * bytes received in this chunk.
 */
export interface SshDataPayload {
  readonly channel: number;
  readonly stream: 'stdout' | 'stderr' | 'stdin';
  readonly t: number;
  readonly text: string;
  readonly bytes: number;
}

/**
 * A channel's plain-text transcript for search (protocols/ssh/channel-transcript.ts): its output
 * as recorded (masked when the connection masks) rendered by terminal emulation at the pty's size,
 * so cursor movement, backspaces, clears and colour codes are applied, not stored. Recorded when
 * the channel ends, at most 8 KiB (its head and tail). The full transcript is made from the
 * `ssh.data` events on export; this one feeds the session index.
 */
export interface SshTranscriptPayload {
  readonly channel: number;
  /** Milliseconds since the channel opened. */
  readonly t: number;
  readonly text: string;
  /** True when output was left out (the middle of a long channel; `[…]` marks where). */
  readonly truncated: boolean;
}

/** The client's terminal changed size (window-change). */
export interface SshResizePayload {
  readonly channel: number;
  readonly t: number;
  readonly cols: number;
  readonly rows: number;
}

/** A channel's command or shell ended: its exit status, or the signal that ended it. */
export interface SshExitPayload {
  readonly channel: number;
  readonly t: number;
  /** Null when a signal ended it (or the upstream sent no status). */
  readonly code: number | null;
  readonly signal?: string;
}

/** The SFTP subsystem on a session channel (`ssh:sftp`), recorded (with its decision) before it is opened upstream. */
export interface SshSftpOpenPayload extends OperationEvent {
  readonly channel: number;
}

/**
 * One SFTP request policy allowed (`ssh:sftp:<op>`), recorded (with its decision) before it is
 * forwarded. Paths are canonical (protocols/ssh/sftp/paths.ts): absolute, as the server acts on them.
 */
export interface SshSftpRequestPayload extends OperationEvent {
  readonly channel: number;
  /** The SFTP request id (the reply carries it). */
  readonly request: number;
  /** `open`, `opendir`, `stat`, `lstat`, `setstat`, `remove`, `rename`, `mkdir`, `rmdir`, `symlink`, `link`, `readlink`, `realpath`, `extended`. */
  readonly op: string;
  readonly path: string;
  /** rename, link: the new name. */
  readonly newPath?: string;
  /** symlink: what the link points to (as sent, not resolved). */
  readonly target?: string;
  /** open: the SSH_FXF flags by name. */
  readonly flags?: readonly string[];
  /** setstat, mkdir, open: the attributes asked for. */
  readonly attrs?: Readonly<Record<string, number>>;
  /** extended: the extension's name. */
  readonly name?: string;
}

/** The server's answer to a recorded SFTP request: `ok`, or the SSH_FX status by name and its message. */
export interface SshSftpResultPayload {
  readonly channel: number;
  readonly request: number;
  readonly op: string;
  readonly status: string;
  readonly message?: string;
}

/**
 * A file or directory handle closed (or left open when the channel ended): the bytes read and
 * written through it (counted; their first bytes, up to the cap, are in `ssh.file.content`) and
 * their SHA-256 when they passed in order from offset 0 without gaps (else null).
 */
export interface SshSftpCloseHandlePayload {
  readonly channel: number;
  readonly path: string;
  readonly kind: 'file' | 'directory';
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly reads: number;
  readonly writes: number;
  readonly sha256Read: string | null;
  readonly sha256Written: string | null;
  /** Directory: entries listed. */
  readonly entries?: number;
  /** False when the channel ended with the handle still open. */
  readonly closed: boolean;
}

/**
 * The first bytes of a file read or written through SFTP or legacy SCP, up to the connection's cap
 * (`bodyCapBytes`), recorded when the file is done (before `ssh.sftp.close` / `ssh.scp.file`,
 * which keep the SHA-256 of the whole transfer). Text is masked as the connection masks; binary
 * is base64 when the connection records in the clear and left out (`encoding: none`) when it masks.
 */
export interface SshFileContentPayload {
  readonly channel: number;
  /** `sftp`, or `scp` (the legacy protocol over exec, `scp -O`). */
  readonly via: 'sftp' | 'scp';
  readonly path: string;
  /** `read` from the server (download), `write` to it (upload). */
  readonly direction: 'read' | 'write';
  /** Bytes that passed in this direction (the whole transfer). */
  readonly size: number;
  /** Bytes recorded: the first ones, contiguous from offset 0, up to the cap. */
  readonly recorded: number;
  /** True when `size` exceeds what was recorded. */
  readonly truncated: boolean;
  readonly encoding: 'text' | 'base64' | 'none';
  readonly text?: string;
  readonly base64?: string;
  /** Items masked in `text`, by type. */
  readonly masked?: Readonly<Record<string, number>>;
  /** encoding `none`: `binary_masked` (binary on a masking connection), `masking_failed`. */
  readonly reason?: string;
}

/**
 * One file of a legacy SCP transfer (`scp -O`: the exec command `scp -t` or `scp -f`), parsed from
 * the protocol stream (protocols/ssh/scp.ts): its bytes are not recorded as terminal text.
 */
export interface SshScpFilePayload {
  readonly channel: number;
  /** `write` (upload, `scp -t`) or `read` (download, `scp -f`). */
  readonly direction: 'read' | 'write';
  /** Where on the server: the target (or the target directory and the name), or the named source. */
  readonly path: string;
  /** The name the protocol carried. */
  readonly name: string;
  /** Permission bits as sent (octal). */
  readonly mode: string;
  /** The size announced. */
  readonly size: number;
  /** Bytes that passed. */
  readonly bytes: number;
  /** SHA-256 of the file; null when it did not arrive whole. */
  readonly sha256: string | null;
  readonly complete: boolean;
  /** Why it is incomplete (the source's message, or the channel's end). */
  readonly message?: string;
}

/** The SFTP channel ended: its totals. */
export interface SshSftpEndPayload {
  readonly channel: number;
  /** Milliseconds it was open. */
  readonly t: number;
  readonly requests: number;
  readonly refused: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

/** The SFTP channel broke the protocol (a packet beyond the limit, truncated, unknown handle reuse): closed. */
export interface SshSftpErrorPayload {
  readonly channel: number;
  /** `client` or `server`: who sent the bad packet. */
  readonly from: 'client' | 'server';
  readonly message: string;
}

/** A Git fetch (ref advertisement or upload-pack call): what was asked for, never contents (protocols/git). */
export interface GitFetchPayload {
  readonly repository: string;
  readonly service: 'git-upload-pack' | 'git-receive-pack';
  readonly phase: 'advertise' | 'rpc';
  readonly protocolVersion: number;
  /** v2 command (`ls-refs`, `fetch`, ...); v0/v1 calls are `fetch`. */
  readonly command?: string;
  readonly wants?: readonly string[];
  readonly wantRefs?: readonly string[];
  readonly haves?: number;
  readonly refPrefixes?: readonly string[];
  readonly filter?: string;
  readonly shallow?: boolean;
  /** Bytes of the request body. */
  readonly requestBytes: number;
}

/** One ref update of a push, as proven against the upstream's mirror. */
export interface GitRefUpdateRecord {
  readonly ref: string;
  readonly oldId: string;
  readonly newId: string;
  readonly update: 'create' | 'delete' | 'fast-forward' | 'force';
  readonly commits: number;
  readonly authors: readonly string[];
  readonly committers: readonly string[];
  readonly signed: boolean;
  readonly changedPaths: readonly string[];
  readonly pathsTruncated: boolean;
  readonly largestBlob: number;
}

/** A Git push, judged per ref (protocols/git): recorded before the decision, whatever it is. */
export interface GitPushPayload {
  readonly repository: string;
  readonly refs: readonly GitRefUpdateRecord[];
  readonly atomic: boolean;
  readonly pushOptions: readonly string[];
  /** The pack as pushed: bytes and SHA-256 (absent for a delete-only push). */
  readonly packBytes: number;
  readonly packSha256?: string;
  /** The whole request body's bytes and SHA-256 (what was forwarded when allowed). */
  readonly requestBytes: number;
  readonly requestSha256: string;
  /** The secret scan of the lines the push adds: findings name commit, path, line and detector, never the value. */
  readonly secretScan?: {
    readonly complete: boolean;
    readonly findingsTotal: number;
    readonly findings: readonly { readonly commit: string; readonly path: string; readonly line: number; readonly detector: string }[];
    readonly incomplete: readonly { readonly bound: string; readonly path?: string }[];
    readonly addedBytes: number;
  };
}

/** A non-atomic push forwarded without its refused refs (protocols/git/partial-push.ts). */
export interface GitPushPartialPayload {
  readonly repository: string;
  /** The refs whose commands were forwarded, in the client's order. */
  readonly forwarded: readonly string[];
  /** The refs refused, each with the reason the client was given. */
  readonly refused: readonly { readonly ref: string; readonly reason: string }[];
  /** Bytes of the request as forwarded (the command list rewritten, the pack as pushed). */
  readonly requestBytes: number;
}

/** The upstream sshd could not be reached, refused the brokered key, or showed another host key. */
export interface SshUpstreamErrorPayload {
  readonly upstream: string;
  readonly code: ErrorCode;
  /** `host_key_mismatch`, `unreachable`, `auth_failed`, `channel_failed`. */
  readonly reason: string;
  readonly message: string;
}

export interface MaskingFailedPayload extends OperationEvent {
  readonly code: ErrorCode;
  /** `setup`, `request`, `response`, `transcript`, `result`. */
  readonly phase: string;
  readonly message: string;
  afterHeaders?: boolean;
  details?: Record<string, unknown>;
}

export interface RecordingGapPayload {
  readonly [field: string]: unknown;
}

/** What crash recovery (recovery.ts) attested of a crashed run's tail, and what it cannot know. */
export interface RecordingRecoveredPayload {
  /** The crashed instance. */
  readonly instance: string;
  /** `<instance>` (own restart) or `<instance>/<runId>` of the sweeper that recovered it. */
  readonly recoveredBy: string;
  readonly lastDigest: { readonly seq: number; readonly key: string } | null;
  /** The log store held fewer digests than the witness. */
  readonly rolledBack: boolean;
  readonly adopted: ReadonlyArray<{ readonly key: string; readonly sha256: string; readonly bytes: number; readonly sessions: number; readonly tornTail: boolean }>;
  readonly rejected: ReadonlyArray<{ readonly key: string; readonly reason: string }>;
  /** Sessions closed with `session.end` (reason `crashed`). */
  readonly closedSessions: readonly string[];
  readonly lastEventTime: string | null;
  readonly unknown: string;
}

/** An admin API read: what was asked for (filters, ids), never the answer. */
export interface AdminReadPayload {
  readonly path: string;
  readonly sessionId?: string;
  readonly approvalId?: string;
  readonly query?: Readonly<Record<string, string>>;
}

export interface AdminApprovalDecidePayload {
  readonly approvalId: string;
  readonly verdict: 'approve' | 'deny';
  readonly reason: string | null;
}

export interface AdminAuthFailurePayload {
  /** The refusal's GH_ERR_* code (token missing, expired, not an admin, ...). */
  readonly code: string;
  readonly path: string;
  /** The subject when the token verified but lacked the group. */
  readonly subject?: string;
}

// ---- the catalog ---------------------------------------------------------------------------------

export const EVENT_CATALOG = {
  'session.start': event<SessionStartPayload>()('info', 'GH1000I', 'A session opened (seq 0; carries the principal).'),
  'session.end': event<SessionEndPayload>()('info', 'GH1001I', 'A session ended; its counts.'),
  'auth.failure': event<AuthFailurePayload>()('warning', 'GH1100W', 'A presented credential was refused.'),
  'policy.decision': event<PolicyDecisionPayload>()('info', 'GH1200I', 'A policy decision recorded on its own (allowed decisions usually ride in the request event).'),
  'policy.denied': event<PolicyDeniedPayload>()('warning', 'GH1201W', 'An operation was refused (by policy, an approval outcome, or the protocol).'),
  'approval.requested': event<ApprovalRequestedPayload>()('info', 'GH1300I', 'An operation waits for an approval.'),
  'approval.granted': event<ApprovalGrantedPayload>()('info', 'GH1301I', 'Approvers let the operation through.'),
  'approval.denied': event<ApprovalDeniedPayload>()('warning', 'GH1302W', 'An approver (or the gateway, for want of approvals) refused the operation.'),
  'approval.expired': event<ApprovalExpiredPayload>()('warning', 'GH1303W', 'Nobody decided in time: the operation was refused.'),
  'approval.cancelled': event<ApprovalCancelledPayload>()('warning', 'GH1304W', 'The client went away (or the gateway shut down) while the operation waited.'),
  'http.request': event<HttpRequestPayload>()('info', 'GH2000I', 'An HTTP request, recorded before it is forwarded.'),
  'http.response': event<HttpResponsePayload>()('info', 'GH2001I', 'The upstream response, as delivered to the client.'),
  'http.error': event<HttpErrorPayload>()('error', 'GH2002E', 'An HTTP exchange failed (upstream, masking, client abort, recording).'),
  'http.request.body': event<HttpRequestBodyPayload>()('info', 'GH2003I', 'A request body longer than the cap: its total size and SHA-256, after the upload ended.'),
  'llm.exchange': event<LlmExchangePayload>()('info', 'GH2100I', 'The transcript of one model call.'),
  'aws.response': event<AwsResponsePayload>()('info', 'GH2600I', "An AWS API call's outcome: operation, resources, status, AWS request id and error code, the answer up to the cap."),
  'aws.credentials.issued': event<AwsCredentialsIssuedPayload>()('info', 'GH2601I', 'Gateway-issued AWS caller credentials were handed to a caller (access key id and expiry; never the secret).'),
  'aws.presign.issued': event<AwsPresignIssuedPayload>()('info', 'GH2602I', 'A gateway presigned URL for one S3 object was issued to a caller policy allowed (its id, method, bucket, key, expiry; never the ticket).'),
  'pg.query': event<PgQueryPayload>()('info', 'GH2200I', 'A SQL statement (or bound portal), recorded before it is forwarded.'),
  'pg.result': event<PgResultPayload>()('info', 'GH2201I', "A statement's outcome: tag, rows (masked), or its error."),
  'pg.error': event<PgErrorPayload>()('error', 'GH2202E', 'PostgreSQL refused a Parse or Bind, or the client broke the protocol.'),
  'pg.session': event<PgSessionPayload>()('info', 'GH2203I', 'The upstream PostgreSQL session behind a client connection.'),
  'pg.upstream_error': event<PgUpstreamErrorPayload>()('error', 'GH2204E', 'The upstream PostgreSQL server could not be reached or refused the login.'),
  'ssh.session.open': event<SshSessionOpenPayload>()('info', 'GH2300I', 'The upstream SSH connection behind a client connection (pinned host key, brokered key).'),
  'ssh.channel.open': event<SshChannelOpenPayload>()('info', 'GH2301I', 'A shell or exec channel, recorded (with its decision) before it is opened upstream.'),
  'ssh.data': event<SshDataPayload>()('info', 'GH2302I', "Bytes on a channel (stdin, stdout, stderr) with their timing, UTF-8 safe and masked as configured."),
  'ssh.resize': event<SshResizePayload>()('info', 'GH2303I', "The client's terminal changed size."),
  'ssh.exit': event<SshExitPayload>()('info', 'GH2304I', "A channel's command or shell ended: exit status or signal."),
  'git.fetch': event<GitFetchPayload>()('info', 'GH2400I', 'A Git fetch: the ref advertisement or an upload-pack call, with what it asked for (wants, ref prefixes; never contents).'),
  'git.push': event<GitPushPayload>()('info', 'GH2401I', 'A Git push as judged: each ref update proven against the upstream mirror, its commits, the pack hash and size, the secret scan.'),
  'git.push.partial': event<GitPushPartialPayload>()('info', 'GH2402I', 'A non-atomic push forwarded in part: the refs forwarded, the refs refused with their reasons, the size of the request as forwarded.'),
  'ssh.forward.open': event<SshForwardOpenPayload>()('info', 'GH2306I', 'A port forward (local, or remote: the upstream listens) policy allowed, recorded (with its decision) before it is opened upstream.'),
  'ssh.forward.close': event<SshForwardClosePayload>()('info', 'GH2307I', 'A port forward ended: bytes each way (counted, not recorded) and how long it was open.'),
  'ssh.agent.forward': event<SshAgentForwardPayload>()('info', 'GH2314I', 'Agent forwarding policy allowed on a session channel, recorded (with its decision) before it is requested upstream.'),
  'ssh.agent.use': event<SshAgentUsePayload>()('info', 'GH2315I', "One agent channel from the upstream host to the client's agent ended: bytes each way (counted; the agent protocol is never recorded) and how long it was open."),
  'ssh.sftp.open': event<SshSftpOpenPayload>()('info', 'GH2308I', 'The SFTP subsystem policy allowed, recorded (with its decision) before it is opened upstream.'),
  'ssh.sftp.request': event<SshSftpRequestPayload>()('info', 'GH2309I', 'An SFTP file operation policy allowed (canonical path), recorded before it is forwarded.'),
  'ssh.sftp.result': event<SshSftpResultPayload>()('info', 'GH2310I', "The server's answer to a recorded SFTP file operation."),
  'ssh.sftp.close': event<SshSftpCloseHandlePayload>()('info', 'GH2311I', 'An SFTP file or directory handle closed: bytes read and written (counted; contents up to the cap in ssh.file.content) and their SHA-256.'),
  'ssh.file.content': event<SshFileContentPayload>()('info', 'GH2321I', "The first bytes of a file read or written through SFTP or SCP, up to the connection's cap: masked text, or base64 when the connection records in the clear."),
  'ssh.scp.file': event<SshScpFilePayload>()('info', 'GH2322I', 'One file of a legacy SCP transfer (scp -O), parsed from its stream: path, mode, size, SHA-256, whether it arrived whole.'),
  'ssh.sftp.end': event<SshSftpEndPayload>()('info', 'GH2312I', "An SFTP channel ended: its requests, refusals and bytes each way."),
  'ssh.sftp.error': event<SshSftpErrorPayload>()('error', 'GH2313E', 'An SFTP channel broke the protocol (oversized or malformed packet): it was closed.'),
  'ssh.transcript': event<SshTranscriptPayload>()('info', 'GH2320I', "A channel's plain-text transcript (terminal emulation of its recorded output, at most 8 KiB) for search, recorded when it ends."),
  'ssh.upstream_error': event<SshUpstreamErrorPayload>()('error', 'GH2305E', 'The upstream sshd could not be reached, refused the brokered key, or showed a host key other than the pinned one.'),
  'masking.failed': event<MaskingFailedPayload>()('error', 'GH4000E', 'Masking could not do its job: the content was neither recorded nor delivered.'),
  'recording.gap': event<RecordingGapPayload>()('error', 'GH9000E', 'Events were lost between two recorded ones.'),
  'admin.sessions.list': event<AdminReadPayload>()('info', 'GH5000I', 'An admin listed recorded sessions (the filter, not the answer).'),
  'admin.session.read': event<AdminReadPayload>()('info', 'GH5001I', "An admin read a session's index entry."),
  'admin.session.export': event<AdminReadPayload>()('warning', 'GH5002W', "An admin exported a session's full transcript."),
  'admin.approvals.read': event<AdminReadPayload>()('info', 'GH5003I', 'An admin or approver listed or read approval requests.'),
  'admin.approval.decide': event<AdminApprovalDecidePayload>()('warning', 'GH5004W', 'An approver decided an approval request through the admin API (recorded before the decision).'),
  'admin.auth.failure': event<AdminAuthFailurePayload>()('warning', 'GH5100W', 'A request to the admin API was refused: no valid token, or not an admin or approver.'),
  'recording.recovered': event<RecordingRecoveredPayload>()('warning', 'GH9001W', "Crash recovery attested a crashed run's tail: what it adopted, rejected and closed."),
} as const satisfies Record<string, EventSpec<object>>;

export type EventType = keyof typeof EVENT_CATALOG;

/** The admin API's event types (admin/audit.ts). */
export type AdminEventType = Extract<EventType, `admin.${string}`>;

export type PayloadOf<T extends EventType> = (typeof EVENT_CATALOG)[T] extends EventSpec<infer P> ? P : never;

/** The stable code of every registered type (kept for readers of the old map). */
export const EVENT_CODES: { readonly [T in EventType]: (typeof EVENT_CATALOG)[T]['code'] } = Object.fromEntries(
  Object.entries(EVENT_CATALOG).map(([type, spec]) => [type, spec.code]),
) as never;

/** True for a registered type (a type read from a log or a request is a plain string). */
export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_CATALOG, type);
}
