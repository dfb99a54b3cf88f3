import { parseArgs } from 'node:util';
import pg from 'pg';
import { GatehouseError } from '../../errors';
import { createSecretProvider } from '../../secrets';
import { bootstrapState, checkBootstrapOptions, type BootstrapIamAuth } from '../../state/bootstrap';
import { isPlainStateUrl, parseStateUrl, type StateIamAuth } from '../../state/connection-url';
import { resolveStateClientConfig } from '../../state/store';
import type { CommandIO } from '../io';

const IAM_AUTH: readonly BootstrapIamAuth[] = ['azure-entra', 'gcp-cloudsql', 'aws-rds', 'none'];

/**
 * `gatehouse bootstrap-state`: run once (per environment) by a platform job with an administrator
 * identity; creates the gateway's least-privilege role and schema (state/bootstrap.ts), then
 * prints what it changed and the role's effective rights. Exit 0 when the role is exactly least
 * privilege, 1 when a problem remains (listed), 2 on usage errors.
 *
 * The administrator's connection takes the same TLS options as the gateway's (`--ca-cert`,
 * `--server-name`); with `--iam-auth` other than `none` and no password in `--admin-url`, the job
 * logs in with a token from its own platform identity (an Entra administrator; a Cloud SQL IAM
 * user with the rights to grant).
 */
export async function bootstrapStateCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'admin-url': { type: 'string' },
      'iam-auth': { type: 'string' },
      'app-role': { type: 'string' },
      'app-role-oid': { type: 'string' },
      schema: { type: 'string', default: 'gatehouse' },
      'ca-cert': { type: 'string' },
      'server-name': { type: 'string' },
      'revoke-public-create': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  const usage: string[] = [];
  if (positionals.length > 0) usage.push(`unexpected argument "${positionals[0]}"`);
  if (values['admin-url'] === undefined) usage.push('--admin-url is required');
  if (values['app-role'] === undefined) usage.push('--app-role is required');
  const iamAuth = values['iam-auth'] as BootstrapIamAuth | undefined;
  if (iamAuth === undefined || !IAM_AUTH.includes(iamAuth)) usage.push('--iam-auth must be azure-entra, gcp-cloudsql, aws-rds or none');
  if (usage.length > 0) {
    io.err(`gatehouse bootstrap-state: ${usage.join('; ')}\n(see gatehouse bootstrap-state --help)`);
    return 2;
  }
  const options = {
    appRole: values['app-role']!,
    iamAuth: iamAuth!,
    appRoleOid: values['app-role-oid'],
    schema: values.schema,
    revokePublicCreate: values['revoke-public-create'],
  };
  const problems = checkBootstrapOptions(options);
  if (problems.length > 0) {
    io.err(`gatehouse bootstrap-state: ${problems.join('; ')}`);
    return 2;
  }

  // The administrator URL may carry a password: take it from the environment or a file rather
  // than the command line (visible to every local user in the process list).
  const secrets = createSecretProvider({ mode: 'production' });
  const resolveSecret = (ref: string) => secrets.get(ref);
  const adminRef = values['admin-url']!;
  const adminUrl = isPlainStateUrl(adminRef) ? adminRef : await resolveSecret(adminRef);
  if (!isPlainStateUrl(adminUrl)) throw new GatehouseError('GH_ERR_CONFIG_INVALID', '--admin-url must be a postgres:// URL or a reference (env:NAME, file:/path) to one');
  let adminHasPassword: boolean;
  try {
    adminHasPassword = parseStateUrl(adminUrl).password !== undefined;
  } catch (e) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', `--admin-url: ${(e as Error).message}`);
  }
  const adminIam: StateIamAuth | undefined = iamAuth === 'none' || adminHasPassword ? undefined : iamAuth;
  const clientConfig = await resolveStateClientConfig(
    { url: adminUrl, embeddedPath: 'memory', iamAuth: adminIam, caCert: values['ca-cert'], serverName: values['server-name'] },
    { resolveSecret, applicationName: 'gatehouse-bootstrap' },
  );
  const admin = new pg.Client({ ...clientConfig, connectionTimeoutMillis: 10000 });
  admin.on('error', () => undefined); // a dropped connection surfaces as the failed query below
  try {
    try {
      await admin.connect();
    } catch (e) {
      throw new GatehouseError('GH_ERR_STATE_UNAVAILABLE', `could not connect as the administrator: ${redact((e as Error).message)}`, { cause: e });
    }
    const report = await bootstrapState(admin, {
      ...options,
      principalDatabase: async () => {
        const client = new pg.Client({ ...clientConfig, database: 'postgres', connectionTimeoutMillis: 10000 });
        client.on('error', () => undefined);
        await client.connect();
        return { client, close: () => client.end() };
      },
    });
    if (values.json) {
      io.out(JSON.stringify(report, null, 2));
    } else {
      const p = report.privileges;
      const yn = (b: boolean) => (b ? 'yes' : 'no');
      io.out(
        [
          ...(report.actions.length > 0 ? report.actions.map((a) => `changed: ${a}`) : ['nothing to change: already bootstrapped']),
          `role ${report.role}: login ${yn(p.login)}, superuser ${yn(p.superuser)}, createrole ${yn(p.createRole)}, createdb ${yn(p.createDb)}, replication ${yn(p.replication)}, bypassrls ${yn(p.bypassRls)}`,
          `database ${report.database}: connect ${yn(p.connect)}`,
          `schema ${report.schema}: usage ${yn(p.schemaUsage)}, create ${yn(p.schemaCreate)}`,
          `schema public: create ${yn(p.publicCreate)}`,
          ...report.warnings.map((w) => `warning: ${w}`),
          `gateway config: state.schema: ${report.schema}${iamAuth === 'none' ? '' : `, state.iamAuth: ${iamAuth}`}`,
        ].join('\n'),
      );
    }
    for (const problem of report.problems) io.err(`problem: ${problem}`);
    return report.problems.length === 0 ? 0 : 1;
  } finally {
    await admin.end().catch(() => undefined);
  }
}

function redact(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/)[^@\s/]*@/gi, '$1***@');
}
