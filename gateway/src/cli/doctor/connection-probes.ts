import pg from 'pg';
import { readFileSync } from 'node:fs';
import type { WellKnownConnection } from '../../server/well-known';
import { connectionBaseUrl } from '../commands/setup';
import { fail, ok, type Check } from './check';

/**
 * Each connection, end to end with the person's token: a harmless operation through the gateway,
 * told apart by who answered. The gateway marks its own refusals (`x-gatehouse-error` on HTTP, a
 * GH_ERR_* code in PostgreSQL's error message); anything else came from the upstream, which proves
 * the token passed, policy allowed the operation and the upstream is reachable, whatever it said.
 */
const TIMEOUT_MS = 15_000;

export async function probeHttpConnection(gateway: string, connection: Extract<WellKnownConnection, { kind: 'http' }>, token: string, fetchImpl: typeof fetch = fetch): Promise<Check> {
  const name = `connection ${connection.name}`;
  const base = connectionBaseUrl(gateway, connection);
  // LLM APIs have a read-only model list; elsewhere HEAD of the root is the most harmless request.
  const [method, url] = connection.llm ? ['GET', `${base}/v1/models`] : ['HEAD', `${base}/`];
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (connection.llm === 'anthropic') headers['anthropic-version'] = '2023-06-01';
  let response: Response;
  try {
    response = await fetchImpl(url, { method, headers, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (e) {
    const reason = (e as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s (held for approval?)` : (e as Error).message;
    return fail(name, `${method} ${new URL(url).pathname}: ${reason}`, 'check that the gateway is reachable from here; a request held for approval shows in gatehouse approvals list');
  }
  const code = response.headers.get('x-gatehouse-error');
  const text = method === 'HEAD' ? '' : await response.text().catch(() => '');
  const path = new URL(url).pathname;
  if (!code) return ok(name, `${method} ${path} went through (the upstream answered ${response.status})`);
  const message = gatewayMessage(text) ?? code;
  return fail(name, `${method} ${path} refused by the gateway: ${message} [${code}]`, fixFor(code, gateway, connection.name));
}

export interface PostgresTarget {
  readonly connection: string;
  readonly service: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly sslmode: string;
  readonly sslrootcert?: string;
}

export async function probePostgres(target: PostgresTarget, token: string, gateway: string): Promise<Check> {
  const name = `connection ${target.connection}`;
  const ssl = target.sslmode === 'disable' ? false : { rejectUnauthorized: target.sslmode === 'verify-full' || target.sslmode === 'verify-ca', ...(target.sslrootcert && { ca: readFileSync(target.sslrootcert, 'utf8') }) };
  const client = new pg.Client({ host: target.host, port: target.port, database: target.database, user: target.user, password: token, ssl, connectionTimeoutMillis: TIMEOUT_MS, query_timeout: TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return ok(name, `SELECT 1 through service ${target.service} (${target.host}:${target.port}/${target.database}) answered`);
  } catch (e) {
    const message = (e as Error).message;
    const code = /\bGH_ERR_[A-Z_]+/.exec(message)?.[0];
    if (code) return fail(name, `SELECT 1 through service ${target.service} refused by the gateway: ${message}`, fixFor(code, gateway, target.connection));
    return fail(name, `SELECT 1 through service ${target.service} failed: ${message}`, `check the service entry (gatehouse setup psql ${gateway} --print shows what it should be)`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function gatewayMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } };
    return typeof parsed.error?.message === 'string' ? parsed.error.message : undefined;
  } catch {
    return undefined;
  }
}

function fixFor(code: string, gateway: string, connection: string): string {
  if (code.startsWith('GH_ERR_TOKEN_') || code === 'GH_ERR_NOT_LOGGED_IN') return `sign in again: gatehouse login ${gateway}`;
  if (code === 'GH_ERR_POLICY_DENIED' || code === 'GH_ERR_APPROVAL_DENIED' || code === 'GH_ERR_FORBIDDEN') return `policy does not let you use connection ${connection} this way: ask the gateway's operator for access (the refusal is recorded with its reason)`;
  if (code.startsWith('GH_ERR_UPSTREAM_') || code === 'GH_ERR_SECRET_UNAVAILABLE') return `the gateway cannot reach or log in to the service behind ${connection}: tell the gateway's operator`;
  return `tell the gateway's operator (the code ${code} is in its log)`;
}
