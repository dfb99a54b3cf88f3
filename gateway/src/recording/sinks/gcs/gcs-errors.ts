/**
 * Classifies what @google-cloud/storage throws (gaxios errors carrying the JSON API's status and
 * reason): which failures are worth another attempt and which `reason` a final failure carries.
 */
export interface GcsFailure {
  /** `exists`, `retained`, `permission`, `no-bucket`, `not-found`, `rejected`, `unreachable`, `timeout`, `throttled`, `server`, `io`. */
  readonly reason: string;
  readonly transient: boolean;
  readonly status?: number;
  readonly code: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET']);

export function classifyGcsError(e: unknown): GcsFailure {
  const err = (typeof e === 'object' && e !== null ? e : {}) as {
    name?: unknown; code?: unknown; status?: unknown; message?: unknown;
    errors?: { reason?: unknown; message?: unknown }[]; response?: { status?: unknown };
  };
  const status = typeof err.code === 'number' ? err.code : typeof err.status === 'number' ? err.status : typeof err.response?.status === 'number' ? err.response.status : undefined;
  const apiReason = typeof err.errors?.[0]?.reason === 'string' ? err.errors[0].reason : undefined;
  const message = typeof err.message === 'string' ? err.message : '';
  const netCode = typeof err.code === 'string' && NETWORK_CODES.has(err.code) ? err.code : /\b(E[A-Z]{4,}|UND_ERR_[A-Z_]+)\b/.exec(message)?.[1];
  const code = apiReason ?? (typeof err.code === 'string' ? err.code : typeof err.name === 'string' ? err.name : 'Error');

  if (err.name === 'AbortError' || err.name === 'TimeoutError') return { reason: 'timeout', transient: true, status, code };
  if (status === undefined) return { reason: 'unreachable', transient: true, code: netCode ?? code };
  // ifGenerationMatch=0 on an existing object.
  if (status === 412 || apiReason === 'conditionNotMet') return { reason: 'exists', transient: false, status, code };
  // A locked retention policy refuses deletes and replacements of young objects.
  if (status === 403 && apiReason === 'retentionPolicyNotMet') return { reason: 'retained', transient: false, status, code };
  if (status === 429 || status === 503) return { reason: 'throttled', transient: true, status, code };
  if (status >= 500) return { reason: 'server', transient: true, status, code };
  if (status === 404 && /bucket/i.test(message)) return { reason: 'no-bucket', transient: false, status, code };
  if (status === 404) return { reason: 'not-found', transient: false, status, code };
  if (status === 401 || status === 403) return { reason: 'permission', transient: false, status, code };
  if (status === 408) return { reason: 'timeout', transient: true, status, code };
  if (status >= 400) return { reason: 'rejected', transient: false, status, code };
  return { reason: 'io', transient: false, status, code };
}

export const REASON_TEXT: Record<string, string> = {
  exists: 'object already exists (log objects are never overwritten)',
  retained: 'object is under a retention policy',
  permission: 'access denied',
  'no-bucket': 'the bucket does not exist',
  'not-found': 'not found',
  rejected: 'request rejected',
  unreachable: 'Cloud Storage endpoint unreachable',
  timeout: 'request timed out',
  throttled: 'throttled by Cloud Storage',
  server: 'Cloud Storage server error',
  io: 'unexpected response',
  'invalid-key': 'invalid key',
};
