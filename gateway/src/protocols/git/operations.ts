import type { Operation } from '../../policy/decision';
import type { GitEndpoint } from './endpoint';
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
