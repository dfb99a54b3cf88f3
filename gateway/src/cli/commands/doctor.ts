import { parseArgs } from 'node:util';
import { GatehouseError, isGatehouseError } from '../../errors';
import type { WellKnownConnection, WellKnownDocument } from '../../server/well-known';
import { fail, ok, renderChecks, skip, type Check } from '../doctor/check';
import { checkAws, checkClaudeCode, checkGit } from '../doctor/client-checks';
import { probeHttpConnection, probePostgres, type PostgresTarget } from '../doctor/connection-probes';
import type { CommandIO } from '../io';
import { fetchWellKnown } from '../login/gateway-document';
import { normalizeGateway, readDefaultGateway, readLogin } from '../login/token-cache';
import { awsConfigPath } from '../setup/aws';
import { readIfExists } from '../setup/file-change';
import { readIniSection } from '../setup/ini-section';
import { pgServiceFilePath } from '../setup/psql';
import { connectionBaseUrl } from './setup';
import { tokenCommand } from './token';

export interface DoctorDeps {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly fetch?: typeof fetch;
}

/**
 * `gatehouse doctor [GATEWAY]`: checks, end to end, what is set up for a gateway here: the gateway
 * answers, a token can be had and the gateway accepts it, each connection lets a harmless
 * operation through, and each configured client (Claude Code, psql services, git, AWS profiles)
 * would reach the gateway with a fresh token. Prints a line per check and what to fix; exit 1
 * when any check fails.
 */
export async function doctorCommand(argv: string[], io: CommandIO, deps: DoctorDeps = {}): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length > 1) throw new GatehouseError('GH_ERR_CLIENT_SETUP', 'usage: gatehouse doctor [GATEWAY] [--json]');
  const env = deps.env ?? process.env;
  const cwd = deps.cwd ?? process.cwd();
  const gateway = positionals[0] !== undefined ? normalizeGateway(positionals[0]) : readDefaultGateway(env);
  const checks = gateway === undefined ? [fail('gateway', 'no gateway given and no login yet', 'gatehouse login <gateway-url>, or gatehouse doctor <gateway-url>')] : await runChecks(gateway, env, cwd, deps.fetch ?? fetch);
  io.out(values.json ? JSON.stringify({ gateway: gateway ?? null, checks }, null, 2) : `Gatehouse doctor${gateway ? ` for ${gateway}` : ''}\n\n${renderChecks(checks)}`);
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

async function runChecks(gateway: string, env: NodeJS.ProcessEnv, cwd: string, fetchImpl: typeof fetch): Promise<Check[]> {
  const checks: Check[] = [];
  let doc: WellKnownDocument;
  try {
    doc = await fetchWellKnown(gateway, fetchImpl);
  } catch (e) {
    return [fail('gateway', isGatehouseError(e) ? e.message : String(e), 'check the URL and that this machine can reach the gateway (VPN, proxy, DNS)')];
  }
  checks.push(ok('gateway', `${gateway}/.well-known/gatehouse answers (${doc.connections.length} connection${doc.connections.length === 1 ? '' : 's'}${doc.login.configured ? `, sign-in at ${doc.login.issuer}` : ''})`));

  const token = await tokenCheck(gateway, env, checks);
  if (token === undefined) {
    checks.push(skip('connections', 'not checked without a token'));
    return checks;
  }

  for (const c of doc.connections) {
    if (c.kind === 'http') checks.push(await probeHttpConnection(gateway, c, token, fetchImpl));
  }
  checks.push(...(await postgresChecks(gateway, doc, token, env)));

  const anthropic = doc.connections.filter((c) => c.kind === 'http' && c.llm === 'anthropic');
  checks.push(checkClaudeCode(gateway, doc, env, cwd, anthropic.length > 0 ? anthropic.map((c) => connectionBaseUrl(gateway, c))[0] : undefined));
  checks.push(checkGit(gateway, env, cwd));
  const aws = checkAws(gateway, env);
  if (aws.length === 0 && doc.connections.some((c) => c.kind === 'aws')) aws.push(skip('aws', `no profile in ${awsConfigPath(env)} uses this gateway`, `to use the AWS CLI through it: gatehouse setup aws ${gateway}`));
  checks.push(...aws);
  return checks;
}

/** A current token, as `gatehouse token` would print it (refreshed when near expiry). */
async function tokenCheck(gateway: string, env: NodeJS.ProcessEnv, checks: Check[]): Promise<string | undefined> {
  const cached = readLogin(gateway, env);
  if (!cached) {
    checks.push(fail('token', `not logged in to ${gateway}`, `gatehouse login ${gateway}`));
    return undefined;
  }
  let token = '';
  const errors: string[] = [];
  try {
    await tokenCommand([gateway], { out: (l) => (token = l.trim()), err: (l) => errors.push(l) }, { env });
  } catch (e) {
    checks.push(fail('token', isGatehouseError(e) ? e.message : String(e), `gatehouse login ${gateway}`));
    return undefined;
  }
  const fresh = readLogin(gateway, env) ?? cached;
  const minutes = Math.floor((fresh.expiresAt - Date.now() / 1000) / 60);
  const who = subjectOf(token);
  checks.push(ok('token', `${who ? `${who}, ` : ''}valid ${minutes >= 1 ? `for ${minutes} min` : 'for less than a minute'}${fresh.refreshToken ? ', refreshed automatically' : '; no refresh token: gatehouse login again when it expires'}`));
  return token;
}

/** Each PostgreSQL connection reached through a pg_service.conf entry pointing at the gateway. */
async function postgresChecks(gateway: string, doc: WellKnownDocument, token: string, env: NodeJS.ProcessEnv): Promise<Check[]> {
  const connections = doc.connections.filter((c): c is Extract<WellKnownConnection, { kind: 'postgres' }> => c.kind === 'postgres');
  if (connections.length === 0) return [];
  const file = pgServiceFilePath(env);
  const text = readIfExists(file);
  const host = new URL(gateway).hostname.replace(/^\[|\]$/g, '');
  const services = [...(text ?? '').matchAll(/^\s*\[([^\]]+)\]\s*$/gm)].map((m) => m[1]!.trim());
  const checks: Check[] = [];
  for (const c of connections) {
    const service = services.find((s) => {
      const e = readIniSection(text, s)!;
      return e.get('host') === host && e.get('port') === String(c.port) && c.databases.includes(e.get('dbname') ?? '');
    });
    if (!service) {
      checks.push(skip(`connection ${c.name}`, `no service in ${file} for it`, `to use psql through it: gatehouse setup psql ${gateway} --connection ${c.name}`));
      continue;
    }
    const e = readIniSection(text, service)!;
    const target: PostgresTarget = { connection: c.name, service, host, port: c.port, database: e.get('dbname')!, user: e.get('user') ?? 'gatehouse', sslmode: e.get('sslmode') ?? 'prefer', sslrootcert: e.get('sslrootcert') };
    checks.push(await probePostgres(target, token, gateway));
  }
  return checks;
}

function subjectOf(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { email?: unknown; sub?: unknown };
    return typeof payload.email === 'string' ? payload.email : typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}
