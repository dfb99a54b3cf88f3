/**
 * Classifies what the Azure Storage SDK throws: which failures are worth another attempt and which
 * `reason` (the LogSink contract's vocabulary) a final failure carries.
 */
export interface AzureFailure {
  /** `exists`, `immutable`, `permission`, `no-container`, `not-found`, `rejected`, `unreachable`, `timeout`, `throttled`, `server`, `io`. */
  readonly reason: string;
  readonly transient: boolean;
  readonly status?: number;
  /** Storage error code (`BlobAlreadyExists`, `AuthorizationFailure`, ...) or network code. */
  readonly code: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET']);

export function classifyAzureError(e: unknown): AzureFailure {
  const err = (typeof e === 'object' && e !== null ? e : {}) as { name?: unknown; code?: unknown; statusCode?: unknown; message?: unknown; details?: { errorCode?: unknown } };
  const status = typeof err.statusCode === 'number' ? err.statusCode : undefined;
  const storageCode = typeof err.details?.errorCode === 'string' ? err.details.errorCode : typeof err.code === 'string' ? err.code : undefined;
  const netCode = typeof err.code === 'string' && NETWORK_CODES.has(err.code)
    ? err.code
    : typeof err.message === 'string' ? /\b(E[A-Z]{4,}|UND_ERR_[A-Z_]+)\b/.exec(err.message)?.[1] : undefined;
  const code = storageCode ?? (typeof err.name === 'string' ? err.name : 'Error');

  if (err.name === 'AbortError' || code === 'OperationTimedOut') return { reason: 'timeout', transient: true, status, code };
  if (status === undefined) return { reason: 'unreachable', transient: true, code: netCode ?? code };
  // If-None-Match: * on an existing blob: 409 BlobAlreadyExists (or 412 ConditionNotMet on some paths).
  if (code === 'BlobAlreadyExists' || code === 'ConditionNotMet' || status === 412) return { reason: 'exists', transient: false, status, code };
  if (code === 'BlobImmutableDueToPolicy' || code === 'BlobImmutableDueToLegalHold') return { reason: 'immutable', transient: false, status, code };
  if (code === 'ServerBusy' || status === 429 || status === 503) return { reason: 'throttled', transient: true, status, code };
  if (status >= 500) return { reason: 'server', transient: true, status, code };
  if (code === 'ContainerNotFound') return { reason: 'no-container', transient: false, status, code };
  if (code === 'BlobNotFound' || status === 404) return { reason: 'not-found', transient: false, status, code };
  if (status === 401 || status === 403) return { reason: 'permission', transient: false, status, code };
  if (status === 408) return { reason: 'timeout', transient: true, status, code };
  if (status >= 400) return { reason: 'rejected', transient: false, status, code };
  return { reason: 'io', transient: false, status, code };
}

export const REASON_TEXT: Record<string, string> = {
  exists: 'blob already exists (log objects are never overwritten)',
  immutable: 'blob is under an immutability policy',
  permission: 'access denied',
  'no-container': 'the container does not exist',
  'not-found': 'not found',
  rejected: 'request rejected',
  unreachable: 'Blob endpoint unreachable',
  timeout: 'request timed out',
  throttled: 'throttled by Azure Storage',
  server: 'Azure Storage server error',
  io: 'unexpected response',
  'invalid-key': 'invalid key',
};
