import type { ServerResponse } from 'node:http';
import { ERROR_CODES, GatehouseError, type ErrorCode } from '../../errors';
import { refusalErrorCode, type Decision } from '../../policy/decision';
import type { HttpRefusal } from '../kit/http-dialect';

/**
 * The one place a GatehouseError becomes an HTTP answer: its status (the error registry's, which
 * holds HTTP statuses), a JSON body and the `x-gatehouse-*` and `www-authenticate` headers. Code
 * branches on GH_ERR_* codes, never on their text.
 *
 * Bodies are shaped like the Anthropic API's (`{type: "error", error: {type, message}}`), which
 * the OpenAI SDKs read as well (`error.message`, `error.type`, `error.code`): an agent's SDK shows
 * the gateway's message instead of a generic status line.
 */
export function httpStatusFor(code: ErrorCode): number {
  return ERROR_CODES[code];
}

/** The API error `type` for a status (the vocabulary agents' SDKs know). */
function errorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    default:
      return 'api_error';
  }
}

/** The error a refused operation is answered with: approvals' outcomes keep their own codes. */
export function refusalError(decision: Decision): GatehouseError {
  return new GatehouseError(refusalErrorCode(decision.code), decision.message);
}

/** The error a dialect's refusal is answered with. */
export function dialectRefusalError(refusal: HttpRefusal): GatehouseError {
  return new GatehouseError(refusal.error, refusal.message);
}

export interface ErrorExtras {
  /** For a refusal: the decision's code. */
  readonly decision?: string;
  readonly requestId?: string;
}

export function errorBody(err: GatehouseError, extras: ErrorExtras = {}): string {
  const status = httpStatusFor(err.code);
  const error: Record<string, unknown> = { type: errorType(status), code: err.code, message: err.message };
  if (extras.decision !== undefined) error.decision = extras.decision;
  const body: Record<string, unknown> = { type: 'error', error };
  if (extras.requestId !== undefined) body.request_id = extras.requestId;
  return JSON.stringify(body);
}

function quoted(s: string): string {
  return s.replace(/[\\"]/g, '').replace(/[\r\n]/g, ' ');
}

/**
 * Answers with the error. When the response already started, the only honest signal left is to
 * cut the stream, so the client sees an incomplete response rather than a truncated success.
 */
export function sendError(res: ServerResponse, err: GatehouseError, extras: ErrorExtras = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (res.destroyed) return;
  const status = httpStatusFor(err.code);
  const body = errorBody(err, extras);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-gatehouse-error': err.code,
  };
  if (extras.requestId !== undefined) headers['x-gatehouse-request-id'] = extras.requestId;
  if (status === 401) {
    headers['www-authenticate'] =
      err.code === 'GH_ERR_TOKEN_MISSING'
        ? 'Bearer realm="gatehouse"'
        : `Bearer realm="gatehouse", error="invalid_token", error_description="${quoted(err.message)}"`;
  }
  res.writeHead(status, headers);
  res.end(body);
}
