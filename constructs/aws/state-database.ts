import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { StateRoleBootstrap } from './state-role-bootstrap';

export interface StateDatabaseProps {
  /** The network; the cluster goes into its isolated subnets. */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets for the cluster.
   * @default the VPC's isolated subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Aurora Serverless v2 capacity range in ACUs (0.5 steps; minimum 0 lets the cluster pause).
   * @default { min: 0.5, max: 4 }
   */
  readonly capacity?: { readonly min: number; readonly max: number };
  /**
   * Key that encrypts storage, snapshots and the credentials secret.
   * @default a new KMS key with rotation
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Automated backup retention.
   * @default Duration.days(7)
   */
  readonly backupRetention?: Duration;
  /**
   * Rotate the administrator's credentials on this schedule (a Secrets Manager rotation function
   * in the VPC's private subnets). The gateway holds no password: it logs in with RDS IAM tokens.
   * @default Duration.days(30)
   */
  readonly rotation?: Duration;
  /**
   * Database name.
   * @default 'gatehouse'
   */
  readonly databaseName?: string;
  /**
   * Deletion protection of the cluster.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * An AWS Backup plan that takes the cluster (beside Aurora's own continuous backups), or
   * `false` for none.
   * @default a new plan: daily backups kept 35 days in a KMS-encrypted vault
   */
  readonly backupPlan?: backup.BackupPlan | false;
  /**
   * Interval of RDS enhanced monitoring (OS metrics of each instance).
   * @default Duration.seconds(60)
   */
  readonly monitoringInterval?: Duration;
}

/**
 * The gateway's state store (session index, approvals): Aurora Serverless v2 PostgreSQL in
 * isolated subnets, encrypted, the administrator's credentials in Secrets Manager (rotated), and a
 * security group that admits nothing until `allowFrom` names the gateway.
 *
 * The gateway logs in as its own least-privileged role with RDS IAM authentication
 * (docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.html): IAM
 * authentication is on for the cluster, the role is granted `rds_iam` by the bootstrap, and
 * `grantConnect` gives `rds-db:connect` on exactly that database user. No password for it exists
 * anywhere: the gateway signs a 15-minute token per connection with its task role
 * (`state.iamAuth: aws-rds`).
 *
 * To use an existing database, skip this construct and pass the gateway its secret instead.
 */
export class StateDatabase extends Construct implements ec2.IConnectable {
  public readonly cluster: rds.DatabaseCluster;
  /** The administrator's secret: used by its rotation and the role bootstrap only, never by the gateway. */
  public readonly secret: secretsmanager.ISecret;
  /** The gateway's role (least privilege, `rds_iam`, no password; see StateRoleBootstrap). */
  public readonly appRole: string;
  /** The schema holding the gateway's tables. */
  public readonly schema: string;
  /** Creates the gateway's role; the gateway service should start after it. */
  public readonly appRoleBootstrap: StateRoleBootstrap;
  public readonly encryptionKey: kms.IKey;
  public readonly connections: ec2.Connections;
  public readonly databaseName: string;
  /** The AWS Backup plan that takes the cluster, unless `backupPlan: false`. */
  public readonly backupPlan?: backup.BackupPlan;

  constructor(scope: Construct, id: string, props: StateDatabaseProps) {
    super(scope, id);
    const capacity = props.capacity ?? { min: 0.5, max: 4 };
    validateCapacity(capacity);
    this.databaseName = props.databaseName ?? 'gatehouse';
    if (!Token.isUnresolved(this.databaseName) && !/^[a-z][a-z0-9_]{0,62}$/.test(this.databaseName)) {
      throw new Error(`StateDatabase: databaseName must start with a letter and hold lowercase letters, digits and "_", got "${this.databaseName}"`);
    }

    this.encryptionKey =
      props.encryptionKey ??
      new kms.Key(this, 'Key', {
        description: 'Gatehouse state database',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Gatehouse state database: reachable only from the gateway',
      allowAllOutbound: false,
    });

    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_6 }),
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [securityGroup],
      writer: rds.ClusterInstance.serverlessV2('Writer', { autoMinorVersionUpgrade: true }),
      readers: [rds.ClusterInstance.serverlessV2('Reader', { scaleWithWriter: true, autoMinorVersionUpgrade: true })],
      serverlessV2MinCapacity: capacity.min,
      serverlessV2MaxCapacity: capacity.max,
      credentials: rds.Credentials.fromGeneratedSecret('gatehouse', { encryptionKey: this.encryptionKey }),
      defaultDatabaseName: this.databaseName,
      storageEncrypted: true,
      storageEncryptionKey: this.encryptionKey,
      deletionProtection: props.deletionProtection ?? true,
      monitoringInterval: props.monitoringInterval ?? Duration.seconds(60),
      backup: { retention: props.backupRetention ?? Duration.days(7) },
      cloudwatchLogsExports: ['postgresql'],
      // The gateway's role logs in with IAM tokens only (UsingWithRDS.IAMDBAuth.Enabling.html).
      iamAuthentication: true,
      // The role bootstrap runs its SQL through the Data API: no function with database
      // connectivity or a PostgreSQL driver is needed at deploy time.
      enableDataApi: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    this.secret = this.cluster.secret!;
    this.appRole = 'gatehouse_app';
    this.schema = 'gatehouse';
    this.appRoleBootstrap = new StateRoleBootstrap(this, 'AppRole', {
      cluster: this.cluster,
      adminSecret: this.secret,
      appRole: this.appRole,
      schema: this.schema,
      databaseName: this.databaseName,
      vpc: props.vpc,
    });
    this.connections = this.cluster.connections;

    this.cluster.addRotationSingleUser({
      automaticallyAfter: props.rotation ?? Duration.days(30),
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    });
    // The rotation function's ingress rule uses the cluster's port as a token cdk-nag cannot read.
    for (const rule of securityGroup.node.children.filter((c) => c.node.id.includes('Rotation'))) {
      for (const id of ['NIST.800.53.R5-EC2RestrictedCommonPorts', 'NIST.800.53.R5-EC2RestrictedSSH']) {
        Validations.of(rule).acknowledge({
          id,
          reason: 'The rule admits only the rotation function\'s own security group, on the PostgreSQL port (a token here); no CIDR and no SSH.',
        });
      }
    }
    for (const instance of [this.cluster.node.tryFindChild('Writer'), this.cluster.node.tryFindChild('Reader')]) {
      if (!instance) continue;
      Validations.of(instance).acknowledge({
        id: 'NIST.800.53.R5-RDSInBackupPlan',
        reason: 'Aurora instances hold no storage of their own: AWS Backup protects the cluster (its shared storage volume), which is selected in the backup plan.',
      });
    }

    if (props.backupPlan !== false) {
      this.backupPlan = props.backupPlan ?? this.createBackupPlan();
      const selection = this.backupPlan.addSelection(`Gatehouse${this.node.addr.slice(0, 8)}`, {
        resources: [backup.BackupResource.fromRdsDatabaseCluster(this.cluster)],
      });
      const selectionRole = selection.node.tryFindChild('Role');
      if (selectionRole) {
        Validations.of(selectionRole).acknowledge({
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
          reason: 'The AWS Backup service role needs the service-managed backup policy, which AWS keeps in step with the services Backup supports; it is assumable only by backup.amazonaws.com.',
        });
      }
    }

    const monitoringRole = this.cluster.node.tryFindChild('MonitoringRole');
    if (monitoringRole) {
      Validations.of(monitoringRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
        reason: 'RDS enhanced monitoring requires the service-managed AmazonRDSEnhancedMonitoringRole policy (CloudWatch Logs writes to RDSOSMetrics only); the role is assumable only by monitoring.rds.amazonaws.com.',
      });
    }
    Validations.of(this.cluster).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason:
        'The security group admits only the gateway; a non-default port adds no protection and breaks clients that assume 5432.',
    });
  }

  private createBackupPlan(): backup.BackupPlan {
    const vault = new backup.BackupVault(this, 'BackupVault', {
      encryptionKey: this.encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    return new backup.BackupPlan(this, 'BackupPlan', {
      backupVault: vault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: 'Daily',
          scheduleExpression: events.Schedule.cron({ hour: '3', minute: '0' }),
          deleteAfter: Duration.days(35),
        }),
      ],
    });
  }

  /** Admits `peer` (the gateway service) on the PostgreSQL port, and nothing else. */
  public allowFrom(peer: ec2.IConnectable): void {
    // An explicit port (not the cluster's port token) so the rule can be checked at synth.
    this.cluster.connections.allowFrom(peer, ec2.Port.tcp(5432), 'Gatehouse gateway to its state database');
  }

  /**
   * Lets `grantee` log in as the gateway's role with IAM tokens: `rds-db:connect` on exactly
   * `arn:<partition>:rds-db:<region>:<account>:dbuser:<DbClusterResourceId>/<appRole>`, the ARN
   * form for an Aurora cluster ("Creating and using an IAM policy for IAM database access",
   * docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html).
   * Never the administrator's user.
   */
  public grantConnect(grantee: iam.IGrantable): iam.Grant {
    return this.cluster.grantConnect(grantee, this.appRole);
  }

  /**
   * The gateway's `state.url`: the cluster (writer) endpoint, the role without a password, and
   * `sslmode=verify-full` (RDS accepts IAM tokens over SSL only, and the gateway sends a token
   * only to a server whose certificate names this host). Use with `state.iamAuth: aws-rds`.
   */
  public get url(): string {
    return `postgresql://${this.appRole}@${this.cluster.clusterEndpoint.hostname}:5432/${this.databaseName}?sslmode=verify-full`;
  }
}

function validateCapacity(capacity: { min: number; max: number }): void {
  const { min, max } = capacity;
  if (Token.isUnresolved(min) || Token.isUnresolved(max)) return;
  const halfSteps = (n: number) => Number.isInteger(n * 2);
  if (!halfSteps(min) || !halfSteps(max) || min < 0 || max < 1 || max > 256 || min > max) {
    throw new Error(`StateDatabase: capacity must be 0 <= min <= max, 1 <= max <= 256, in steps of 0.5 ACU; got min ${min}, max ${max}`);
  }
}
