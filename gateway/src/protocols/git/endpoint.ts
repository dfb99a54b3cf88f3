import type { IncomingHttpHeaders } from 'node:http';

/**
 * Which smart-HTTP endpoint a request addresses (gitprotocol-http(5)), and of which repository, in
 * one canonical spelling. The path the HTTP exchange routes is already canonical as a URL; a Git
 * server reads more spellings as the same repository (`repo`, `repo.git`, `repo.git/`, some hosts
 * any letter case), so the repository is reduced to one name here, and every spelling Git servers
 * might read differently (dot segments, empty segments, escapes) is refused instead of guessed at.
 */
export type GitService = 'git-upload-pack' | 'git-receive-pack';

export interface GitEndpoint {
  /** The canonical repository: `/`-separated segments, no leading or trailing `/`, no `.git`. */
  readonly repository: string;
  readonly service: GitService;
  /** `advertise`: `GET info/refs?service=…`; `rpc`: `POST git-upload-pack|git-receive-pack`. */
  readonly phase: 'advertise' | 'rpc';
  /** The wire protocol the client asked for (`Git-Protocol: version=2`); 0 for v0 and v1. */
  readonly protocolVersion: 0 | 2;
  /** The path to forward, relative to the upstream's base: `<repository>.git/info/refs` etc. */
  readonly upstreamPath: string;
}

export type GitEndpointResult = { readonly ok: true; readonly endpoint: GitEndpoint } | { readonly ok: false; readonly kind: 'ambiguous' | 'unsupported'; readonly reason: string };

export interface GitEndpointOptions {
  /**
   * The upstream treats repository names without regard to letter case (GitHub, GitLab, Azure
   * DevOps): the repository is lower-cased, so `Org/Repo` and `org/repo` are judged alike.
   * @default false
   */
  readonly caseInsensitive?: boolean;
}

const SEGMENT = /^[A-Za-z0-9._~!$&'()*+,=:@-]+$/;

/** The endpoint of a request, from its method, its routed path and its canonical query. */
export function gitEndpoint(method: string, routedPath: string, params: Readonly<Record<string, string>>, headers: IncomingHttpHeaders, options: GitEndpointOptions = {}): GitEndpointResult {
  let rest: string;
  let service: GitService;
  let phase: 'advertise' | 'rpc';
  if (routedPath.endsWith('/info/refs')) {
    rest = routedPath.slice(0, -'/info/refs'.length);
    phase = 'advertise';
    const s = params.service;
    if (s === undefined) return unsupported('info/refs without ?service= is the dumb HTTP protocol, which is not supported');
    if (s !== 'git-upload-pack' && s !== 'git-receive-pack') return unsupported(`unknown service ${JSON.stringify(s)}`);
    if (Object.keys(params).length !== 1) return unsupported('info/refs takes no query parameter but service');
    if (method !== 'GET') return unsupported(`info/refs is fetched with GET, not ${method}`);
    service = s;
  } else {
    const m = /\/(git-upload-pack|git-receive-pack)$/.exec(routedPath);
    if (m === null) return unsupported('not a smart HTTP endpoint (info/refs, git-upload-pack, git-receive-pack)');
    rest = routedPath.slice(0, m.index);
    service = m[1] as GitService;
    phase = 'rpc';
    if (method !== 'POST') return unsupported(`${service} is called with POST, not ${method}`);
    if (Object.keys(params).length !== 0) return unsupported(`${service} takes no query`);
  }
  const repo = canonicalRepository(rest, options.caseInsensitive ?? false);
  if (typeof repo !== 'string') return repo;
  const version = protocolVersion(headers['git-protocol']);
  if (version === undefined) return { ok: false, kind: 'ambiguous', reason: 'a Git-Protocol header naming more than one version' };
  const suffix = phase === 'advertise' ? `info/refs?service=${service}` : service;
  return { ok: true, endpoint: { repository: repo, service, phase, protocolVersion: service === 'git-upload-pack' ? version : 0, upstreamPath: `${repo}.git/${suffix}` } };
}

/** `/org/repo.git` → `org/repo`; a refusal for any spelling that is not one repository. */
export function canonicalRepository(path: string, caseInsensitive: boolean): string | GitEndpointResult {
  if (!path.startsWith('/')) return ambiguous('a repository path must start with /');
  let p = path.slice(1);
  if (p.endsWith('/')) p = p.slice(0, -1);
  if (p === '') return ambiguous('no repository named');
  const segments = p.split('/');
  for (const s of segments) {
    if (s === '') return ambiguous('an empty path segment (//)');
    if (s === '.' || s === '..') return ambiguous('a dot segment');
    if (s.includes('%')) return ambiguous('a percent-escape in a repository path (encoded / or \\ are read differently by Git servers)');
    if (!SEGMENT.test(s)) return ambiguous('a character Git servers do not agree on');
  }
  let last = segments[segments.length - 1];
  if (last.endsWith('.git')) last = last.slice(0, -'.git'.length);
  if (last === '' || last.endsWith('.git')) return ambiguous('a repository name that is only or twice .git');
  if (last.endsWith('.') || last.startsWith('.')) return ambiguous('a repository name that starts or ends with .');
  segments[segments.length - 1] = last;
  const name = segments.join('/');
  return caseInsensitive ? name.toLowerCase() : name;
}

/** `version=2` in a `Git-Protocol` header (`:`-separated keys); 0 without; undefined when ambiguous. */
function protocolVersion(header: string | string[] | undefined): 0 | 2 | undefined {
  if (header === undefined) return 0;
  if (Array.isArray(header)) return undefined;
  const versions = header.split(':').filter((k) => k.startsWith('version='));
  if (versions.length === 0) return 0;
  if (versions.length > 1) return undefined;
  return versions[0] === 'version=2' ? 2 : 0;
}

function ambiguous(reason: string): GitEndpointResult {
  return { ok: false, kind: 'ambiguous', reason };
}

function unsupported(reason: string): GitEndpointResult {
  return { ok: false, kind: 'unsupported', reason };
}
