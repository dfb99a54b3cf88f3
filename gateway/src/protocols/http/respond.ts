import type { ServerResponse } from 'node:http';
import type { GatehouseError } from '../../errors';

/**
 * Error bodies shaped like the Anthropic API's (`{type: "error", error: {type, message}}`), which
 * the OpenAI SDKs read as well (`error.message`, `error.type`, `error.code`): an agent's SDK shows
 * the gateway's message instead of a generic status line.
 */
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
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    default:
      return 'api_error';
  }
}

export interface ErrorExtras {
  /** For 403 from policy: the decision's reason code. */
  readonly decision?: string;
  readonly requestId?: string;
}

export function errorBody(err: GatehouseError, extras: ErrorExtras = {}): string {
  const error: Record<string, unknown> = { type: errorType(err.status), code: err.code, message: err.message };
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
  const body = errorBody(err, extras);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-gatehouse-error': err.code,
  };
  if (extras.requestId !== undefined) headers['x-gatehouse-request-id'] = extras.requestId;
  if (err.status === 401) {
    headers['www-authenticate'] =
      err.code === 'GH_ERR_TOKEN_MISSING'
        ? 'Bearer realm="gatehouse"'
        : `Bearer realm="gatehouse", error="invalid_token", error_description="${quoted(err.message)}"`;
  }
  res.writeHead(err.status, headers);
  res.end(body);
}
