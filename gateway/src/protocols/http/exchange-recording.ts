import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { GatehouseError, toGatehouseError } from '../../errors';
import type { HttpErrorPayload, HttpRequestPayload, HttpResponsePayload, MaskingFailedPayload } from '../../pipeline/types';
import type { CanonicalTarget } from './canonical-target';
import { redactHeaders, redactQuery } from './headers';
import { redactPathQuery, round } from './request';
import type { Upstream } from './upstreams';

/**
 * What one HTTP exchange records, built from what it saw: `http.request` (before forwarding),
 * `http.response` or `http.error` (after). The exchange hands these to the session seam
 * (`recordRequest`, `recordOutcome`); building them is all that happens here.
 */

/** The canonical query for the record, sensitive values redacted: '' or `?a=b`. */
export function recordedQuery(target: CanonicalTarget, upstream: Upstream): string {
  return target.query === '' ? '' : redactQuery('?' + target.query, upstream.sensitiveQuery);
}

/**
 * `http.request`: the canonical target, the upstream it goes to, redacted headers and the body as
 * recorded (masked when the connection masks). When the upload goes on past the body cap its size
 * is not known yet: `http.request.body` follows when it ends.
 */
export function requestPayload(
  req: IncomingMessage,
  target: CanonicalTarget,
  upstream: Upstream,
  upstreamPath: string,
  host: string,
  body: HttpRequestPayload['body'],
  complete: boolean,
): HttpRequestPayload {
  const payload: HttpRequestPayload = {
    method: req.method ?? 'GET',
    path: target.path,
    query: recordedQuery(target, upstream),
    upstream: upstream.origin + redactPathQuery(upstreamPath, upstream.sensitiveQuery),
    host,
    httpVersion: req.httpVersion,
    headers: redactHeaders(req.headers, upstream.redactedHeaders),
    body,
  };
  const raw = req.url ?? '/';
  // What the client sent, when it differs from the canonical form (query values redacted as above).
  if (raw !== (target.query === '' ? target.path : `${target.path}?${target.query}`)) payload.rawTarget = redactPathQuery(raw, upstream.sensitiveQuery);
  if (!complete) {
    delete body.size;
    body.truncated = true;
    body.complete = false;
  }
  return payload;
}

/** `http.response`: the status, redacted headers, the body as recorded, and the timings. */
export function responsePayload(
  status: number | undefined,
  headers: IncomingHttpHeaders,
  upstream: Upstream,
  body: HttpResponsePayload['body'],
  ttfbMs: number,
  totalMs: number,
  gatewayMs: number,
): HttpResponsePayload {
  return { status, headers: redactHeaders(headers, upstream.redactedHeaders), body, timings: { ttfbMs: round(ttfbMs), totalMs: round(totalMs), gatewayMs: round(gatewayMs) } };
}

/** `http.error`: the code and reason of a failed exchange, the status the client saw. */
export function errorPayload(err: GatehouseError, reason: string, status: number, totalMs: number | undefined, responseBytes: number | undefined): HttpErrorPayload {
  const payload: HttpErrorPayload = { code: err.code, reason, message: err.message, status };
  if (totalMs !== undefined) payload.timings = { totalMs: round(totalMs) };
  if (responseBytes !== undefined) payload.responseBytes = responseBytes;
  return payload;
}

/** Any masking failure as GH_ERR_MASKING_FAILED (the cause's code kept in its details). */
export function maskingFailure(e: unknown): GatehouseError {
  const err = toGatehouseError(e, 'GH_ERR_MASKING_FAILED', 'masking failed');
  return err.code === 'GH_ERR_MASKING_FAILED' ? err : new GatehouseError('GH_ERR_MASKING_FAILED', 'masking failed', { details: { cause: err.code } });
}

/** `masking.failed`, never with content: the error's message and details are secret-free. */
export function maskingFailedPayload(err: GatehouseError, phase: MaskingFailedPayload['phase'], afterHeaders: boolean): MaskingFailedPayload {
  const payload: MaskingFailedPayload = { code: err.code, phase, message: err.message, afterHeaders };
  if (err.details !== undefined) payload.details = err.details;
  return payload;
}
