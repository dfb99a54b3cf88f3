import type { HttpConnectionConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';

/** A request matched to a connection, with the URL to send upstream. */
export interface RouteMatch {
  readonly connection: HttpConnectionConfig;
  /** Path as the upstream sees it (after stripping the prefix), with the query. */
  readonly upstreamPath: string;
  /** Path without the query, relative to the connection (what LLM awareness looks at). */
  readonly routedPath: string;
}

interface PreparedRoute {
  readonly connection: HttpConnectionConfig;
  readonly prefix: string | undefined;
  readonly host: string | undefined;
  readonly strip: boolean;
  /** Upstream base path without a trailing slash ('' for the root). */
  readonly basePath: string;
  /** Segments in the prefix: a `..` that left fewer on the path climbed into (or out of) it. */
  readonly prefixDepth: number;
}

/**
 * Routes by Host header and/or path prefix. When several routes match, the one with the longest
 * path prefix wins; a route that names a host beats one that does not at equal prefix length.
 * Built once per configuration snapshot: matching does no allocation beyond the result.
 */
export class HttpRouter {
  private readonly routes: PreparedRoute[];

  constructor(connections: readonly HttpConnectionConfig[]) {
    this.routes = connections.map((connection) => {
      const prefix = connection.route.pathPrefix === undefined ? undefined : trimTrailingSlash(connection.route.pathPrefix);
      const base = new URL(connection.upstream).pathname;
      return {
        connection,
        prefix,
        host: connection.route.host?.toLowerCase(),
        strip: connection.route.stripPrefix,
        basePath: trimTrailingSlash(base),
        prefixDepth: prefix === undefined || prefix === '' ? 0 : prefix.split('/').length - 1,
      };
    });
    this.routes.sort((a, b) => (b.prefix?.length ?? 0) - (a.prefix?.length ?? 0) || Number(b.host !== undefined) - Number(a.host !== undefined));
  }

  /** `url` is a canonical request target (`/path?query`); `hostHeader` the raw Host header (may carry a port). */
  match(url: string, hostHeader: string | undefined): RouteMatch | undefined {
    const q = url.indexOf('?');
    return this.route(q === -1 ? url : url.slice(0, q), q === -1 ? '' : url.slice(q + 1), hostHeader, -1);
  }

  /**
   * Routes a canonical target (canonical-target.ts): `path`, `query` without the `?`. The upstream
   * path is the connection's base path followed by exactly the routed path, so no `..` can leave
   * the base path (the canonical path has none left). `lowestDepth` is the canonicalizer's: when a
   * `..` climbed into the matched route's prefix (`/api/../admin`), the target is refused
   * (GH_ERR_TARGET_ESCAPES_PREFIX) rather than judged on a path the client did not name.
   */
  route(path: string, query: string, hostHeader: string | undefined, lowestDepth: number): RouteMatch | undefined {
    const host = hostHeader === undefined ? undefined : stripPort(hostHeader.toLowerCase());
    for (const r of this.routes) {
      if (r.host !== undefined && r.host !== host) continue;
      if (r.prefix !== undefined && !hasPathPrefix(path, r.prefix)) continue;
      if (lowestDepth >= 0 && lowestDepth < r.prefixDepth) {
        throw new GatehouseError('GH_ERR_TARGET_ESCAPES_PREFIX', `the request path climbs out of the route prefix "${r.prefix ?? ''}" with ".."`);
      }
      let rest = path;
      if (r.prefix !== undefined && r.strip) {
        rest = path.slice(r.prefix.length);
        if (rest === '' || rest[0] !== '/') rest = '/' + rest;
      }
      const routedPath = rest;
      const upstreamPath = query === '' ? r.basePath + rest : `${r.basePath}${rest}?${query}`;
      return { connection: r.connection, upstreamPath, routedPath };
    }
    return undefined;
  }
}

function trimTrailingSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.replace(/\/+$/, '') : p === '/' ? '' : p;
}

/** `/anthropic` matches `/anthropic`, `/anthropic/...` and `/anthropic?...`, never `/anthropics`. */
function hasPathPrefix(path: string, prefix: string): boolean {
  if (prefix === '') return true;
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || path[prefix.length] === '/';
}

function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}
