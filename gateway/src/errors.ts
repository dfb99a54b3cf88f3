/**
 * One error registry for the whole gateway. Code branches on `code`, never on message text.
 * Each code maps to the status a protocol should answer with (HTTP status; other protocols map
 * the same codes to their native errors). Messages must never contain secrets or token contents.
 */
export const ERROR_CODES = {
  // configuration
  GH_ERR_CONFIG_INVALID: 500,
  GH_ERR_CONFIG_UNREADABLE: 500,
  /** No configuration was given and the current directory is not a development directory (`gatehouse run --help`). */
  GH_ERR_CONFIG_MISSING: 500,
  // identity
  GH_ERR_TOKEN_MISSING: 401,
  GH_ERR_TOKEN_MALFORMED: 401,
  GH_ERR_TOKEN_EXPIRED: 401,
  GH_ERR_TOKEN_NOT_YET_VALID: 401,
  GH_ERR_TOKEN_ISSUER: 401,
  GH_ERR_TOKEN_AUDIENCE: 401,
  GH_ERR_TOKEN_ALGORITHM: 401,
  GH_ERR_TOKEN_KEY_UNKNOWN: 401,
  GH_ERR_TOKEN_SIGNATURE: 401,
  GH_ERR_TOKEN_CLAIMS: 401,
  GH_ERR_TOKEN_SUBJECT_RULE: 401,
  GH_ERR_ISSUER_UNAVAILABLE: 503,
  GH_ERR_DEV_ISSUER_IN_PRODUCTION: 500,
  /** The development issuer's key file does not exist: no running gateway would accept a token from a new key. */
  GH_ERR_DEV_ISSUER_UNAVAILABLE: 500,
  // policy
  GH_ERR_POLICY_DENIED: 403,
  GH_ERR_POLICY_FAILED: 500,
  GH_ERR_NO_ROUTE: 404,
  GH_ERR_APPROVAL_DENIED: 403,
  GH_ERR_APPROVAL_EXPIRED: 403,
  GH_ERR_APPROVAL_UNAVAILABLE: 503,
  /** The approval is no longer pending (decided, expired or cancelled): a later decision is refused. */
  GH_ERR_APPROVAL_CLOSED: 409,
  /** Nobody approves or denies their own request. */
  GH_ERR_APPROVAL_SELF: 403,
  /** The caller is not in an approver group. */
  GH_ERR_APPROVAL_NOT_APPROVER: 403,
  /** This approver already voted on the approval (minimum counts count distinct approvers). */
  GH_ERR_APPROVAL_VOTED: 409,
  // recording
  GH_ERR_RECORDING_FAILED: 503,
  GH_ERR_RECORDING_OVERLOADED: 503,
  GH_ERR_RECORDING_CLOSED: 503,
  /** An event type that is not in the event catalog (recording/event-catalog.ts): a gateway bug. */
  GH_ERR_EVENT_UNREGISTERED: 500,
  // secrets / upstream
  GH_ERR_SECRET_UNAVAILABLE: 502,
  GH_ERR_UPSTREAM_UNAVAILABLE: 502,
  GH_ERR_UPSTREAM_TIMEOUT: 504,
  GH_ERR_REQUEST_INVALID: 400,
  /** HTTP request target that is not a valid origin-form target (bad escape, fragment, control character, invalid UTF-8). */
  GH_ERR_TARGET_INVALID: 400,
  /** HTTP request target that upstreams read differently (%2F, `\`, `;`, double encoding, `..` above the root, repeated query names). */
  GH_ERR_TARGET_AMBIGUOUS: 400,
  /** `..` segments that climb out of the connection's route prefix. */
  GH_ERR_TARGET_ESCAPES_PREFIX: 400,
  /** Absolute-form request target whose authority is not the Host it was routed by. */
  GH_ERR_TARGET_ABSOLUTE_FORM: 400,
  /** A method override (X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override, `_method`) on a connection that refuses them. */
  GH_ERR_METHOD_OVERRIDE: 400,
  /** An upstream response would carry a brokered credential, on a connection whose `credentialInResponse` is `refuse`. */
  GH_ERR_CREDENTIAL_REFLECTED: 502,
  // masking
  GH_ERR_MASKING_FAILED: 502,
  // SQL classification (protocols/postgres/sql)
  GH_ERR_SQL_PARSER_NOT_LOADED: 500,
  GH_ERR_SQL_PARSER_UNAVAILABLE: 500,
  // PostgreSQL wire (protocols/postgres)
  /** A startup parameter asks for a setting the gateway pins (client_encoding, standard_conforming_strings, ...). */
  GH_ERR_PG_PARAMETER_PINNED: 400,
  /** The server reported a pinned parameter with another value (ParameterStatus); the connection ends. */
  GH_ERR_PG_PARAMETER_CHANGED: 502,
  /** A client message larger than the connection's maxMessageBytes. */
  GH_ERR_MESSAGE_TOO_LARGE: 413,
  /** A long-lived connection outlived its login token or its maximum session life. */
  GH_ERR_SESSION_EXPIRED: 401,
  /** SSH publickey authentication refused every key the client presented (unregistered, expired, revoked, a certificate not from the gateway's CA, an unknown target); the reasons are in the message. */
  GH_ERR_SSH_KEY_REFUSED: 401,
  /** The SSH user name names no connection (or asks for another upstream user than the connection's). */
  GH_ERR_SSH_TARGET_UNKNOWN: 401,
  /** SSH device sign-in (listeners.ssh.deviceLogin): the person refused the sign-in at the issuer (access_denied). */
  GH_ERR_SSH_DEVICE_DENIED: 401,
  /** SSH device sign-in: the code expired (the issuer's lifetime, or deviceLogin.timeoutSeconds) before it was approved. */
  GH_ERR_SSH_DEVICE_EXPIRED: 401,
  /** SSH device sign-in: the issuer refused the device authorization or the token request (invalid_client, no ID token, ...). */
  GH_ERR_SSH_DEVICE_FAILED: 401,
  /** SSH device sign-in: too many sign-ins are waiting for approval, in total or from the client's address (deviceLogin.maxPending, maxPendingPerAddress); refused before the issuer is asked. */
  GH_ERR_SSH_DEVICE_LIMIT: 429,
  /** SSH device sign-in: the client went away (or turned to another method and never logged in) before the sign-in was approved; the gateway stopped polling the issuer. */
  GH_ERR_SSH_DEVICE_ABANDONED: 401,
  // AWS APIs (protocols/aws): AWS answers authentication failures with 403 and malformed ones with 400
  /** The access key id or session token is not a gateway-issued caller credential (an AWS key, another format, none). */
  GH_ERR_AWS_CREDENTIAL_FOREIGN: 403,
  /** A gateway-issued caller credential past its expiry. */
  GH_ERR_AWS_CREDENTIAL_EXPIRED: 403,
  /** A gateway-issued caller credential whose ticket fails its MAC, does not parse, or does not match its access key id. */
  GH_ERR_AWS_CREDENTIAL_INVALID: 403,
  /** A caller credential sealed with a gateway key id this gateway does not hold (rotated out, another deployment). */
  GH_ERR_AWS_CREDENTIAL_KEY_UNKNOWN: 403,
  /** A caller credential issued for another connection than the one it is presented to. */
  GH_ERR_AWS_CREDENTIAL_SCOPE: 403,
  /** No SigV4 authentication on the request. */
  GH_ERR_AWS_SIGNATURE_MISSING: 403,
  /** An Authorization header or SigV4 field that does not parse (algorithm, credential, signed headers, date). */
  GH_ERR_AWS_SIGNATURE_MALFORMED: 400,
  /** The SigV4 signature does not match the request. */
  GH_ERR_AWS_SIGNATURE_MISMATCH: 403,
  /** The credential scope's date, region, service or terminator does not fit the request. */
  GH_ERR_AWS_SIGNATURE_SCOPE: 403,
  /** `x-amz-date` more than 15 minutes from the gateway's clock. */
  GH_ERR_AWS_REQUEST_TIME_SKEWED: 403,
  /** A presigned (query-authenticated) request: its signature would be the caller's own, never forwarded. */
  GH_ERR_AWS_PRESIGNED_REFUSED: 403,
  /** Authentication said two ways (header and query, or a repeated Authorization / X-Amz-* header). */
  GH_ERR_AWS_AUTH_AMBIGUOUS: 400,
  /** `x-amz-content-sha256` does not match the body, or is no value SigV4 defines. */
  GH_ERR_AWS_PAYLOAD_HASH_MISMATCH: 400,
  /** A service no operation model is known for. */
  GH_ERR_AWS_SERVICE_UNKNOWN: 400,
  /** A request no operation of its service's model matches. */
  GH_ERR_AWS_OPERATION_UNKNOWN: 400,
  /** A request two operations match equally well: refused, never guessed. */
  GH_ERR_AWS_OPERATION_AMBIGUOUS: 400,
  /** An operation whose request is an event stream (HTTP/2 bidirectional: Transcribe streaming, Bedrock's bidirectional stream): not judged, so refused. */
  GH_ERR_AWS_EVENT_STREAM_UNSUPPORTED: 501,
  /** An upstream event stream whose framing or CRCs do not check: cut, never passed on in part. */
  GH_ERR_AWS_EVENT_STREAM_MALFORMED: 502,
  /** A gateway-signed presigned URL whose ticket is expired, forged, or does not fit the request it is used for. */
  GH_ERR_AWS_PRESIGN_INVALID: 403,
  // Git (protocols/git)
  /** A push could not be judged: the system git failed, timed out or exceeded its bounds (the push does not go through). */
  GH_ERR_GIT_INSPECTION_FAILED: 502,
  // state store / admin
  GH_ERR_STATE_UNAVAILABLE: 503,
  /** No login token for the state database from the platform identity (state.iamAuth): no connection is tried without one. */
  GH_ERR_STATE_TOKEN_UNAVAILABLE: 503,
  /**
   * The state database's TLS certificate was not verified (unknown CA, wrong name, expired): the
   * connection is refused before anything, a password or token included, is sent.
   */
  GH_ERR_STATE_TLS_UNVERIFIED: 503,
  GH_ERR_NOT_FOUND: 404,
  GH_ERR_FORBIDDEN: 403,
  GH_ERR_SHUTTING_DOWN: 503,
  GH_ERR_METHOD_NOT_ALLOWED: 405,
  /** An unexpected failure; the message sent to a client says no more than that. */
  GH_ERR_INTERNAL: 500,
  // client login (`gatehouse login` / `token`); statuses are the closest HTTP equivalent
  /** The argument is not a gateway URL, or its /.well-known/gatehouse could not be read. */
  GH_ERR_LOGIN_GATEWAY: 400,
  /** The gateway publishes no login configuration. */
  GH_ERR_LOGIN_NOT_CONFIGURED: 404,
  /** The issuer refused or the flow failed (denied, expired code, state/nonce mismatch). */
  GH_ERR_LOGIN_FAILED: 401,
  /** No cached login for the gateway, or it expired and cannot be refreshed. */
  GH_ERR_NOT_LOGGED_IN: 401,
  /** An ambient workload token (GitHub Actions, file, environment) could not be read. */
  GH_ERR_AMBIENT_TOKEN: 401,
  /** `gatehouse setup`: bad arguments, or a client's existing file cannot be merged safely (not valid JSON, ...). */
  GH_ERR_CLIENT_SETUP: 400,
  /** A client program the command runs (psql, git) is not installed or could not be started. */
  GH_ERR_CLIENT_MISSING: 500,
  // log verification
  GH_ERR_VERIFY_FAILED: 1,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class GatehouseError extends Error {
  readonly code: ErrorCode;
  /** HTTP status (or the closest equivalent) a protocol answers with. */
  readonly status: number;
  /** Structured, secret-free details (paths, names, counts); safe to log and record. */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatehouseError';
    this.code = code;
    this.status = ERROR_CODES[code];
    this.details = options.details;
  }
}

export function isGatehouseError(e: unknown, code?: ErrorCode): e is GatehouseError {
  return e instanceof GatehouseError && (code === undefined || e.code === code);
}

/** Wraps any thrown value into a GatehouseError with the given fallback code. */
export function toGatehouseError(e: unknown, fallback: ErrorCode, message?: string): GatehouseError {
  if (e instanceof GatehouseError) return e;
  const text = message ?? (e instanceof Error ? e.message : String(e));
  return new GatehouseError(fallback, text, { cause: e });
}
