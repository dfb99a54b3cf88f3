import { CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * The SQL that makes the gateway's own database role, run as the cluster administrator in one
 * transaction after `gatehouse.app_role` and `gatehouse.app_schema` were set with
 * `set_config(..., true)` (transaction-local, passed as bind parameters).
 *
 * It grants what the gateway's own `gatehouse bootstrap-state --iam-auth aws-rds` grants
 * (gateway/src/state/bootstrap.ts), and nothing more: LOGIN with no password and membership in
 * `rds_iam`, so the role logs in with RDS IAM tokens only ("Creating a database account using IAM
 * authentication", docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.DBAccounts.html:
 * `CREATE USER db_userx; GRANT rds_iam TO db_userx;`); CONNECT on the database; USAGE and CREATE
 * on its schema (owned by the administrator, so the role cannot drop or re-grant it); its
 * search_path; no CREATE on `public`; no SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or
 * BYPASSRLS, no membership in `rds_superuser`. `PASSWORD NULL` also removes a password an earlier
 * version of the kit set (it rotated one). Idempotent: a re-run (stack update) changes nothing.
 * The test runs this exact text against a real PostgreSQL and then the gateway's bootstrap, which
 * must find nothing left to do.
 */
export const STATE_ROLE_BOOTSTRAP_SQL = `DO $gatehouse$
DECLARE
  app text := current_setting('gatehouse.app_role');
  sch text := current_setting('gatehouse.app_schema');
BEGIN
  PERFORM pg_advisory_xact_lock(1734504303);
  IF app IS NULL OR app = '' OR app ~ '^(pg_|rds|postgres$|public$)' THEN
    RAISE EXCEPTION 'gatehouse: refusing to bootstrap role "%"', app;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = app) THEN
    EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', app);
  END IF;
  EXECUTE format('ALTER ROLE %I LOGIN NOCREATEDB NOCREATEROLE PASSWORD NULL', app);
  EXECUTE format('GRANT rds_iam TO %I', app);
  EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', sch);
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), app);
  EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO %I', sch, app);
  EXECUTE format('ALTER ROLE %I IN DATABASE %I SET search_path = %I', app, current_database(), sch);
  EXECUTE format('REVOKE CREATE ON SCHEMA public FROM %I', app);
END
$gatehouse$`;

/** Sets the two transaction-local values the bootstrap SQL reads (bind parameters :role, :schema). */
export const STATE_ROLE_BOOTSTRAP_SETTINGS_SQL =
  "select set_config('gatehouse.app_role', :role, true), set_config('gatehouse.app_schema', :schema, true)";

/**
 * CloudFormation takes inline Lambda code (`Code.ZipFile`) up to 4096 characters
 * (docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-lambda-function-code.html):
 * the handler stays terse to fit, and a test checks the length.
 */
export const INLINE_CODE_LIMIT = 4096;

/**
 * The custom resource's handler (Node.js, the Lambda runtime's bundled AWS SDK v3). It runs the
 * two statements through the RDS Data API with the administrator's secret (which the Data API
 * reads itself: the function never sees a password), and answers CloudFormation. A delete
 * changes nothing (the role goes with the cluster).
 */
export const STATE_ROLE_BOOTSTRAP_HANDLER = `const D = require('@aws-sdk/client-rds-data');
const https = require('https');
const SET = ${JSON.stringify(STATE_ROLE_BOOTSTRAP_SETTINGS_SQL)};
const SQL = ${JSON.stringify(STATE_ROLE_BOOTSTRAP_SQL.replace(/\n\s*/g, ' '))};
async function run(p) {
  const rds = new D.RDSDataClient({});
  const t = { resourceArn: p.ClusterArn, secretArn: p.AdminSecretArn };
  let b;
  for (let i = 0; ; i++) {
    try { b = await rds.send(new D.BeginTransactionCommand({ ...t, database: p.Database })); break; }
    catch (e) { if (i >= 20 || !/Resuming|Unavailable|Communications link/i.test(e.name + e.message)) throw e; await new Promise((r) => setTimeout(r, 15000)); }
  }
  const x = { ...t, transactionId: b.transactionId };
  const v = (k) => ({ stringValue: k });
  try {
    await rds.send(new D.ExecuteStatementCommand({ ...x, database: p.Database, sql: SET, parameters: [
      { name: 'role', value: v(p.AppRole) }, { name: 'schema', value: v(p.Schema) }] }));
    await rds.send(new D.ExecuteStatementCommand({ ...x, database: p.Database, sql: SQL }));
    await rds.send(new D.CommitTransactionCommand(x));
  } catch (e) {
    await rds.send(new D.RollbackTransactionCommand(x)).catch(() => 0);
    throw e;
  }
}
exports.handler = async (ev) => {
  let Status = 'SUCCESS', Reason = 'ok';
  try { if (ev.RequestType !== 'Delete') await run(ev.ResourceProperties); }
  catch (e) { Status = 'FAILED'; Reason = String(e.name + ': ' + e.message).slice(0, 500); console.error(Reason); }
  const body = JSON.stringify({ Status, Reason, PhysicalResourceId: ev.PhysicalResourceId || 'gatehouse-state-role-' + ev.ResourceProperties.AppRole,
    StackId: ev.StackId, RequestId: ev.RequestId, LogicalResourceId: ev.LogicalResourceId });
  await new Promise((ok, ko) => https.request(ev.ResponseURL, { method: 'PUT', headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) } },
    (r) => { r.resume(); r.on('end', ok); }).on('error', ko).end(body));
};
`;

export interface StateRoleBootstrapProps {
  readonly cluster: rds.DatabaseCluster;
  /** The administrator's secret (the Data API logs in with it). */
  readonly adminSecret: secretsmanager.ISecret;
  readonly appRole: string;
  readonly schema: string;
  readonly databaseName: string;
  readonly vpc: ec2.IVpc;
}

/**
 * Creates the gateway's least-privilege database role at deploy time (a custom resource): the
 * gateway then never logs in as the administrator, and its role has no password at all.
 */
export class StateRoleBootstrap extends Construct {
  public readonly resource: CustomResource;
  public readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: StateRoleBootstrapProps) {
    super(scope, id);
    const logKey = new kms.Key(this, 'LogKey', { description: 'Gatehouse state role bootstrap logs', enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
    const stack = Stack.of(this);
    logKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsInThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*` } },
      }),
    );
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_YEAR, encryptionKey: logKey, removalPolicy: RemovalPolicy.RETAIN });
    this.function = new lambda.Function(this, 'Function', {
      description: 'Gatehouse: creates the gateway\'s own database role through the RDS Data API',
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(STATE_ROLE_BOOTSTRAP_HANDLER),
      timeout: Duration.minutes(10),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      logGroup,
    });
    props.cluster.grantDataApiAccess(this.function);

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.function.functionArn,
      resourceType: 'Custom::GatehouseStateRole',
      properties: {
        ClusterArn: props.cluster.clusterArn,
        AdminSecretArn: props.adminSecret.secretArn,
        AppRole: props.appRole,
        Schema: props.schema,
        Database: props.databaseName,
      },
    });
    // The instances must be up before the Data API can run anything.
    this.resource.node.addDependency(props.cluster);

    const reasons: Record<string, string> = {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
        'The deploy-time bootstrap function uses the service-managed Lambda logging policy; it runs only when CloudFormation creates or updates the role.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]':
        'A function in the VPC needs the service-managed ENI policy; it runs only when CloudFormation creates or updates the role.',
      'AwsSolutions-IAM5[Resource::*]':
        'rds-data statements are scoped by the cluster ARN in the call and the Data API grant; the wildcard comes from aws-cdk-lib\'s grantDataApiAccess for secret reads it cannot narrow.',
      'NIST.800.53.R5-IAMNoInlinePolicy':
        'The policy is generated from grants for this one function role and attached to it alone; a managed policy could be attached elsewhere.',
      'NIST.800.53.R5-LambdaConcurrency':
        'The function runs once per stack create or update, invoked only by CloudFormation; reserving concurrency would take capacity from the account for nothing.',
      'NIST.800.53.R5-LambdaDLQ':
        'CloudFormation invokes the function synchronously and fails the deployment on error; there is no asynchronous event to lose.',
    };
    for (const [id, reason] of Object.entries(reasons)) Validations.of(this.function).acknowledge({ id, reason });
  }
}
