import type pg from 'pg';
import { GatehouseError } from '../errors';
import { SCHEMA_NAME } from './connection-url';

/**
 * Creates the gateway's least-privilege database role and its schema, run once by a platform job
 * with an administrator identity (`gatehouse bootstrap-state`). Idempotent: a second run changes
 * nothing and reports the same state.
 *
 * What the role gets, and nothing more: LOGIN; CONNECT on the database; USAGE and CREATE on the
 * gateway's schema (its migrations create tables and indexes there and it owns them); its
 * search_path set to that schema. No SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS;
 * no CREATE on `public`. The schema itself stays owned by the administrator, so the role cannot
 * grant it to others or drop it; a non-superuser administrator (Azure, Cloud SQL) could not
 * create a schema owned by a role it is not a member of anyway.
 */
export type BootstrapIamAuth = 'azure-entra' | 'gcp-cloudsql' | 'aws-rds' | 'none';

/**
 * Amazon RDS's built-in role whose members log in with IAM tokens only ("Creating a database
 * account using IAM authentication", docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.DBAccounts.html).
 */
export const RDS_IAM_ROLE = 'rds_iam';

export interface BootstrapOptions {
  /** The gateway's database role (for Cloud SQL IAM: `SA@PROJECT.iam`; for Entra: the principal's name). */
  readonly appRole: string;
  readonly iamAuth: BootstrapIamAuth;
  /** Microsoft Entra object id of the managed identity (azure-entra, when the role is new). */
  readonly appRoleOid?: string;
  /** @default 'gatehouse' */
  readonly schema?: string;
  /**
   * Also revoke CREATE on `public` from PUBLIC when the role would otherwise keep it through
   * PUBLIC (PostgreSQL 14 and older grant it). Changes it for every role of the database.
   * @default false: reported as a problem instead
   */
  readonly revokePublicCreate?: boolean;
  /**
   * azure-entra: a connection to the server's `postgres` database, used when the current database
   * lacks `pgaadauth_create_principal_with_oid` (Azure installs it there). Roles are server-wide,
   * so a principal created there logs in to every database. @default none: the current database only
   */
  readonly principalDatabase?: () => Promise<{ readonly client: pg.Client; close(): Promise<void> }>;
}

export interface BootstrapReport {
  readonly role: string;
  readonly schema: string;
  readonly database: string;
  /** What this run changed, in order (empty on a second run). */
  readonly actions: readonly string[];
  /** The role's effective rights after the run. */
  readonly privileges: {
    readonly login: boolean;
    readonly superuser: boolean;
    readonly createRole: boolean;
    readonly createDb: boolean;
    readonly replication: boolean;
    readonly bypassRls: boolean;
    readonly connect: boolean;
    readonly schemaUsage: boolean;
    readonly schemaCreate: boolean;
    readonly publicCreate: boolean;
    /** Roles it is a member of (their rights are its rights). */
    readonly memberOf: readonly string[];
  };
  /** Ways the role is more, or less, than least privilege; empty when it is exactly that. */
  readonly problems: readonly string[];
  /** Worth a look, not necessarily wrong (memberships a platform may need). */
  readonly warnings: readonly string[];
}

const ROLE_NAME = /^[^\0]{1,63}$/;
/** A Microsoft Entra object id. */
const OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** One lock key so that two bootstrap jobs started at once serialize. */
const BOOTSTRAP_LOCK_KEY = 0x6762_6f6f; // "gboo"

/** `"name"` with embedded quotes doubled: safe for any role name (Cloud SQL's contain `@` and `.`). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function checkBootstrapOptions(o: BootstrapOptions): string[] {
  const problems: string[] = [];
  if (!ROLE_NAME.test(o.appRole)) problems.push('--app-role: 1 to 63 characters');
  if (/^(pg_|azure_|cloudsql)/i.test(o.appRole) || o.appRole === 'public' || o.appRole === 'postgres') problems.push(`--app-role: "${o.appRole}" is reserved or the administrator's; give the gateway a role of its own`);
  const schema = o.schema ?? 'gatehouse';
  if (!SCHEMA_NAME.test(schema) || schema === 'public' || schema.startsWith('pg_')) problems.push('--schema: a lowercase SQL name of its own (not public, not pg_*)');
  if (o.iamAuth === 'azure-entra') {
    if (o.appRoleOid !== undefined && !OBJECT_ID.test(o.appRoleOid)) problems.push('--app-role-oid: a Microsoft Entra object id (a GUID)');
  } else if (o.appRoleOid !== undefined) {
    problems.push('--app-role-oid applies to --iam-auth azure-entra only');
  }
  return problems;
}

export async function bootstrapState(admin: pg.Client, options: BootstrapOptions): Promise<BootstrapReport> {
  const problems = checkBootstrapOptions(options);
  if (problems.length > 0) throw new GatehouseError('GH_ERR_CONFIG_INVALID', problems.join('; '));
  const role = options.appRole;
  const schema = options.schema ?? 'gatehouse';
  const r = quoteIdent(role);
  const s = quoteIdent(schema);
  const actions: string[] = [];
  const exec = async (sql: string, params: unknown[] = [], action?: string): Promise<pg.QueryResult> => {
    const res = await admin.query(sql, params);
    if (action !== undefined) actions.push(action);
    return res;
  };

  await exec('begin');
  try {
    await exec('select pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_KEY]);
    const database = String((await exec('select current_database() as d')).rows[0].d);
    const d = quoteIdent(database);

    // 1. The role.
    let attrs = await roleAttributes(admin, role);
    if (attrs === undefined) {
      if (options.iamAuth === 'none' || options.iamAuth === 'aws-rds') {
        await exec(`create role ${r} login nosuperuser nocreatedb nocreaterole noreplication nobypassrls`, [], `created role ${role} (LOGIN, no password)`);
      } else if (options.iamAuth === 'azure-entra') {
        if (options.appRoleOid === undefined) {
          throw new GatehouseError('GH_ERR_CONFIG_INVALID', `role ${role} does not exist: give --app-role-oid (the managed identity's object id) to create it as a Microsoft Entra principal`);
        }
        // Azure Database for PostgreSQL: an Entra administrator creates a principal's role with
        // pgaadauth_create_principal_with_oid(name, object id, type, isAdmin, isMfa) — "Manage
        // Microsoft Entra roles", learn.microsoft.com/azure/postgresql/flexible-server/how-to-manage-azure-ad-users.
        const createSql = `select * from pgaadauth_create_principal_with_oid($1, $2, 'service', false, false)`;
        const here = await bool(admin, "select to_regproc('pgaadauth_create_principal_with_oid') is not null as v", []);
        if (here || options.principalDatabase === undefined) {
          await exec(createSql, [role, options.appRoleOid], `created Entra principal ${role} (object id ${options.appRoleOid})`);
        } else {
          // Committed on its own connection; this transaction (read committed) sees the role next.
          const other = await options.principalDatabase();
          try {
            await other.client.query(createSql, [role, options.appRoleOid]);
          } finally {
            await other.close();
          }
          actions.push(`created Entra principal ${role} (object id ${options.appRoleOid}) in database postgres`);
        }
      } else {
        // Cloud SQL creates IAM database users itself (Terraform google_sql_user, type
        // CLOUD_IAM_SERVICE_ACCOUNT): a role made here could not log in with IAM.
        throw new GatehouseError('GH_ERR_CONFIG_INVALID', `role ${role} does not exist: create the Cloud SQL IAM user first (google_sql_user with type CLOUD_IAM_SERVICE_ACCOUNT; its name is the service account's email without ".gserviceaccount.com")`);
      }
      attrs = await roleAttributes(admin, role);
      if (attrs === undefined) throw new GatehouseError('GH_ERR_STATE_UNAVAILABLE', `role ${role} was not created`);
    }
    const excess = (['superuser', 'createdb', 'createrole', 'replication', 'bypassrls'] as const).filter((a) => attrs![a]);
    if (excess.length > 0) {
      await exec(`alter role ${r} ${excess.map((a) => `no${a}`).join(' ')}`, [], `removed ${excess.map((a) => a.toUpperCase()).join(', ')} from ${role}`);
    }
    if (!attrs.login) await exec(`alter role ${r} login`, [], `allowed ${role} to log in`);
    if (options.iamAuth === 'aws-rds') {
      if (!(await bool(admin, 'select exists (select 1 from pg_roles where rolname = $1) as v', [RDS_IAM_ROLE]))) {
        throw new GatehouseError('GH_ERR_CONFIG_INVALID', `role ${RDS_IAM_ROLE} does not exist: --iam-auth aws-rds is for Amazon RDS and Aurora PostgreSQL, which create it`);
      }
      if (!(await bool(admin, "select pg_has_role($1, $2, 'MEMBER') as v", [role, RDS_IAM_ROLE]))) {
        await exec(`grant ${RDS_IAM_ROLE} to ${r}`, [], `granted ${RDS_IAM_ROLE} to ${role} (RDS IAM authentication)`);
      }
    }

    // 2. The database and the schema.
    if (!(await bool(admin, 'select has_database_privilege($1, current_database(), \'CONNECT\') as v', [role]))) {
      await exec(`grant connect on database ${d} to ${r}`, [], `granted CONNECT on database ${database}`);
    } else {
      // Granted explicitly even when PUBLIC has it, so revoking CONNECT from PUBLIC later keeps the gateway working.
      const explicit = await bool(admin, "select exists (select 1 from pg_database, aclexplode(datacl) a where datname = current_database() and a.grantee = (select oid from pg_roles where rolname = $1) and a.privilege_type = 'CONNECT') as v", [role]);
      if (!explicit) await exec(`grant connect on database ${d} to ${r}`, [], `granted CONNECT on database ${database}`);
    }
    const schemaExists = await bool(admin, 'select exists (select 1 from pg_namespace where nspname = $1) as v', [schema]);
    if (!schemaExists) await exec(`create schema ${s}`, [], `created schema ${schema}`);
    for (const priv of ['USAGE', 'CREATE']) {
      if (!(await bool(admin, 'select has_schema_privilege($1, $2, $3) as v', [role, schema, priv]))) {
        await exec(`grant ${priv.toLowerCase()} on schema ${s} to ${r}`, [], `granted ${priv} on schema ${schema}`);
      }
    }
    const searchPath = await admin.query<{ c: string[] | null }>(
      'select setconfig as c from pg_db_role_setting where setrole = (select oid from pg_roles where rolname = $1) and setdatabase = (select oid from pg_database where datname = current_database())',
      [role],
    );
    const notes: string[] = [];
    if (!(searchPath.rows[0]?.c ?? []).includes(`search_path=${schema}`)) {
      // The gateway sets search_path per connection (state.schema); this covers a config without
      // it, so an administrator who may not change the role's settings is not a failure. That is
      // the case on PostgreSQL 16 for a role the administrator did not create (ALTER ROLE ... SET
      // needs ADMIN OPTION on the role), e.g. the IAM user Cloud SQL creates for the gateway.
      await admin.query('savepoint gatehouse_search_path');
      try {
        await exec(`alter role ${r} in database ${d} set search_path = ${s}`, [], `set the search_path of ${role} in ${database} to ${schema}`);
      } catch (e) {
        if ((e as { code?: unknown }).code !== '42501') throw e;
        await admin.query('rollback to savepoint gatehouse_search_path');
        notes.push(`the administrator may not set ${role}'s search_path (ADMIN OPTION on the role is needed): configure the gateway with state.schema: ${schema}, which sets it on every connection`);
      }
    }

    // 3. Nothing on public.
    const directPublicCreate = await bool(
      admin,
      "select exists (select 1 from pg_namespace, aclexplode(nspacl) a where nspname = 'public' and a.grantee = (select oid from pg_roles where rolname = $1) and a.privilege_type = 'CREATE') as v",
      [role],
    );
    if (directPublicCreate) await exec(`revoke create on schema public from ${r}`, [], 'revoked CREATE on schema public');
    if (options.revokePublicCreate === true && (await bool(admin, "select has_schema_privilege($1, 'public', 'CREATE') as v", [role]))) {
      await exec('revoke create on schema public from public', [], 'revoked CREATE on schema public from PUBLIC');
    }

    const report = await inspect(admin, role, schema, database, actions, options.iamAuth);
    await exec('commit');
    return notes.length === 0 ? report : { ...report, warnings: [...report.warnings, ...notes] };
  } catch (e) {
    await admin.query('rollback').catch(() => undefined);
    throw e;
  }
}

interface RoleAttributes {
  readonly login: boolean;
  readonly superuser: boolean;
  readonly createdb: boolean;
  readonly createrole: boolean;
  readonly replication: boolean;
  readonly bypassrls: boolean;
}

async function roleAttributes(admin: pg.Client, role: string): Promise<RoleAttributes | undefined> {
  const res = await admin.query<{ rolcanlogin: boolean; rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean; rolreplication: boolean; rolbypassrls: boolean }>(
    'select rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls from pg_roles where rolname = $1',
    [role],
  );
  const row = res.rows[0];
  if (row === undefined) return undefined;
  return { login: row.rolcanlogin, superuser: row.rolsuper, createdb: row.rolcreatedb, createrole: row.rolcreaterole, replication: row.rolreplication, bypassrls: row.rolbypassrls };
}

async function bool(admin: pg.Client, sql: string, params: unknown[]): Promise<boolean> {
  const res = await admin.query<{ v: boolean }>(sql, params);
  return res.rows[0]?.v === true;
}

/** The role's effective rights, read back from the catalog: what the report claims is what holds. */
async function inspect(admin: pg.Client, role: string, schema: string, database: string, actions: string[], iamAuth: BootstrapIamAuth): Promise<BootstrapReport> {
  const attrs = (await roleAttributes(admin, role))!;
  const memberOf = (
    await admin.query<{ name: string }>(
      'select g.rolname as name from pg_auth_members m join pg_roles g on g.oid = m.roleid where m.member = (select oid from pg_roles where rolname = $1) order by 1',
      [role],
    )
  ).rows.map((row) => row.name);
  const privileges = {
    login: attrs.login,
    superuser: attrs.superuser,
    createRole: attrs.createrole,
    createDb: attrs.createdb,
    replication: attrs.replication,
    bypassRls: attrs.bypassrls,
    connect: await bool(admin, "select has_database_privilege($1, current_database(), 'CONNECT') as v", [role]),
    schemaUsage: await bool(admin, "select has_schema_privilege($1, $2, 'USAGE') as v", [role, schema]),
    schemaCreate: await bool(admin, "select has_schema_privilege($1, $2, 'CREATE') as v", [role, schema]),
    publicCreate: await bool(admin, "select has_schema_privilege($1, 'public', 'CREATE') as v", [role]),
    memberOf,
  };
  const problems: string[] = [];
  for (const [name, held] of [['SUPERUSER', privileges.superuser], ['CREATEROLE', privileges.createRole], ['CREATEDB', privileges.createDb], ['REPLICATION', privileges.replication], ['BYPASSRLS', privileges.bypassRls]] as const) {
    if (held) problems.push(`${role} still has ${name} (the administrator could not remove it)`);
  }
  if (privileges.publicCreate) problems.push(`${role} can create in schema public through PUBLIC (PostgreSQL 14 and older): run again with --revoke-public-create, or REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
  // Left alone: a platform may put its principals in roles of its own; the operator decides.
  // rds_iam carries no rights: it only switches the role's login to IAM tokens.
  const others = memberOf.filter((m) => !(iamAuth === 'aws-rds' && m === RDS_IAM_ROLE));
  const warnings = others.length > 0 ? [`${role} is a member of ${others.join(', ')}: it holds their rights too; revoke the memberships it does not need`] : [];
  if (iamAuth === 'aws-rds' && !memberOf.includes(RDS_IAM_ROLE)) problems.push(`${role} is not a member of ${RDS_IAM_ROLE}: it cannot log in with IAM tokens`);
  if (!privileges.login || !privileges.connect || !privileges.schemaUsage || !privileges.schemaCreate) problems.push(`${role} lacks a right the gateway needs (LOGIN, CONNECT, USAGE and CREATE on ${schema})`);
  return { role, schema, database, actions, privileges, problems, warnings };
}
