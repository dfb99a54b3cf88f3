import { parseArgs } from 'node:util';
import { GatehouseError } from '../../errors';
import type { CommandIO } from '../io';
import { normalizeGateway, readDefaultGateway } from '../login/token-cache';
import { callerToken, type AwsCredentialsDeps } from './aws-credentials';

/** Where the gateway issues presigned URLs (protocols/aws/presign-endpoint.ts). */
const PRESIGN_PATH = '/.well-known/gatehouse/aws-presign';

/**
 * `gatehouse aws presign s3://BUCKET/KEY [--method GET|PUT] [--expires SECONDS] [--gateway URL]
 * [--connection NAME] [token options]`: asks the gateway for a presigned URL of one S3 object. The
 * gateway judges `aws:s3:GetObject` (or `PutObject`) for the caller, and the URL it answers points
 * at the gateway, which judges, re-signs and records each use until it expires. Prints the URL.
 */
export async function awsCommand(argv: string[], io: CommandIO, deps: AwsCredentialsDeps = {}): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'presign') {
    io.err('Usage: gatehouse aws presign s3://BUCKET/KEY [--method GET|PUT] [--expires SECONDS] [--gateway URL] [--connection NAME]');
    return 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      method: { type: 'string', default: 'GET' },
      expires: { type: 'string' },
      gateway: { type: 'string' },
      connection: { type: 'string' },
      token: { type: 'string' },
      'min-valid': { type: 'string' },
      ambient: { type: 'boolean', default: false },
      'token-file': { type: 'string' },
      'token-env': { type: 'string' },
      audience: { type: 'string' },
    },
    allowPositionals: true,
  });
  const m = positionals.length === 1 ? /^s3:\/\/([^/]+)\/(.+)$/.exec(positionals[0]!) : null;
  if (!m) throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'name one object: gatehouse aws presign s3://BUCKET/KEY');
  const method = values.method.toUpperCase();
  if (method !== 'GET' && method !== 'PUT') throw new GatehouseError('GH_ERR_REQUEST_INVALID', '--method is GET (download) or PUT (upload)');
  const expires = values.expires === undefined ? undefined : Number(values.expires);
  if (expires !== undefined && (!Number.isInteger(expires) || expires <= 0)) throw new GatehouseError('GH_ERR_REQUEST_INVALID', '--expires is a whole number of seconds');
  const env = deps.env ?? process.env;
  const gateway = values.gateway !== undefined ? normalizeGateway(values.gateway) : readDefaultGateway(env);
  if (!gateway) throw new GatehouseError('GH_ERR_NOT_LOGGED_IN', 'not logged in: run gatehouse login <gateway-url>, or give --gateway');
  const token = await callerToken(values, gateway, env, io, deps);
  if (token === undefined) return 1;
  const url = new URL(PRESIGN_PATH, gateway);
  if (values.connection !== undefined) url.searchParams.set('connection', values.connection);
  let res: Response;
  try {
    res = await (deps.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ method, bucket: m[1], key: m[2], ...(expires === undefined ? {} : { expiresSeconds: expires }) }),
    });
  } catch (e) {
    throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', `the gateway ${gateway} could not be reached: ${e instanceof Error ? e.message : String(e)}`);
  }
  const text = await res.text();
  if (res.status !== 200) {
    let why = `HTTP ${res.status}`;
    try {
      const err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      if (err?.code !== undefined) why = `${err.code}: ${err.message ?? ''}`;
    } catch {
      // not JSON: the status says enough
    }
    io.err(`gatehouse aws presign: the gateway refused: ${why}`);
    return 1;
  }
  const body = JSON.parse(text) as { path?: unknown; expiration?: unknown };
  if (typeof body.path !== 'string' || typeof body.expiration !== 'string') throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', 'the gateway answered without a URL');
  // The gateway's URL as this command reached it (the gateway's view of its own host may differ behind a load balancer).
  io.out(new URL(body.path, gateway).toString());
  io.err(`expires ${body.expiration}`);
  return 0;
}
