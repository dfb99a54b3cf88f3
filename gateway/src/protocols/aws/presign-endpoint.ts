import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { GatehouseError } from '../../errors';
import type { Pipeline } from '../../pipeline/types';
import { refusalErrorCode, type Operation } from '../../policy/decision';
import { bearerToken, clientInfo } from '../http/request';
import type { AwsConnections } from './connections';
import { deriveOperation } from './operations';
import { mintPresignTicket, PRESIGN_OPERATIONS, PRESIGN_PARAM } from './presign';

/**
 * `POST /.well-known/gatehouse/aws-presign?connection=<name>` with the caller's OIDC token (Bearer)
 * and `{"method": "GET"|"PUT", "bucket": "...", "key": "...", "expiresSeconds": 300}`: a gateway
 * presigned URL (presign.ts) for one S3 object, when policy allows the caller that operation
 * (`aws:s3:GetObject` / `aws:s3:PutObject`, judged here and again on each use; a `review` waits
 * for an approver). Answers `{url, path, method, expiration, id}`; the issuance is recorded
 * (`aws.presign.issued`, with the ticket's id, never the ticket). `gatehouse aws presign` calls it.
 */
export const AWS_PRESIGN_PATH = '/.well-known/gatehouse/aws-presign';
const MAX_REQUEST_BYTES = 8 * 1024;

export async function issuePresign(pipeline: Pipeline, aws: AwsConnections, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') {
    req.resume();
    res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' }).end('{"error":"method not allowed"}');
    return;
  }
  const text = await readSmallBody(req);
  const params = new URL(req.url ?? '', 'http://gateway').searchParams;
  let name = params.get('connection') ?? undefined;
  const s3 = [...aws.configs.values()].filter((c) => c.service === 's3');
  if (name === undefined && s3.length === 1) name = s3[0]!.name;
  const connection = name === undefined ? undefined : aws.configs.get(name);
  if (connection === undefined || connection.service !== 's3') {
    throw new GatehouseError('GH_ERR_NO_ROUTE', name === undefined ? `name the S3 connection (?connection=): this gateway has ${s3.map((c) => c.name).join(', ') || 'none'}` : `this gateway has no S3 connection "${name}"`);
  }
  const prefix = connection.route.pathPrefix;
  if (prefix === undefined) throw new GatehouseError('GH_ERR_REQUEST_INVALID', `connection "${connection.name}" is routed by host only: presigned URLs need its pathPrefix`);
  const client = clientInfo(req);
  // Authentication first: nothing about the request is judged for an unknown caller.
  const principal = await pipeline.authenticate(bearerToken(req), client, 'aws', connection.name);
  const asked = parseAsk(text);
  const path = `/${encodeURIComponent(asked.bucket)}/${asked.key.split('/').map(encodeURIComponent).join('/')}`;
  // The operation the URL will perform, derived from the model as every call's is.
  const derived = deriveOperation({ method: asked.method, path, query: '', host: '', headers: {} }, { service: 's3', region: connection.region });
  if ('refusal' in derived || derived.operation !== PRESIGN_OPERATIONS[asked.method] || derived.resources.Bucket !== asked.bucket || derived.resources.Key !== asked.key) {
    throw new GatehouseError('GH_ERR_REQUEST_INVALID', `${asked.method} ${asked.bucket}/${asked.key} is not one S3 object's ${PRESIGN_OPERATIONS[asked.method]}`);
  }
  const k = aws.keyrings.get(connection.name)!.get();
  const keyring = k instanceof Promise ? await k : k;
  const { ticket, claims } = mintPresignTicket(keyring, principal, { connection: connection.name, method: asked.method, operation: derived.operation, bucket: asked.bucket, key: asked.key }, asked.expiresSeconds === undefined ? {} : { ttlSeconds: asked.expiresSeconds });
  const attributes = {
    service: 's3',
    region: connection.region,
    operation: derived.operation,
    kind: derived.group,
    mintsCredentials: false,
    resources: derived.resources,
    connection: connection.name,
    method: asked.method,
    path,
    presignIssue: true,
  };
  const operation: Operation = { protocol: 'aws', action: derived.action, attributes, summary: `presign ${derived.action} ${asked.bucket}/${asked.key}`, details: () => ({ ...attributes, expiresSeconds: claims.expiresAt - claims.issuedAt }) };
  const session = await pipeline.openSession(principal, connection, 'aws', client);
  try {
    const requestId = session.newRequestId();
    const expiration = new Date(claims.expiresAt * 1000).toISOString();
    // Judged for the caller (a review waits for an approver); the issuance recorded only when allowed.
    const d = session.admit(operation, requestId, { type: 'aws.presign.issued', payload: { connection: connection.name, id: claims.id, action: derived.action, method: asked.method, bucket: asked.bucket, key: asked.key, expiration } });
    const decision = d instanceof Promise ? await d : d;
    if (decision.effect !== 'allow') {
      throw new GatehouseError(refusalErrorCode(decision.code), `${derived.action} on ${asked.bucket}/${asked.key}: ${decision.message} (decision ${decision.code})`);
    }
  } finally {
    await session.close('presign_issued');
  }
  const urlPath = `${prefix.replace(/\/$/, '')}${path}?${PRESIGN_PARAM}=${encodeURIComponent(ticket)}`;
  const origin = `${(req.socket as TLSSocket).encrypted === true ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`;
  const body = JSON.stringify({ url: `${origin}${urlPath}`, path: urlPath, method: asked.method, expiration: new Date(claims.expiresAt * 1000).toISOString(), id: claims.id });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

interface Ask {
  readonly method: 'GET' | 'PUT';
  readonly bucket: string;
  readonly key: string;
  readonly expiresSeconds?: number;
}

function parseAsk(text: string): Ask {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'the presign request is not JSON');
  }
  const method = typeof v?.method === 'string' ? v.method.toUpperCase() : 'GET';
  if (method !== 'GET' && method !== 'PUT') throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'presigned URLs are for GET (GetObject) or PUT (PutObject)');
  if (typeof v.bucket !== 'string' || v.bucket === '' || typeof v.key !== 'string' || v.key === '') throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'the presign request names a bucket and a key');
  if (v.expiresSeconds !== undefined && !Number.isInteger(v.expiresSeconds)) throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'expiresSeconds is a whole number of seconds');
  return { method, bucket: v.bucket, key: v.key, ...(v.expiresSeconds === undefined ? {} : { expiresSeconds: v.expiresSeconds as number }) };
}

function readSmallBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REQUEST_BYTES) {
        req.destroy();
        reject(new GatehouseError('GH_ERR_MESSAGE_TOO_LARGE', 'the presign request is too large'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
