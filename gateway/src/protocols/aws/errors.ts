import type { ServerResponse } from 'node:http';
import { ERROR_CODES, type ErrorCode, type GatehouseError } from '../../errors';

/**
 * The one mapping from GH_ERR_* codes to AWS's own errors, in the wire shape of the service's
 * protocol, so the SDKs and the CLI parse them as they parse AWS's (error code, message, request
 * id) and act on them as they would (an `ExpiredToken` makes them fetch new credentials, a
 * `RequestTimeTooSkewed` corrects their clock). The status is the error registry's; the GH_ERR_*
 * code and the decision travel in `x-gatehouse-error` / `x-gatehouse-decision` and in the message.
 *
 * Shapes: REST-XML (S3) `<Error><Code/><Message/><RequestId/></Error>`; query protocols (STS, ...)
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`; JSON 1.0/1.1
 * and REST-JSON `{"__type": "<Code>", "message": "..."}` with `x-amzn-ErrorType`.
 */
export type AwsWireProtocol = 'restXml' | 'query' | 'json';

/** AWS error codes, per shape: [XML (S3 / query), JSON]. */
const BY_CODE: Partial<Record<ErrorCode, readonly [string, string]>> = {
  GH_ERR_AWS_CREDENTIAL_FOREIGN: ['InvalidAccessKeyId', 'UnrecognizedClientException'],
  GH_ERR_AWS_CREDENTIAL_INVALID: ['InvalidAccessKeyId', 'UnrecognizedClientException'],
  GH_ERR_AWS_CREDENTIAL_KEY_UNKNOWN: ['InvalidAccessKeyId', 'UnrecognizedClientException'],
  GH_ERR_AWS_CREDENTIAL_EXPIRED: ['ExpiredToken', 'ExpiredTokenException'],
  GH_ERR_AWS_CREDENTIAL_SCOPE: ['AccessDenied', 'AccessDeniedException'],
  GH_ERR_AWS_SIGNATURE_MISSING: ['AccessDenied', 'MissingAuthenticationTokenException'],
  GH_ERR_AWS_SIGNATURE_MALFORMED: ['AuthorizationHeaderMalformed', 'IncompleteSignatureException'],
  GH_ERR_AWS_AUTH_AMBIGUOUS: ['InvalidRequest', 'IncompleteSignatureException'],
  GH_ERR_AWS_SIGNATURE_MISMATCH: ['SignatureDoesNotMatch', 'InvalidSignatureException'],
  GH_ERR_AWS_SIGNATURE_SCOPE: ['AuthorizationHeaderMalformed', 'InvalidSignatureException'],
  GH_ERR_AWS_REQUEST_TIME_SKEWED: ['RequestTimeTooSkewed', 'InvalidSignatureException'],
  GH_ERR_AWS_PRESIGNED_REFUSED: ['AccessDenied', 'AccessDeniedException'],
  GH_ERR_AWS_PAYLOAD_HASH_MISMATCH: ['XAmzContentSHA256Mismatch', 'InvalidSignatureException'],
  GH_ERR_AWS_SERVICE_UNKNOWN: ['InvalidRequest', 'UnknownOperationException'],
  GH_ERR_AWS_OPERATION_UNKNOWN: ['InvalidRequest', 'UnknownOperationException'],
  GH_ERR_AWS_OPERATION_AMBIGUOUS: ['InvalidRequest', 'UnknownOperationException'],
  GH_ERR_AWS_EVENT_STREAM_UNSUPPORTED: ['NotImplemented', 'UnsupportedOperationException'],
  GH_ERR_AWS_PRESIGN_INVALID: ['AccessDenied', 'AccessDeniedException'],
  GH_ERR_MESSAGE_TOO_LARGE: ['EntityTooLarge', 'RequestEntityTooLarge'],
  GH_ERR_UPSTREAM_TIMEOUT: ['RequestTimeout', 'RequestTimeout'],
};

/** Everything else by its status: refusals are AccessDenied, failures the services' own 5xx codes. */
function byStatus(status: number): readonly [string, string] {
  if (status === 401 || status === 403) return ['AccessDenied', 'AccessDeniedException'];
  if (status === 404) return ['InvalidRequest', 'ValidationException'];
  if (status === 409) return ['OperationAborted', 'ConflictException'];
  if (status === 429) return ['SlowDown', 'ThrottlingException'];
  if (status >= 400 && status < 500) return ['InvalidRequest', 'ValidationException'];
  if (status === 503) return ['ServiceUnavailable', 'ServiceUnavailableException'];
  return ['InternalError', 'InternalFailure'];
}

/** The AWS error code a GH_ERR_* code is answered with, in one shape. */
export function awsErrorCode(code: ErrorCode, protocol: AwsWireProtocol): string {
  const pair = BY_CODE[code] ?? byStatus(ERROR_CODES[code]);
  return protocol === 'json' ? pair[1] : pair[0];
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export interface AwsErrorExtras {
  readonly requestId?: string;
  readonly decision?: string;
}

/** The status, headers and body of an error answer (pure: tested without a socket). */
export function awsErrorResponse(err: GatehouseError, protocol: AwsWireProtocol, extras: AwsErrorExtras = {}): { status: number; headers: Record<string, string | number>; body: string } {
  const status = ERROR_CODES[err.code];
  const code = awsErrorCode(err.code, protocol);
  // The gateway's code (and decision) in the message: what an SDK shows the agent.
  const message = `${err.message} (${err.code}${extras.decision === undefined ? '' : `, decision ${extras.decision}`})`;
  const requestId = extras.requestId ?? '';
  let body: string;
  let contentType: string;
  if (protocol === 'json') {
    body = JSON.stringify({ __type: code, message, Message: message });
    contentType = 'application/x-amz-json-1.0';
  } else if (protocol === 'query') {
    body = `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>${xml(requestId)}</RequestId></ErrorResponse>`;
    contentType = 'text/xml';
  } else {
    body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xml(message)}</Message><RequestId>${xml(requestId)}</RequestId></Error>`;
    contentType = 'application/xml';
  }
  const headers: Record<string, string | number> = {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'x-gatehouse-error': err.code,
  };
  if (protocol === 'json') headers['x-amzn-errortype'] = code;
  if (requestId !== '') {
    headers['x-gatehouse-request-id'] = requestId;
    headers['x-amz-request-id'] = requestId;
    headers['x-amzn-requestid'] = requestId;
  }
  if (extras.decision !== undefined) headers['x-gatehouse-decision'] = extras.decision;
  return { status, headers, body };
}

/** Answers with the error; a response already started is cut (the client sees it incomplete, never a truncated success). */
export function sendAwsError(res: ServerResponse, err: GatehouseError, protocol: AwsWireProtocol, extras: AwsErrorExtras = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (res.destroyed) return;
  const { status, headers, body } = awsErrorResponse(err, protocol, extras);
  res.writeHead(status, headers);
  res.end(body);
}
