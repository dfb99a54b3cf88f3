import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { GatehouseError } from '../../errors';
import type { WellKnownConnection, WellKnownDocument } from '../../server/well-known';
import type { CommandIO } from '../io';
import { fetchWellKnown } from '../login/gateway-document';
import { normalizeGateway, readDefaultGateway } from '../login/token-cache';
import { awsConfigPath, planAwsProfile } from '../setup/aws';
import { claudeSettingsPath, planClaudeCode } from '../setup/claude-code';
import { applyChange, changed, describeChange, type FileChange } from '../setup/file-change';
import { applyGitPlan, describeGitPlan, gitPlanChanged, planGitCredential } from '../setup/git';
import { pgServiceFilePath, planPsqlService, type PostgresConnection } from '../setup/psql';
import { fastTokenHelper, parseGatehouseOption, selfCommand, shellJoin, shellQuote } from '../setup/self-command';

export const SETUP_CLIENTS = ['claude-code', 'psql', 'git', 'aws'] as const;
type Client = (typeof SETUP_CLIENTS)[number];

export interface SetupDeps {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly fetch?: typeof fetch;
}

/**
 * `gatehouse setup <client> [GATEWAY]`: writes one client's configuration for a gateway, merged
 * into what is there, and prints what it changes (`--print`: prints only). Idempotent: a second
 * run reports every file as already set up and writes nothing.
 */
export async function setupCommand(argv: string[], io: CommandIO, deps: SetupDeps = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      print: { type: 'boolean', default: false },
      dev: { type: 'boolean', default: false },
      sub: { type: 'string' },
      project: { type: 'boolean', default: false },
      connection: { type: 'string' },
      gatehouse: { type: 'string' },
      // psql
      service: { type: 'string' },
      database: { type: 'string' },
      user: { type: 'string' },
      sslrootcert: { type: 'string' },
      // git
      file: { type: 'string' },
      // aws
      profile: { type: 'string', default: 'gatehouse' },
      region: { type: 'string' },
      'endpoint-url': { type: 'string' },
    },
    allowPositionals: true,
  });
  const [client, gatewayArg, ...extra] = positionals;
  if (!client || !(SETUP_CLIENTS as readonly string[]).includes(client) || extra.length > 0) {
    throw new GatehouseError('GH_ERR_CLIENT_SETUP', `usage: gatehouse setup ${SETUP_CLIENTS.join('|')} [GATEWAY] [--print]`);
  }
  const env = deps.env ?? process.env;
  const cwd = deps.cwd ?? process.cwd();
  if (values.dev && client !== 'claude-code') throw new GatehouseError('GH_ERR_CLIENT_SETUP', '--dev is for claude-code (psql and the others take a login)');
  const gateway = gatewayArg !== undefined ? normalizeGateway(gatewayArg) : readDefaultGateway(env);
  if (!gateway) throw new GatehouseError('GH_ERR_NOT_LOGGED_IN', 'which gateway? give its URL, or run gatehouse login <gateway-url> first');
  const doc = await fetchWellKnown(gateway, deps.fetch ?? fetch);
  // A shared project file cannot hold this machine's paths: teammates need `gatehouse` on PATH.
  const self = values.gatehouse !== undefined ? parseGatehouseOption(values.gatehouse) : values.project ? ['gatehouse'] : selfCommand();

  let changes: FileChange[] = [];
  const notes: string[] = [];
  switch (client as Client) {
    case 'claude-code': {
      const connection = pickConnection(doc, (c) => c.kind === 'http' && c.llm === 'anthropic', values.connection, 'Anthropic connection (llm: anthropic)');
      const path = claudeSettingsPath(values.project ? 'project' : 'user', env, cwd);
      // --dev: a local gateway's development issuer instead of a login (gatehouse dev). Its
      // configuration names files relative to this directory, so the helper runs from here.
      // Otherwise the shell helper beside this program when there is one (it prints a cached token
      // without starting Node and runs this program's `token` when the token needs a refresh), else
      // `gatehouse token`. A shared project file names neither path: teammates' installs differ.
      const fast = values.dev || values.project ? undefined : fastTokenHelper(self);
      const helper = values.dev
        ? `cd ${shellQuote(cwd)} && ${shellJoin([...self, 'token', '--dev', '--sub', values.sub ?? safeUser()])}`
        : fast !== undefined
          ? shellJoin([fast, gateway, '--', ...self])
          : shellJoin([...self, 'token', gateway]);
      changes = [planClaudeCode(path, { baseUrl: connectionBaseUrl(gateway, connection), apiKeyHelper: helper })];
      notes.push('Claude Code asks `gatehouse token` for a token on start and every 5 minutes; run `claude` as usual.');
      if (values.project) notes.push('The project file calls `gatehouse` from PATH: every teammate needs it installed and a `gatehouse login`.');
      break;
    }
    case 'psql': {
      const connection = pickConnection(doc, (c) => c.kind === 'postgres', values.connection, 'PostgreSQL connection') as PostgresConnection;
      const service = values.service ?? `gatehouse-${connection.name}`;
      // The advertised host when the operator published one (a separate load balancer name), else the gateway's.
      const host = (connection.host ?? new URL(gateway).hostname).replace(/^\[|\]$/g, '');
      changes = [planPsqlService(pgServiceFilePath(env), { service, host, connection, database: values.database, user: values.user, sslRootCert: values.sslrootcert })];
      notes.push(`Connect with: ${shellJoin([...self, 'psql', '--gateway', gateway, '--', `service=${service}`])}`);
      notes.push('(the token reaches psql in its environment only; no password is stored)');
      if (connection.tls && values.sslrootcert === undefined) {
        notes.push("verify-full checks the gateway's certificate against libpq's default CA file (~/.postgresql/root.crt): if its CA is not there, run setup again with --sslrootcert FILE (libpq 16+: --sslrootcert system for a public CA)");
      }
      break;
    }
    case 'git': {
      // The gateway named: the helper answers for it even after a login to another gateway.
      const plan = planGitCredential(gateway, shellJoin([...self, 'git-credential', gateway]), values.file, env);
      io.out(describeGitPlan(plan));
      if (!values.print) applyGitPlan(plan, values.file, env);
      io.out(values.print ? '(--print: nothing written)' : gitPlanChanged(plan) ? 'Done: git asks gatehouse for credentials on this gateway\'s URLs.' : 'Nothing to change.');
      return 0;
    }
    case 'aws': {
      const aws = values.connection !== undefined || hasKind(doc, 'aws') ? (pickConnection(doc, (c) => c.kind === 'aws', values.connection, 'AWS connection') as Extract<WellKnownConnection, { kind: 'aws' }>) : undefined;
      const endpointUrl = values['endpoint-url'] ?? (aws ? connectionBaseUrl(gateway, aws) : gateway);
      // Caller credentials are good for one connection: the process names it.
      const processCommand = shellJoin([...self, 'aws-credentials', gateway, ...(aws ? ['--connection', aws.name] : [])]);
      changes = [planAwsProfile(awsConfigPath(env), { profile: values.profile, credentialProcess: processCommand, endpointUrl, region: values.region ?? aws?.region })];
      notes.push(`Use it with: aws --profile ${values.profile} ...  (or AWS_PROFILE=${values.profile})`);
      // endpoint_url (and AWS_ENDPOINT_URL*) arrived in aws-cli 2.13; older CLIs (Debian bookworm's
      // 2.9) ignore it and call AWS directly, where the gateway's credential is refused.
      notes.push(`aws-cli older than 2.13 ignores endpoint_url (see aws --version): add --endpoint-url ${endpointUrl} to each command.`);
      break;
    }
  }
  for (const change of changes) io.out(describeChange(change));
  if (values.print) {
    io.out('(--print: nothing written)');
    return 0;
  }
  for (const change of changes) applyChange(change);
  io.out(changes.some(changed) ? 'Done.' : 'Nothing to change.');
  for (const note of notes) io.out(note);
  return 0;
}

function hasKind(doc: WellKnownDocument, kind: WellKnownConnection['kind']): boolean {
  return doc.connections.some((c) => c.kind === kind);
}

/** The connection named by --connection, else the only one that fits. */
function pickConnection(doc: WellKnownDocument, fits: (c: WellKnownConnection) => boolean, name: string | undefined, what: string): WellKnownConnection {
  const candidates = doc.connections.filter(fits);
  if (name !== undefined) {
    const found = candidates.find((c) => c.name === name);
    if (!found) throw new GatehouseError('GH_ERR_CLIENT_SETUP', `the gateway has no ${what} named "${name}" (it has: ${candidates.map((c) => c.name).join(', ') || 'none'})`);
    return found;
  }
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) throw new GatehouseError('GH_ERR_CLIENT_SETUP', `the gateway publishes no ${what}: ask its operator to add one`);
  throw new GatehouseError('GH_ERR_CLIENT_SETUP', `the gateway has several: ${candidates.map((c) => c.name).join(', ')}; pick one with --connection NAME`);
}

/** Where a client reaches an HTTP-borne connection: the gateway plus its path prefix, or its host. */
export function connectionBaseUrl(gateway: string, connection: WellKnownConnection): string {
  const c = connection as { pathPrefix?: string; host?: string };
  if (c.pathPrefix !== undefined) return `${gateway}${c.pathPrefix === '/' ? '' : c.pathPrefix.replace(/\/+$/, '')}`;
  if (c.host !== undefined) {
    const url = new URL(gateway);
    url.hostname = c.host;
    return url.href.replace(/\/+$/, '');
  }
  return gateway;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'developer';
  }
}
