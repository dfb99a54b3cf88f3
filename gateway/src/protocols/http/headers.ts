import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { CredentialConfig } from '../../config/schema';

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus the proxy-era ones; never forwarded either way. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // Not hop-by-hop, but the gateway's own business: Host is set from the upstream URL, and
  // `Expect: 100-continue` was already answered by the gateway's server before the body was read.
  'host',
  'expect',
  // Request-target overrides (IIS URL Rewrite, Symfony, some Zend/Laminas setups route by them):
  // the upstream would serve another path than the one judged. Never forwarded.
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
]);

/**
 * Caller headers that can carry a credential an upstream might honour: stripped before forwarding
 * (unless the connection's `forwardHeaders` lists them), so only the brokered credential reaches
 * the upstream. Matched in every spelling a framework maps to the same name: case-insensitively
 * and with `_` read as `-` (CGI/WSGI/Rack turn both into `HTTP_X_API_KEY`), see credentialKey.
 */
export const CALLER_CREDENTIAL_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'cookie2',
  'x-api-key',
  'api-key',
  'x-goog-api-key',
  'x-auth-token',
  'x-access-token',
  'private-token',
  'x-amz-security-token',
];

/** The name a header is compared under: lower case, `_` as `-` (what CGI-style frameworks make of both). */
export function credentialKey(name: string): string {
  return name.indexOf('_') === -1 ? name.toLowerCase() : name.toLowerCase().replace(/_/g, '-');
}

/**
 * One connection's rule for caller headers, prepared once: which names are stripped (the common
 * credential headers plus the brokered credential's own header, in credentialKey form) and which
 * of them the connection forwards anyway (never the brokered credential's own header).
 */
export interface CallerHeaderRule {
  /** credentialKey form. */
  readonly strip: ReadonlySet<string>;
  /** Header names exactly as configured (lower case) that are forwarded although stripped. */
  readonly allow: ReadonlySet<string>;
}

export function callerHeaderRule(credential: CredentialConfig, forwardHeaders: readonly string[] = []): CallerHeaderRule {
  const strip = new Set(CALLER_CREDENTIAL_HEADERS);
  const own = credentialHeaderName(credential);
  if (own !== undefined) strip.add(credentialKey(own));
  const allow = new Set<string>();
  for (const h of forwardHeaders) {
    const name = h.toLowerCase();
    // The brokered credential's header (in any spelling) never comes from the caller.
    if (own !== undefined && credentialKey(name) === credentialKey(own)) continue;
    allow.add(name);
  }
  return { strip, allow };
}

const DEFAULT_RULE: CallerHeaderRule = { strip: new Set(CALLER_CREDENTIAL_HEADERS), allow: new Set() };

/** True when a caller header is a credential that this connection strips. */
export function isStrippedCredential(name: string, rule: CallerHeaderRule): boolean {
  const key = name.indexOf('_') === -1 ? name : credentialKey(name);
  return rule.strip.has(key) && !rule.allow.has(name);
}

/** Headers recorded as `[REDACTED]` whatever the connection. */
export const ALWAYS_REDACTED_HEADERS: readonly string[] = ['authorization', 'x-api-key', 'cookie', 'proxy-authorization', 'set-cookie'];

export const REDACTED = '[REDACTED]';

/** Encodings Node's zlib can decode; the gateway must be able to read what it records. */
const DECODABLE = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'identity']);

/**
 * Narrows the client's Accept-Encoding to encodings the gateway can decode for the record. The
 * client still gets a compressed body if it asked for one of these: only what it did not list or
 * what we cannot read (zstd, compress) is dropped. Returns 'identity' when nothing is left.
 */
export function narrowAcceptEncoding(value: string | undefined): string {
  if (value === undefined || value === '') return 'identity';
  const kept: string[] = [];
  for (const part of value.split(',')) {
    const token = part.trim();
    if (token === '') continue;
    const semi = token.indexOf(';');
    const coding = (semi === -1 ? token : token.slice(0, semi)).trim().toLowerCase();
    if (DECODABLE.has(coding)) kept.push(token);
  }
  return kept.length === 0 ? 'identity' : kept.join(', ');
}

/** Names listed in a Connection header are hop-by-hop for this message too. */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  // Hot path: almost every message says just `keep-alive` or `close`, which name no other header.
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const set = new Set<string>();
  for (const t of text.split(',')) {
    const n = t.trim().toLowerCase();
    if (n !== '') set.add(n);
  }
  return set;
}

export interface ForwardContext {
  readonly clientAddress: string;
  readonly proto: 'http' | 'https';
  readonly host: string | undefined;
}

/**
 * Builds the upstream request headers: the caller's headers minus hop-by-hop ones and the
 * caller's credentials, with Accept-Encoding narrowed and X-Forwarded-* / Forwarded appended.
 * The brokered credential is added separately (applyCredential) so this stays secret-free.
 */
export function buildUpstreamHeaders(incoming: IncomingHttpHeaders, ctx: ForwardContext, rule: CallerHeaderRule = DEFAULT_RULE): OutgoingHttpHeaders {
  const listed = connectionTokens(incoming.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in incoming) {
    if (HOP_BY_HOP.has(name) || isStrippedCredential(name, rule)) continue;
    if (listed !== undefined && listed.has(name)) continue;
    const value = incoming[name];
    if (value !== undefined) out[name] = value;
  }
  out['accept-encoding'] = narrowAcceptEncoding(incoming['accept-encoding']);
  const prior = incoming['x-forwarded-for'];
  out['x-forwarded-for'] = prior === undefined || prior === '' ? ctx.clientAddress : `${String(prior)}, ${ctx.clientAddress}`;
  out['x-forwarded-proto'] = ctx.proto;
  if (ctx.host !== undefined) out['x-forwarded-host'] = ctx.host;
  const forwardedFor = ctx.clientAddress.includes(':') ? `"[${ctx.clientAddress}]"` : ctx.clientAddress;
  let forwarded = `for=${forwardedFor};proto=${ctx.proto}`;
  if (ctx.host !== undefined) forwarded += `;host="${ctx.host.replace(/["\\]/g, '')}"`;
  const priorForwarded = incoming.forwarded;
  out.forwarded = priorForwarded === undefined || priorForwarded === '' ? forwarded : `${priorForwarded}, ${forwarded}`;
  return out;
}

/** Response headers for the client: upstream's minus hop-by-hop ones. */
export function buildClientResponseHeaders(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    if (HOP_BY_HOP.has(name)) continue;
    if (listed !== undefined && listed.has(name)) continue;
    const value = upstream[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * Puts the brokered credential on the upstream request. Returns the (possibly changed) path, since
 * a `query` credential goes into the URL. `secret` is the resolved value and must never be logged.
 */
export function applyCredential(credential: CredentialConfig, secret: string | undefined, headers: OutgoingHttpHeaders, path: string): string {
  switch (credential.type) {
    case 'none':
      return path;
    case 'bearer':
      headers.authorization = `Bearer ${secret ?? ''}`;
      return path;
    case 'header':
      headers[credential.header.toLowerCase()] = `${credential.prefix}${secret ?? ''}`;
      return path;
    case 'basic':
      headers.authorization = `Basic ${Buffer.from(`${credential.username}:${secret ?? ''}`, 'utf8').toString('base64')}`;
      return path;
    case 'query': {
      // A caller-supplied parameter of the same name is removed: many servers read the first
      // occurrence, which would let the caller choose the credential.
      const base = withoutQueryParam(path, credential.param);
      const sep = base.includes('?') ? '&' : '?';
      return `${base}${sep}${encodeURIComponent(credential.param)}=${encodeURIComponent(secret ?? '')}`;
    }
  }
}

function withoutQueryParam(path: string, param: string): string {
  const q = path.indexOf('?');
  if (q === -1) return path;
  const wanted = param.toLowerCase();
  const kept = path
    .slice(q + 1)
    .split('&')
    .filter((part) => {
      const eq = part.indexOf('=');
      const raw = eq === -1 ? part : part.slice(0, eq);
      let name = raw;
      try {
        name = decodeURIComponent(raw.replace(/\+/g, ' '));
      } catch {
        // a malformed escape cannot equal the parameter name
      }
      return name.toLowerCase() !== wanted;
    });
  return kept.length === 0 ? path.slice(0, q) : `${path.slice(0, q)}?${kept.join('&')}`;
}

/** The header that carries the brokered credential, if any (redacted in every record). */
export function credentialHeaderName(credential: CredentialConfig): string | undefined {
  switch (credential.type) {
    case 'bearer':
    case 'basic':
      return 'authorization';
    case 'header':
      return credential.header.toLowerCase();
    default:
      return undefined;
  }
}

/**
 * Headers for the record, with every credential-bearing header replaced by `[REDACTED]`: the names
 * in `extra` in any spelling (case, `_` for `-`) and every common credential header.
 */
export function redactHeaders(headers: IncomingHttpHeaders | OutgoingHttpHeaders, extra: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    out[name] = isRedacted(name, extra) ? REDACTED : value;
  }
  return out;
}

function isRedacted(name: string, extra: ReadonlySet<string>): boolean {
  if (extra.has(name)) return true;
  const key = name.indexOf('_') === -1 && name === name.toLowerCase() ? name : credentialKey(name);
  return extra.has(key) || DEFAULT_RULE.strip.has(key);
}

/**
 * The caller's headers an approver sees: credential-bearing ones are left out (not shown as
 * redacted: an approver judges the request, not the caller's secrets), hop-by-hop ones too.
 */
export function approvalHeaders(headers: IncomingHttpHeaders, extra: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || isRedacted(name, extra)) continue;
    out[name] = value;
  }
  return out;
}

/** Query parameters whose values are recorded as `[REDACTED]`. Matched case-insensitively. */
const SENSITIVE_QUERY = [
  'access_token',
  'api_key',
  'apikey',
  'api-key',
  'auth',
  'client_secret',
  'code',
  'id_token',
  'key',
  'password',
  'refresh_token',
  'secret',
  'sig',
  'signature',
  'token',
  'x-amz-credential',
  'x-amz-security-token',
  'x-amz-signature',
  // A gateway presigned URL's ticket (protocols/aws/presign.ts): a bearer credential until it expires.
  'x-gatehouse-presign',
  'x-goog-signature',
];

/** Builds the set of redacted header names for a connection (the always-redacted ones plus its credential header). */
export function redactedHeaderSet(credential: CredentialConfig): Set<string> {
  const set = new Set(ALWAYS_REDACTED_HEADERS);
  const h = credentialHeaderName(credential);
  if (h !== undefined) set.add(h);
  return set;
}

export function sensitiveQuerySet(credential: CredentialConfig): Set<string> {
  const set = new Set(SENSITIVE_QUERY);
  if (credential.type === 'query') set.add(credential.param.toLowerCase());
  return set;
}

/** `?a=1&token=x` → `?a=1&token=[REDACTED]`. Returns '' for no query. Keeps order and unknown encodings. */
export function redactQuery(query: string, sensitive: ReadonlySet<string>): string {
  if (query === '' || query === '?') return '';
  const body = query.startsWith('?') ? query.slice(1) : query;
  const parts = body.split('&');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const eq = p.indexOf('=');
    const rawName = eq === -1 ? p : p.slice(0, eq);
    let name = rawName;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
    } catch {
      // keep the raw name: a malformed escape is recorded as sent
    }
    if (sensitive.has(name.toLowerCase())) parts[i] = `${rawName}=${REDACTED}`;
  }
  return '?' + parts.join('&');
}
