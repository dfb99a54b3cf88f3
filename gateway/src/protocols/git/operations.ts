import { createHash } from 'node:crypto';
import type { Operation } from '../../policy/decision';
import type { GitEndpoint } from './endpoint';
import type { PushInspection, RefUpdateKind } from './inspect-push';
import type { ReceivePackRequest } from './receive-pack';
import type { UploadPackRequest } from './upload-pack';

/**
 * `git:fetch` on a repository: the ref advertisement of upload-pack and each upload-pack call.
 * Policy reads the repository and the connection; the record keeps what was asked for (wants,
 * want-refs, ref prefixes: ids and names, never contents).
 */
export function gitFetchOperation(endpoint: GitEndpoint, connection: string, request?: UploadPackRequest): Operation {
  const attributes: Record<string, string | number | boolean | readonly string[]> = {
    repository: endpoint.repository,
    connection,
    service: endpoint.service,
    phase: endpoint.phase,
    protocolVersion: endpoint.protocolVersion,
  };
  if (request !== undefined) {
    attributes.command = request.command;
    attributes.wants = request.wants.length;
    attributes.haves = request.haves;
    if (request.wantRefs.length > 0) attributes.wantRefs = request.wantRefs;
    if (request.refPrefixes.length > 0) attributes.refPrefixes = request.refPrefixes;
    if (request.filter !== undefined) attributes.filter = request.filter;
    if (request.deepen.length > 0) attributes.shallow = true;
  }
  const what = request === undefined ? 'ref advertisement' : request.command === 'fetch' ? `fetch of ${request.wants.length + request.wantRefs.length} wants` : request.command;
  return { protocol: 'git', action: 'git:fetch', attributes, summary: `git ${what} from ${endpoint.repository}` };
}

/** The Cedar action of one ref update: deletions and history rewrites are actions of their own. */
export function pushActionOf(update: RefUpdateKind): 'git:push' | 'git:push:force' | 'git:delete' {
  return update === 'force' ? 'git:push:force' : update === 'delete' ? 'git:delete' : 'git:push';
}

/**
 * One operation per ref a push updates, each judged on its own (`ng` for those refused; all of
 * them under `atomic`). Policy reads the repository, the ref, the update (`create`, `delete`,
 * `fast-forward`, `force`: named `update`, not `kind`, which would make kind groups), the commits'
 * count, people, signatures, paths and largest blob, and the push's options.
 */
export interface PushRetry {
  /** How long a grant lets the identical push through (once). */
  readonly withinSeconds: number;
  /** Repository names compare without letter case. */
  readonly caseInsensitive: boolean;
}

/**
 * The key a refuse-and-retry approval of one ref update is found by on any replica: a hash of
 * the connection, repository, ref, old and new id (the principal is matched beside it). A push
 * moving the ref anywhere else, or from elsewhere, has another key and needs its own approval.
 */
export function pushRetryKey(connection: string, repository: string, ref: string, oldId: string, newId: string, caseInsensitive: boolean): string {
  const repo = caseInsensitive ? repository.toLowerCase() : repository;
  return `git:${createHash('sha256').update(JSON.stringify([connection, repo, ref, oldId, newId])).digest('hex')}`;
}

export function gitPushOperations(endpoint: GitEndpoint, connection: string, request: ReceivePackRequest, inspection: PushInspection, retry?: PushRetry): Operation[] {
  return inspection.refs.map((r) => {
    const attributes: Record<string, string | number | boolean | readonly string[]> = {
      repository: endpoint.repository,
      connection,
      ref: r.ref,
      update: r.kind,
      oldId: r.oldId,
      newId: r.newId,
      commits: r.commits,
      authors: r.authors,
      committers: r.committers,
      signed: r.signed,
      changedPaths: r.changedPaths,
      pathsTruncated: r.pathsTruncated,
      largestBlob: r.largestBlob,
      atomic: request.atomic,
      pushOptions: request.pushOptions,
    };
    // The approver sees where the ref moves (abbreviated ids, as git prints them) and how far.
    const move = `${r.oldId.slice(0, 12)}..${r.newId.slice(0, 12)}`;
    const what = r.kind === 'delete' ? `delete ${r.ref} (${r.oldId.slice(0, 12)})` : `${r.kind} ${r.ref} ${move} (${r.commits} commit${r.commits === 1 ? '' : 's'})`;
    const operation: Operation = { protocol: 'git', action: pushActionOf(r.kind), attributes, summary: `git push to ${endpoint.repository}: ${what}` };
    if (retry === undefined) return operation;
    return { ...operation, retryApproval: { key: pushRetryKey(connection, endpoint.repository, r.ref, r.oldId, r.newId, retry.caseInsensitive), withinSeconds: retry.withinSeconds } };
  });
}
