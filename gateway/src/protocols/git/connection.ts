import type { GitConnectionConfig, HttpConnectionConfig } from '../../config/schema';

/**
 * A `git` connection as the HTTP proxy serves it: on the HTTP listener under its path prefix,
 * forwarded to the upstream's base with the brokered credential, decoded by the git dialect
 * (dialect.ts). What HTTP connections may tune but Git must not is fixed here: no method
 * overrides, no caller credential forwarded, a reflected brokered credential refused.
 */
export function gitRoutePrefix(c: GitConnectionConfig): string {
  return c.route.pathPrefix ?? `/git/${c.name}`;
}

export function gitHttpConnection(c: GitConnectionConfig): HttpConnectionConfig {
  return {
    name: c.name,
    kind: 'http',
    upstream: c.upstream,
    route: { pathPrefix: gitRoutePrefix(c), stripPrefix: true },
    credential: c.credential,
    llm: 'none',
    timeoutMs: c.timeoutMs,
    upstreamCa: c.upstreamCa,
    methodOverride: 'refuse',
    forwardHeaders: [],
    credentialInResponse: 'refuse',
  };
}
