import { parseArgs } from 'node:util';
import { GatehouseError } from '../../errors';
import type { CommandIO } from '../io';
import { normalizeGateway, readDefaultGateway } from '../login/token-cache';
import { tokenCommand } from './token';

/** Where the gateway exchanges an OIDC token for AWS caller credentials (protocols/aws/credential-endpoint.ts). */
const CREDENTIALS_PATH = '/.well-known/gatehouse/aws-credentials';

export interface AwsCredentialsDeps {
  readonly env?: NodeJS.ProcessEnv;
  /** Seconds since the epoch. */
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
}

/**
 * `gatehouse aws-credentials [GATEWAY] [--connection NAME] [token options]`: the AWS CLI's and
 * SDKs' `credential_process` (`~/.aws/config`). Takes a current token where `gatehouse token`
 * takes it (the login cache, or a workload's token with --ambient / --token-file / --token-env,
 * or --token / GATEHOUSE_TOKEN), exchanges it at the gateway for short-lived caller credentials
 * that only the gateway accepts, and prints them as `credential_process` JSON (Version 1,
 * AccessKeyId, SecretAccessKey, SessionToken, Expiration). The SDK caches them until Expiration.
 * Failures exit 1 with a message on stderr, nothing on stdout, never the token.
 */
export async function awsCredentialsCommand(argv: string[], io: CommandIO, deps: AwsCredentialsDeps = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
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
  if (positionals.length > 1) throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', 'give at most one gateway');
  const env = deps.env ?? process.env;
  const gateway = positionals[0] !== undefined ? normalizeGateway(positionals[0]) : readDefaultGateway(env);
  if (!gateway) throw new GatehouseError('GH_ERR_NOT_LOGGED_IN', 'not logged in: run gatehouse login <gateway-url>, or name the gateway');

  const token = await callerToken(values, gateway, env, io, deps);
  if (token === undefined) return 1;

  const url = new URL(CREDENTIALS_PATH, gateway);
  if (values.connection !== undefined) url.searchParams.set('connection', values.connection);
  let res: Response;
  try {
    res = await (deps.fetch ?? fetch)(url, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
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
    io.err(`gatehouse aws-credentials: the gateway refused: ${why}`);
    return 1;
  }
  const body = JSON.parse(text) as Record<string, unknown>;
  if (body.Version !== 1 || typeof body.AccessKeyId !== 'string' || typeof body.SecretAccessKey !== 'string' || typeof body.SessionToken !== 'string' || typeof body.Expiration !== 'string') {
    throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', 'the gateway answered without credentials');
  }
  io.out(JSON.stringify({ Version: 1, AccessKeyId: body.AccessKeyId, SecretAccessKey: body.SecretAccessKey, SessionToken: body.SessionToken, Expiration: body.Expiration }));
  return 0;
}

/** Token options shared by the AWS commands (`aws-credentials`, `aws presign`). */
export interface CallerTokenOptions {
  readonly token?: string;
  readonly 'min-valid'?: string;
  readonly ambient?: boolean;
  readonly 'token-file'?: string;
  readonly 'token-env'?: string;
  readonly audience?: string;
}

/**
 * The caller's current token, where `gatehouse token` takes it (--token / GATEHOUSE_TOKEN, the
 * login cache, or a workload's with --ambient / --token-file / --token-env). Undefined when the
 * token command failed (it said why on stderr).
 */
export async function callerToken(values: CallerTokenOptions, gateway: string, env: NodeJS.ProcessEnv, io: CommandIO, deps: AwsCredentialsDeps): Promise<string | undefined> {
  let token = values.token ?? env.GATEHOUSE_TOKEN;
  if (token === undefined || token === '') {
    const tokenArgs: string[] = [];
    const workload = values.ambient || values['token-file'] !== undefined || values['token-env'] !== undefined;
    if (values.ambient) tokenArgs.push('--ambient');
    if (values.audience !== undefined) tokenArgs.push('--audience', values.audience);
    if (values['token-file'] !== undefined) tokenArgs.push('--token-file', values['token-file']);
    if (values['token-env'] !== undefined) tokenArgs.push('--token-env', values['token-env']);
    if (values['min-valid'] !== undefined) tokenArgs.push('--min-valid', values['min-valid']);
    if (!workload) tokenArgs.push(gateway);
    const printed: string[] = [];
    const code = await tokenCommand(tokenArgs, { out: (l) => printed.push(l), err: (l) => io.err(l) }, { env, ...(deps.now === undefined ? {} : { now: deps.now }) });
    if (code !== 0) return undefined;
    token = printed.join('\n').trim();
  }
  if (token === '' || /[\r\n\0]/.test(token)) throw new GatehouseError('GH_ERR_TOKEN_MALFORMED', 'the token source did not give one token on one line');

  return token;
}
