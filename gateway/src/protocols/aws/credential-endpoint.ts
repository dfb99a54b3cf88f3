import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatehouseError, toGatehouseError } from '../../errors';
import type { Pipeline } from '../../pipeline/types';
import { sendError } from '../http/errors';
import { bearerToken, clientInfo } from '../http/request';
import type { AwsConnections } from './connections';
import { credentialProcessOutput, mintCallerCredential } from './credentials';
import { credentialScopeOf } from './dialect';
import { AWS_PRESIGN_PATH, issuePresign } from './presign-endpoint';

/**
 * `POST /.well-known/gatehouse/aws-credentials?connection=<name>`: exchanges the caller's OIDC
 * token (Bearer) for gateway-issued AWS caller credentials, answered in the `credential_process`
 * shape (`gatehouse aws-credentials` prints it). The credential is good for the connection's
 * credential scope, at most `callerCredentials.ttlSeconds` and never beyond the token. Each
 * issuance is recorded (`aws.credentials.issued`, in a short session of its own); a credential
 * that could not be recorded is not handed out.
 */
export const AWS_CREDENTIALS_PATH = '/.well-known/gatehouse/aws-credentials';

export function withAwsCredentials(
  pipeline: Pipeline,
  aws: AwsConnections,
  next: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  if (aws.configs.size === 0) return next;
  return (req, res) => {
    const url = req.url ?? '';
    if (url === AWS_PRESIGN_PATH || url.startsWith(`${AWS_PRESIGN_PATH}?`)) {
      // Gateway presigned URLs for S3 objects (presign-endpoint.ts).
      issuePresign(pipeline, aws, req, res).catch((e: unknown) => {
        if (!res.headersSent) sendError(res, toGatehouseError(e, 'GH_ERR_INTERNAL'));
        else res.destroy();
      });
      return;
    }
    if (url !== AWS_CREDENTIALS_PATH && !url.startsWith(`${AWS_CREDENTIALS_PATH}?`)) return next(req, res);
    issue(pipeline, aws, req, res).catch((e: unknown) => sendError(res, toGatehouseError(e, 'GH_ERR_INTERNAL')));
  };
}

async function issue(pipeline: Pipeline, aws: AwsConnections, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // Nothing in the body is read: the request is the token and the connection's name.
  req.resume();
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' }).end('{"error":"method not allowed"}');
    return;
  }
  const params = new URL(req.url ?? '', 'http://gateway').searchParams;
  let name = params.get('connection') ?? undefined;
  if (name === undefined && aws.configs.size === 1) name = [...aws.configs.keys()][0];
  const connection = name === undefined ? undefined : aws.configs.get(name);
  if (connection === undefined) {
    sendError(res, new GatehouseError('GH_ERR_NO_ROUTE', name === undefined ? `name the AWS connection (?connection=): this gateway has ${[...aws.configs.keys()].join(', ')}` : `this gateway has no AWS connection "${name}"`));
    return;
  }
  const client = clientInfo(req);
  let principal;
  try {
    principal = await pipeline.authenticate(bearerToken(req), client, 'aws', connection.name);
  } catch (e) {
    sendError(res, toGatehouseError(e, 'GH_ERR_TOKEN_MALFORMED'));
    return;
  }
  const k = aws.keyrings.get(connection.name)!.get();
  const keyring = k instanceof Promise ? await k : k;
  const scope = credentialScopeOf(connection);
  const credential = mintCallerCredential(keyring, principal, scope, { ttlSeconds: connection.callerCredentials.ttlSeconds });
  const session = await pipeline.openSession(principal, connection, 'aws', client);
  try {
    const recorded = session.recordRequest('aws.credentials.issued', { connection: connection.name, scope, accessKeyId: credential.accessKeyId, expiration: credential.expiration }, session.newRequestId());
    if (recorded !== undefined) await recorded;
  } finally {
    await session.close('credentials_issued');
  }
  const body = JSON.stringify(credentialProcessOutput(credential));
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}
