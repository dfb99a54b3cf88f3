import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { CredentialConfig, GitConnectionConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';
import type { SecretProvider } from '../../pipeline/types';
import { DECISION_CODES, type Operation } from '../../policy/decision';
import type { GitPushPayload } from '../../recording/event-catalog';
import { HttpRefusal, type HttpDialect, type HttpRefusedAbout, type HttpRequestHead, type HttpUpstreamRequest, type HttpUpstreamRewrite, type SpooledBody } from '../kit/http-dialect';
import { readPemReference } from '../kit/upstream-tls';
import { gitEndpoint, type GitEndpoint } from './endpoint';
import { inspectPush, type PushInspection } from './inspect-push';
import { GitMirror } from './mirror';
import { MirrorStore } from './mirror-store';
import { gitFetchOperation, gitPushOperations } from './operations';
import { encodePktLine, FLUSH_PKT } from './pkt-line';
import { peekPushFraming, ReceivePackDecoder, type ReceivePackRequest } from './receive-pack';
import { partialPush } from './partial-push';
import { ATOMIC_FAILURE, encodeReport, refusalReport, ReportMerger } from './report-status';
import { scanPushedSecrets, type SecretScanResult } from './secret-scan';
import { decodeUploadPack } from './upload-pack';

/**
 * The `git` connection kind's HTTP dialect (docs/git.md): smart HTTP decoded into the operations
 * policy judges, on the kit's spooled-body mode, so a push is judged after its whole pack is seen.
 *
 * - `GET info/refs?service=…` and `POST git-upload-pack` are `git:fetch` (with what a fetch asks
 *   for: wants, want-refs, ref prefixes), recorded as `git.fetch`.
 * - `POST git-receive-pack`: the command list is decoded, the upstream's bare mirror refreshed, the
 *   pack indexed into a quarantine beside it, each ref update proven (create, delete, fast-forward,
 *   force) and described (commits, people, paths, largest blob, signatures), the added lines
 *   scanned for secrets; one operation per ref (`git:push`, `git:push:force`, `git:delete`),
 *   recorded as `git.push` whatever the decision.
 * - The caller's OIDC token is the password of HTTP Basic (git's credential helper gives it); a
 *   401 carries a Basic challenge so git asks its helper. Refusals are answered the way git
 *   prints them: report-status `ng <ref> <reason>` for a push, an `ERR` packet otherwise.
 */
export interface GitDialectOptions {
  readonly secrets: SecretProvider;
}

const ADVERTISE_CAP_NOTE = 'upload-pack requests are judged whole';
/** Largest upload-pack request (wants and haves) decoded; clients send far less. */
const MAX_UPLOAD_PACK_BYTES = 64 * 1024 * 1024;
/** Longest push command list read before the pack (10000 commands of ~300 bytes). */
const MAX_PUSH_HEAD_BYTES = 4 * 1024 * 1024;

interface RequestState {
  readonly endpoint: GitEndpoint;
  push?: ReceivePackRequest;
  /** A push's command list as received and the whole body's size: what a partial forward rewrites. */
  pushHead?: Buffer;
  bodySize?: number;
}

export function gitDialect(connection: GitConnectionConfig, options: GitDialectOptions): HttpDialect {
  return new GitDialect(connection, options);
}

/** The directory a connection keeps its mirrors and spooled bodies in. */
export function gitDataDir(connection: GitConnectionConfig): string {
  return connection.dataDir ?? join(tmpdir(), 'gatehouse-git', connection.name);
}

class GitDialect implements HttpDialect {
  readonly name = 'git';
  /** Sessions are found and filtered as git (console, `gatehouse sessions --protocol git`), not as plain HTTP. */
  readonly sessionProtocol = 'git';
  readonly body = 'spool' as const;
  /** git sends every operation's first request without credentials, to be challenged. */
  readonly challengeFirst = true;
  readonly bodyCap: number;
  readonly spoolDir: string;
  /** Per request: what sendError needs to answer natively (the head is the exchange: collected with it). */
  private readonly states = new WeakMap<HttpRequestHead, RequestState>();
  private readonly mirrors: MirrorStore;
  private readonly dataDir: string;
  /** The upstream CA last written for the mirrors' fetches. */
  private caWritten: string | undefined;

  constructor(
    private readonly connection: GitConnectionConfig,
    private readonly options: GitDialectOptions,
  ) {
    this.bodyCap = connection.push.maxPackBytes;
    this.dataDir = gitDataDir(connection);
    this.mirrors = new MirrorStore({
      dataDir: this.dataDir,
      maxBytes: connection.mirrors.maxBytes,
      maxRepositories: connection.mirrors.maxRepositories,
      create: (repository, gitDir) => this.newMirror(repository, gitDir),
    });
    this.spoolDir = this.mirrors.runSpoolDir;
    this.sendError = this.sendError.bind(this);
  }

  decode(): HttpRefusal {
    // Never called: a spooling dialect is judged by inspect.
    return new HttpRefusal(DECISION_CODES.gitUnsupported, 'GH_ERR_INTERNAL', 'the git dialect judges requests whole');
  }

  /** The OIDC token is the HTTP Basic password (any user name), as git's credential helpers send it. */
  callerToken(headers: IncomingHttpHeaders): string | undefined {
    const auth = headers.authorization;
    if (auth === undefined || auth.length < 7 || auth.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const password = colon < 0 ? '' : decoded.slice(colon + 1);
    const user = colon < 0 ? decoded : decoded.slice(0, colon);
    // Some helpers put a token in the user name and leave the password empty.
    const token = password !== '' ? password : user;
    return token === '' ? undefined : token;
  }

  async inspect(head: HttpRequestHead, body: SpooledBody): Promise<Operation | readonly Operation[] | HttpRefusal> {
    const found = gitEndpoint(head.method, head.routedPath, head.params, head.headers, { caseInsensitive: this.connection.caseInsensitive });
    if (!found.ok) return new HttpRefusal(found.kind === 'ambiguous' ? DECISION_CODES.gitPathAmbiguous : DECISION_CODES.gitUnsupported, 'GH_ERR_REQUEST_INVALID', found.reason);
    const endpoint = found.endpoint;
    const state: RequestState = { endpoint };
    this.states.set(head, state);
    const name = this.connection.name;
    if (endpoint.phase === 'advertise') {
      head.record?.('git.fetch', { repository: endpoint.repository, service: endpoint.service, phase: 'advertise', protocolVersion: endpoint.protocolVersion, requestBytes: body.size });
      return gitFetchOperation(endpoint, name);
    }
    if (endpoint.service === 'git-upload-pack') return this.inspectFetch(head, endpoint, body);
    return this.inspectPush(head, state, endpoint, body);
  }

  private async inspectFetch(head: HttpRequestHead, endpoint: GitEndpoint, body: SpooledBody): Promise<Operation | HttpRefusal> {
    if (body.size > MAX_UPLOAD_PACK_BYTES) return new HttpRefusal(DECISION_CODES.httpBodyTooLarge, 'GH_ERR_MESSAGE_TOO_LARGE', `${ADVERTISE_CAP_NOTE}, up to ${MAX_UPLOAD_PACK_BYTES} bytes`);
    let bytes = body.file === undefined ? body.prefix : await readFile(body.file);
    const encoding = String(head.headers['content-encoding'] ?? '').trim().toLowerCase();
    if (encoding === 'gzip' || encoding === 'x-gzip') {
      try {
        bytes = gunzipSync(bytes, { maxOutputLength: MAX_UPLOAD_PACK_BYTES });
      } catch {
        return new HttpRefusal(DECISION_CODES.gitRequestInvalid, 'GH_ERR_REQUEST_INVALID', 'the gzip-encoded upload-pack request could not be decoded');
      }
    } else if (encoding !== '' && encoding !== 'identity') {
      return new HttpRefusal(DECISION_CODES.gitUnsupported, 'GH_ERR_REQUEST_INVALID', `an upload-pack request encoded as ${JSON.stringify(encoding.slice(0, 40))}`);
    }
    const decoded = decodeUploadPack(bytes, endpoint.protocolVersion);
    if (!decoded.ok) return new HttpRefusal(DECISION_CODES.gitRequestInvalid, 'GH_ERR_REQUEST_INVALID', `the upload-pack request cannot be decoded: ${decoded.reason}`);
    const r = decoded.request;
    head.record?.('git.fetch', {
      repository: endpoint.repository,
      service: endpoint.service,
      phase: 'rpc',
      protocolVersion: endpoint.protocolVersion,
      command: r.command,
      wants: r.wants,
      ...(r.wantRefs.length > 0 && { wantRefs: r.wantRefs }),
      haves: r.haves,
      ...(r.refPrefixes.length > 0 && { refPrefixes: r.refPrefixes }),
      ...(r.filter !== undefined && { filter: r.filter }),
      ...(r.deepen.length > 0 && { shallow: true }),
      requestBytes: body.size,
    });
    return gitFetchOperation(endpoint, this.connection.name, r);
  }

  private async inspectPush(head: HttpRequestHead, state: RequestState, endpoint: GitEndpoint, body: SpooledBody): Promise<readonly Operation[] | HttpRefusal> {
    const encoding = String(head.headers['content-encoding'] ?? '').trim().toLowerCase();
    if (encoding !== '' && encoding !== 'identity') return new HttpRefusal(DECISION_CODES.gitUnsupported, 'GH_ERR_REQUEST_INVALID', `a receive-pack request encoded as ${JSON.stringify(encoding.slice(0, 40))}`);
    const decoded = await readPushHead(body);
    if (decoded.status !== 'complete') return new HttpRefusal(DECISION_CODES.gitRequestInvalid, 'GH_ERR_REQUEST_INVALID', decoded.status === 'invalid' ? `the push cannot be decoded: ${decoded.reason}` : 'the push ends inside its command list');
    const request = decoded.request;
    state.push = request;
    state.bodySize = body.size;
    if (!request.atomic && request.commands.length > 1) state.pushHead = await readHeadBytes(body, request.headLength);
    if (request.deleteOnly && body.size > request.headLength) return new HttpRefusal(DECISION_CODES.gitRequestInvalid, 'GH_ERR_REQUEST_INVALID', 'bytes after a delete-only command list');
    const timeoutMs = this.connection.push.timeoutMs;
    let scan: SecretScanResult | undefined;
    const pack = request.deleteOnly ? undefined : body.file === undefined ? body.prefix.subarray(request.headLength) : createReadStream(body.file, { start: request.headLength });
    // The mirror is leased for the whole judgment: the quarantine borrows its objects.
    const lease = await this.mirrors.lease(endpoint.repository);
    let inspection: PushInspection;
    try {
      const mirror = lease.mirror;
      await mirror.refresh();
      await this.mirrors.refreshed(mirror);
      inspection = await inspectPush({
        mirrorDir: mirror.gitDir,
        scratchDir: this.mirrors.quarantineDir,
        request,
        pack,
        limits: { maxPackBytes: this.connection.push.maxPackBytes, timeoutMs, maxPaths: this.connection.push.maxPaths },
        whileQuarantined: this.connection.push.secretScan
          ? async (objectDir, refs) => {
              scan = await scanPushedSecrets({ mirrorDir: mirror.gitDir, quarantineObjectDir: objectDir, updates: refs.map((r) => ({ ref: r.ref, oldId: r.oldId, newId: r.newId })), limits: { timeoutMs } });
            }
          : undefined,
      });
    } finally {
      await lease.release();
    }
    const payload: GitPushPayload = {
      repository: endpoint.repository,
      refs: inspection.refs.map((r) => ({ ref: r.ref, oldId: r.oldId, newId: r.newId, update: r.kind, commits: r.commits, authors: r.authors, committers: r.committers, signed: r.signed, changedPaths: r.changedPaths, pathsTruncated: r.pathsTruncated, largestBlob: r.largestBlob })),
      atomic: request.atomic,
      pushOptions: request.pushOptions,
      packBytes: inspection.packBytes,
      ...(inspection.packSha256 !== undefined && { packSha256: inspection.packSha256 }),
      requestBytes: body.size,
      requestSha256: body.sha256,
      ...(scan !== undefined && {
        secretScan: {
          complete: scan.complete,
          findingsTotal: scan.findingsTotal,
          findings: scan.findings.map((f) => ({ commit: f.commit, path: f.path, line: f.line, detector: f.detector })),
          incomplete: scan.incomplete.map((i) => ({ bound: i.bound, ...(i.path !== undefined && { path: i.path }) })),
          addedBytes: scan.addedBytes,
        },
      }),
    };
    head.record?.('git.push', payload);
    const approvals = this.connection.approvals;
    const retry = approvals.mode === 'refuse-and-retry' ? { withinSeconds: approvals.retrySeconds, caseInsensitive: this.connection.caseInsensitive } : undefined;
    const operations = gitPushOperations(endpoint, this.connection.name, request, inspection, retry);
    if (scan !== undefined && scan.findingsTotal > 0) {
      const shown = scan.findings.slice(0, 3).map((f) => `${f.path}:${f.line} (${f.detector})`).join(', ');
      const more = scan.findingsTotal > 3 ? ` and ${scan.findingsTotal - 3} more` : '';
      return new HttpRefusal(DECISION_CODES.gitSecretFound, 'GH_ERR_POLICY_DENIED', `secret found: ${shown}${more}`, operations[0]);
    }
    if (scan !== undefined && !scan.complete) {
      const bound = scan.incomplete[0]!;
      return new HttpRefusal(DECISION_CODES.gitScanIncomplete, 'GH_ERR_POLICY_DENIED', `the pushed content could not all be scanned for secrets (${bound.bound}${bound.path === undefined ? '' : ` at ${bound.path}`})`, operations[0]);
    }
    return operations;
  }

  /** A non-atomic push is applied ref by ref upstream, so it may go through in part (partial-push.ts). */
  partial(head: HttpRequestHead): boolean {
    const push = this.states.get(head)?.push;
    return push !== undefined && !push.atomic;
  }

  /**
   * A push forwarded in part: the command list upstream holds exactly the allowed commands, and
   * the answer merges the refused refs' `ng` lines into the upstream's report. Recorded as
   * `git.push.partial` before anything is sent.
   */
  upstreamRequest(request: HttpUpstreamRequest): HttpUpstreamRewrite {
    if (request.refused.length === 0) return {};
    const state = this.states.get(request.head);
    const push = state?.push;
    if (push === undefined || push.atomic || state?.bodySize === undefined || state.pushHead === undefined) throw new GatehouseError('GH_ERR_INTERNAL', 'only a decoded non-atomic push can be forwarded in part');
    const refused = new Map<string, string>();
    for (const r of request.refused) {
      const ref = r.operation.attributes.ref;
      if (typeof ref !== 'string') throw new GatehouseError('GH_ERR_INTERNAL', 'a refused push operation names no ref');
      refused.set(ref, `${r.message} [${r.decision}]`);
    }
    const forward = partialPush(push, state.pushHead, refused.keys(), state.bodySize);
    request.headers['content-length'] = String(forward.size);
    delete request.headers['transfer-encoding'];
    request.head.record?.('git.push.partial', {
      repository: state.endpoint.repository,
      forwarded: forward.commands.map((c) => c.ref),
      refused: [...refused].map(([ref, reason]) => ({ ref, reason })),
      requestBytes: forward.size,
    });
    return {
      body: forward.body,
      response: (status, headers) =>
        status === 200 && String(headers['content-type'] ?? '') === 'application/x-git-receive-pack-result' && push.report !== 'none'
          ? new ReportMerger(push.sideBand, [...refused].map(([ref, reason]) => ({ ref, reason })))
          : undefined,
    };
  }

  private newMirror(repository: string, gitDir: string): GitMirror {
    const base = this.connection.upstream.endsWith('/') ? this.connection.upstream : `${this.connection.upstream}/`;
    const ca = this.connection.upstreamCa;
    return new GitMirror({
      gitDir,
      upstreamUrl: new URL(`${repository}.git`, base).toString(),
      headers: () => upstreamHeaders(this.connection.credential, this.options.secrets),
      timeoutMs: this.connection.push.timeoutMs,
      caFile: ca === undefined ? undefined : () => this.upstreamCaFile(ca),
    });
  }

  /**
   * The connection's `upstreamCa` as a file git can read (`http.sslCAInfo`): the same reference the
   * proxied requests trust (a file or a secret), read at each refresh and written, private, into
   * the data directory when it changed (atomically: refreshes of several mirrors may race).
   */
  private async upstreamCaFile(ref: string): Promise<string> {
    const pem = await readPemReference(ref, this.options.secrets);
    const file = join(this.dataDir, 'upstream-ca.pem');
    if (this.caWritten !== pem) {
      await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(tmp, pem, { mode: 0o600 });
      await rename(tmp, file);
      this.caWritten = pem;
    }
    return file;
  }

  /**
   * Refusals as git prints them: a push gets report-status (`! [remote rejected] main -> main
   * (reason)`), a fetch an `ERR` packet (`fatal: remote error: reason`), an authentication failure
   * a 401 with a Basic challenge (git asks its credential helper, then says the authentication failed).
   */
  sendError(res: ServerResponse, err: GatehouseError, extras: { readonly requestId?: string; readonly decision?: string } & HttpRefusedAbout): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (res.destroyed) return;
    const reason = `${err.message} [${extras.decision ?? err.code}]`;
    const headers: Record<string, string | number> = { 'x-gatehouse-error': err.code, 'cache-control': 'no-cache' };
    if (extras.requestId !== undefined) headers['x-gatehouse-request-id'] = extras.requestId;
    if (err.status === 401) {
      const text = Buffer.from(`${reason}\n`);
      res.writeHead(401, { ...headers, 'www-authenticate': 'Basic realm="Gatehouse", charset="UTF-8"', 'content-type': 'text/plain; charset=utf-8', 'content-length': text.length });
      res.end(text);
      return;
    }
    const head = extras.head;
    let state = head === undefined ? undefined : this.states.get(head);
    if (state === undefined && head !== undefined) {
      const found = gitEndpoint(head.method, head.routedPath, head.params, head.headers, { caseInsensitive: this.connection.caseInsensitive });
      if (found.ok) state = { endpoint: found.endpoint };
    }
    if (state === undefined) {
      // Not a Git endpoint: git shows the status line.
      const text = Buffer.from(`${reason}\n`);
      res.writeHead(err.status, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': text.length });
      res.end(text);
      return;
    }
    const { endpoint } = state;
    // A push refused before the dialect decoded it (too large, unreadable, a failure before
    // inspect) is answered in the framing its first bytes negotiated: an ERR packet where the
    // client expects side-band is printed as "bad band #69", not as the reason.
    const pushBytes = endpoint.service === 'git-receive-pack' && endpoint.phase === 'rpc' && state.push === undefined ? head?.bodyPrefix?.() : undefined;
    const push = state.push ?? (pushBytes === undefined ? undefined : decodedPush(pushBytes));
    const framing = push ?? (pushBytes === undefined ? undefined : peekPushFraming(pushBytes));
    let bytes: Buffer;
    if (endpoint.phase === 'advertise') {
      bytes = Buffer.concat([encodePktLine(`# service=${endpoint.service}\n`), FLUSH_PKT, encodePktLine(`ERR ${oneLine(reason)}\n`)]);
      headers['content-type'] = `application/x-${endpoint.service}-advertisement`;
    } else if (push !== undefined && push.report !== 'none') {
      bytes = encodeReport(pushRefusal(push, extras.operation, reason, extras.refused), push.sideBand);
      headers['content-type'] = 'application/x-git-receive-pack-result';
    } else if (framing !== undefined && framing.sideBand !== 'none') {
      // Band 3 is side-band's error channel: git prints "remote error: <reason>" and stops.
      bytes = Buffer.concat([encodePktLine(Buffer.concat([Buffer.from([3]), Buffer.from(`${oneLine(reason)}\n`)])), FLUSH_PKT]);
      headers['content-type'] = 'application/x-git-receive-pack-result';
    } else {
      bytes = encodePktLine(`ERR ${oneLine(reason)}\n`);
      headers['content-type'] = `application/x-${endpoint.service}-result`;
    }
    headers['content-length'] = bytes.length;
    res.writeHead(200, headers);
    res.end(bytes);
  }
}

/**
 * The report for a refused push: each ref refused with its own reason when every one was judged
 * and refused (a non-atomic push); else the refused ref with the reason and the others not pushed
 * (all refs when no single one was refused).
 */
function pushRefusal(push: ReceivePackRequest, operation: Operation | undefined, reason: string, refused: HttpRefusedAbout['refused']): ReturnType<typeof refusalReport> {
  const ref = operation?.attributes.ref;
  const denied = new Map<string, string>();
  for (const r of refused ?? []) if (typeof r.operation.attributes.ref === 'string') denied.set(r.operation.attributes.ref, `${r.message} [${r.decision}]`);
  if (denied.size > 0 && push.commands.every((c) => denied.has(c.ref))) {
    // every ref has its own reason
  } else if (typeof ref === 'string' && push.commands.some((c) => c.ref === ref)) {
    denied.clear();
    denied.set(ref, reason);
    // The gateway forwards a push whole or not at all: the other refs were not pushed either.
    for (const c of push.commands) if (c.ref !== ref) denied.set(c.ref, push.atomic ? ATOMIC_FAILURE : `not pushed: ${ref} was refused`);
  } else {
    denied.clear();
    for (const c of push.commands) denied.set(c.ref, reason);
  }
  return refusalReport(push, denied);
}

/** The first `length` bytes of a spooled body (a push's command list, at most MAX_PUSH_HEAD_BYTES). */
async function readHeadBytes(body: SpooledBody, length: number): Promise<Buffer> {
  if (length <= body.prefix.length || body.file === undefined) return body.prefix.subarray(0, length);
  const handle = await open(body.file, 'r');
  try {
    const out = Buffer.alloc(length);
    const { bytesRead } = await handle.read(out, 0, length, 0);
    if (bytesRead !== length) throw new GatehouseError('GH_ERR_INTERNAL', 'the spooled push is shorter than its command list');
    return out;
  } finally {
    await handle.close();
  }
}

/** The push whose whole command list is in `bytes`, or undefined. */
function decodedPush(bytes: Buffer): ReceivePackRequest | undefined {
  const state = new ReceivePackDecoder().feed(bytes);
  return state.status === 'complete' ? state.request : undefined;
}

/** The push's command list, from the prefix and, past it, the spooled file. */
export async function readPushHead(body: SpooledBody): Promise<ReturnType<ReceivePackDecoder['feed']>> {
  const decoder = new ReceivePackDecoder();
  let state = decoder.feed(body.prefix);
  if (state.status !== 'incomplete' || body.file === undefined) return state;
  // A command list longer than the bound is refused (also when the prefix held in memory is longer).
  if (body.prefix.length >= MAX_PUSH_HEAD_BYTES) return { status: 'invalid', reason: `a command list longer than ${MAX_PUSH_HEAD_BYTES} bytes` };
  const stream = createReadStream(body.file, { start: body.prefix.length, end: Math.min(body.size, MAX_PUSH_HEAD_BYTES) - 1, highWaterMark: 64 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      state = decoder.feed(chunk);
      if (state.status !== 'incomplete') break;
    }
  } finally {
    stream.destroy();
  }
  return state;
}

/** The upstream credential as HTTP headers, for the mirror's fetches (never in argv or logs). */
async function upstreamHeaders(credential: CredentialConfig, secrets: SecretProvider): Promise<Record<string, string>> {
  switch (credential.type) {
    case 'none':
      return {};
    case 'bearer':
      return { Authorization: `Bearer ${await secrets.get(credential.secret)}` };
    case 'basic':
      return { Authorization: `Basic ${Buffer.from(`${credential.username}:${await secrets.get(credential.secret)}`, 'utf8').toString('base64')}` };
    case 'header':
      return { [credential.header]: `${credential.prefix}${await secrets.get(credential.secret)}` };
    case 'query':
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'a git connection cannot broker a credential in the query');
  }
}

function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f]+/g, ' ').trim().slice(0, 900);
}
