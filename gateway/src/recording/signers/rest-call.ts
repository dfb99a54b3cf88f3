import { GatehouseError } from '../../errors';

/**
 * One JSON call to a cloud key service's REST API (Azure Key Vault, Google Cloud KMS), with a
 * bearer token, a per-attempt timeout and bounded retries of what the services document as
 * transient (network errors, 408, 429, 5xx). Errors name a status and the service's error code,
 * never a message or a token.
 */

export interface RestCallOptions {
  /** Attempts in all (throttling, 5xx, network). */
  readonly attempts: number;
  /** Per attempt: time until the response headers and body are in. */
  readonly timeoutMs: number;
}

export class RestCallError extends Error {
  constructor(
    /** The HTTP status, or undefined when no response came (network, timeout). */
    readonly status: number | undefined,
    /** The service's error code (`Forbidden`, `PERMISSION_DENIED`), a network code, or `timeout`. */
    readonly code: string,
  ) {
    super(status === undefined ? code : `HTTP ${status} ${code}`);
    this.name = 'RestCallError';
  }
}

export interface RestRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly token: () => Promise<string>;
  readonly body?: unknown;
}

export async function restJson(request: RestRequest, options: RestCallOptions): Promise<Record<string, unknown>> {
  let last: RestCallError | undefined;
  for (let attempt = 0; attempt < Math.max(1, options.attempts); attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** (attempt - 1))));
    const token = await request.token();
    let res: Response;
    let text: string;
    try {
      res = await fetch(request.url, {
        method: request.method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
        signal: AbortSignal.timeout(options.timeoutMs),
        redirect: 'error',
      });
      text = await res.text();
    } catch (e) {
      last = new RestCallError(undefined, networkCode(e));
      continue;
    }
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.ok) {
      if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new RestCallError(res.status, 'malformed-response');
      return json as Record<string, unknown>;
    }
    last = new RestCallError(res.status, serviceCode(json) ?? `HTTP${res.status}`);
    if (!(res.status === 408 || res.status === 429 || res.status >= 500)) break;
  }
  throw last!;
}

/** Azure: `{error:{code}}`; Google: `{error:{status}}`. */
function serviceCode(json: unknown): string | undefined {
  const error = (json as { error?: { code?: unknown; status?: unknown } } | undefined)?.error;
  if (typeof error?.status === 'string') return error.status;
  if (typeof error?.code === 'string') return error.code;
  return undefined;
}

function networkCode(e: unknown): string {
  const err = e as { name?: string; code?: string; cause?: { code?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'timeout';
  return err?.cause?.code ?? err?.code ?? 'network-error';
}

/** A failed signature: GH_ERR_RECORDING_FAILED, so the digest is not written (the recorder retries at the next digest). */
export function signFailure(keyRef: string, reason: string, message: string, cause?: unknown): GatehouseError {
  return new GatehouseError('GH_ERR_RECORDING_FAILED', message, {
    details: { signer: keyRef.slice(0, keyRef.indexOf(':')), ref: keyRef, op: 'sign', reason, ...(cause instanceof RestCallError ? { code: cause.code, ...(cause.status !== undefined ? { status: cause.status } : {}) } : {}) },
    ...(cause !== undefined ? { cause } : {}),
  });
}

export function codeOf(e: unknown): string {
  if (e instanceof RestCallError) return e.message;
  if (e instanceof GatehouseError) return e.code;
  return (e as Error)?.name ?? 'Error';
}
