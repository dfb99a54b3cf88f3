/**
 * Classifies what the AWS SDK throws for S3 calls: which failures are worth another attempt and
 * which `reason` (the LogSink contract's vocabulary) a final failure carries.
 */
export interface S3Failure {
  /** `exists`, `permission`, `no-bucket`, `not-found`, `rejected`, `unreachable`, `timeout`, `throttled`, `server`, `io`. */
  readonly reason: string;
  /** Another attempt may succeed (network trouble, throttling, 5xx, conflicting conditional writes). */
  readonly transient: boolean;
  /** HTTP status when S3 answered at all. */
  readonly status?: number;
  /** S3 error code (`AccessDenied`, `SlowDown`, ...) or network error code (`ECONNREFUSED`). */
  readonly code: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET']);
const THROTTLE_CODES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequests', 'TooManyRequestsException']);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

export function classifyS3Error(e: unknown): S3Failure {
  const err = (typeof e === 'object' && e !== null ? e : {}) as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    Code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const status = typeof err.$metadata?.httpStatusCode === 'number' ? err.$metadata.httpStatusCode : undefined;
  const name = typeof err.Code === 'string' ? err.Code : typeof err.name === 'string' ? err.name : 'Error';
  // The SDK wraps a transport error it does not recognise as an Error ("AWS SDK error wrapper for
  // Error: connect ECONNREFUSED ...", e.g. one from another realm): the code then lives in the text.
  const netCode = typeof err.code === 'string' ? err.code : typeof err.message === 'string' ? /\b(E[A-Z]{4,}|UND_ERR_[A-Z_]+)\b/.exec(err.message)?.[1] : undefined;

  if (netCode && NETWORK_CODES.has(netCode)) return { reason: 'unreachable', transient: true, code: netCode };
  if (TIMEOUT_NAMES.has(name)) return { reason: 'timeout', transient: true, status, code: name };
  if (status === undefined) {
    // No HTTP answer and no known network code: still a transport failure (aborted socket, DNS).
    return { reason: 'unreachable', transient: true, code: netCode ?? name };
  }
  if (status === 412 || name === 'PreconditionFailed') return { reason: 'exists', transient: false, status, code: name };
  // 409 on a conditional write: another writer's request for the same key was in flight.
  if (status === 409 && name === 'ConditionalRequestConflict') return { reason: 'exists', transient: true, status, code: name };
  if (THROTTLE_CODES.has(name) || status === 429 || status === 503) return { reason: 'throttled', transient: true, status, code: name };
  if (status >= 500) return { reason: 'server', transient: true, status, code: name };
  if (name === 'NoSuchBucket') return { reason: 'no-bucket', transient: false, status, code: name };
  if (name === 'NoSuchKey' || status === 404) return { reason: 'not-found', transient: false, status, code: name };
  if (status === 401 || status === 403) return { reason: 'permission', transient: false, status, code: name };
  if (status === 408) return { reason: 'timeout', transient: true, status, code: name };
  if (status >= 400) return { reason: 'rejected', transient: false, status, code: name };
  return { reason: 'io', transient: false, status, code: name };
}

export const REASON_TEXT: Record<string, string> = {
  exists: 'object already exists (log objects are never overwritten)',
  permission: 'access denied',
  'no-bucket': 'the bucket does not exist',
  'not-found': 'not found',
  rejected: 'request rejected',
  unreachable: 'S3 endpoint unreachable',
  timeout: 'request timed out',
  throttled: 'throttled by S3',
  server: 'S3 server error',
  io: 'unexpected response',
  'invalid-key': 'invalid key',
};
