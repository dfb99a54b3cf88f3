import { GatehouseError } from '../errors';

/** The largest discovery or JWKS document we read; anything bigger is refused, not buffered. */
const MAX_DOCUMENT_BYTES = 1024 * 1024;

export interface DocumentFetchOptions {
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
}

/**
 * Fetches a JSON document from an issuer. Every failure (network, timeout, status, size, parse)
 * becomes GH_ERR_ISSUER_UNAVAILABLE: without the issuer's keys no token can be trusted.
 */
export async function fetchIssuerDocument(
  url: string,
  what: string,
  issuerName: string,
  options: DocumentFetchOptions,
): Promise<Record<string, unknown>> {
  const unavailable = (reason: string, cause?: unknown): GatehouseError =>
    new GatehouseError('GH_ERR_ISSUER_UNAVAILABLE', `could not fetch the ${what} of issuer "${issuerName}": ${reason}`, {
      details: { issuer: issuerName, url },
      cause,
    });

  let response: Response;
  try {
    response = await options.fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (cause) {
    const reason = cause instanceof Error && cause.name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : 'request failed';
    throw unavailable(reason, cause);
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw unavailable(`HTTP status ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_DOCUMENT_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw unavailable(`document larger than ${MAX_DOCUMENT_BYTES} bytes`);
  }
  let text: string;
  try {
    text = await readBounded(response);
  } catch (cause) {
    throw unavailable(cause instanceof GatehouseError ? cause.message : 'reading the response failed', cause);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw unavailable('response is not JSON', cause);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw unavailable('response is not a JSON object');
  }
  return parsed as Record<string, unknown>;
}

async function readBounded(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_DOCUMENT_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new GatehouseError('GH_ERR_ISSUER_UNAVAILABLE', `document larger than ${MAX_DOCUMENT_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `${issuer}/.well-known/openid-configuration`, per OpenID Connect Discovery 1.0 §4. */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/**
 * Reads the issuer's discovery document and returns its `jwks_uri`. The document must name the
 * configured issuer exactly: otherwise a compromised or misconfigured endpoint could hand us
 * another issuer's keys.
 */
export async function discoverJwksUri(issuer: string, issuerName: string, options: DocumentFetchOptions): Promise<string> {
  const doc = await fetchIssuerDocument(discoveryUrl(issuer), 'discovery document', issuerName, options);
  if (doc.issuer !== issuer) {
    throw new GatehouseError(
      'GH_ERR_ISSUER_UNAVAILABLE',
      `the discovery document of issuer "${issuerName}" names a different issuer than the configured one`,
      { details: { issuer: issuerName } },
    );
  }
  const jwksUri = doc.jwks_uri;
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) {
    throw new GatehouseError('GH_ERR_ISSUER_UNAVAILABLE', `the discovery document of issuer "${issuerName}" has no valid jwks_uri`, {
      details: { issuer: issuerName },
    });
  }
  return jwksUri;
}
