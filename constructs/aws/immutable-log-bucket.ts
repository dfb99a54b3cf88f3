import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface ImmutableLogBucketProps {
  /**
   * How long every object version is locked (S3 Object Lock, compliance mode), in days. Nobody,
   * not even the account root, can delete or shorten it before it expires.
   * @default 365
   */
  readonly retentionDays?: number;
  /**
   * Customer-managed key that encrypts the records.
   * @default a new KMS key with yearly automatic rotation
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Bucket that receives the S3 server access logs of the log bucket (SSE-S3, as S3 requires).
   * @default a new bucket, private, TLS-only, versioned
   */
  readonly accessLogsBucket?: s3.IBucket;
  /**
   * Key prefix under which the gateway writes segments and digests (ends with `/`).
   * @default 'gatehouse/'
   */
  readonly prefix?: string;
}

export interface GrantOptions {
  /**
   * Also acknowledge cdk-nag's IAM5 finding for the prefix wildcard on the grantee. Set it only
   * for a principal your own construct creates: a caller's role is the caller's to review.
   * @default false
   */
  readonly acknowledgePrefixWildcard?: boolean;
}

/**
 * The record's home: an S3 bucket where objects can be written once, read back, and never
 * deleted or overwritten until their retention ends.
 *
 * Layers, each enough on its own for some threat: Object Lock in compliance mode (no deletion of a
 * locked version by anyone), a bucket policy that refuses deletes and unconditional puts (so a
 * write to an existing key fails instead of hiding the first version behind a newer one), a
 * customer-managed KMS key, TLS-only access, blocked public access, and server access logs in a
 * separate bucket.
 */
export class ImmutableLogBucket extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly encryptionKey: kms.IKey;
  public readonly accessLogsBucket: s3.IBucket;
  public readonly prefix: string;
  public readonly retention: Duration;

  constructor(scope: Construct, id: string, props: ImmutableLogBucketProps = {}) {
    super(scope, id);
    this.retention = Duration.days(props.retentionDays ?? 365);
    this.prefix = props.prefix ?? 'gatehouse/';
    validateRetention(this.retention);
    validatePrefix(this.prefix);

    this.encryptionKey =
      props.encryptionKey ??
      new kms.Key(this, 'Key', {
        description: 'Gatehouse record bucket encryption',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });

    this.accessLogsBucket = props.accessLogsBucket ?? this.createAccessLogsBucket();

    this.bucket = new s3.Bucket(this, 'Bucket', {
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(this.retention),
      versioned: true,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'log-bucket/',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    Validations.of(this.bucket).acknowledge({
      id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
      reason: 'Records stay in the region the operator chose (data residency). Durability is S3\'s; integrity is Object Lock in compliance mode plus the hash chain and the witness kept outside the bucket. Replicating to a second locked bucket is the operator\'s choice (a replication rule through the public `bucket` child).',
    });

    // Compliance-mode Object Lock already stops deletion of locked versions; these denies also
    // stop delete markers and version deletes after retention, and make a silent overwrite
    // impossible: a put must say "only if absent" (If-None-Match: *).
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyDeletes',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
        resources: [this.bucket.arnForObjects('*')],
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyOverwrites',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects('*')],
        conditions: { Null: { 's3:if-none-match': 'true' } },
      }),
    );
  }

  /**
   * Lets `grantee` create new objects under the prefix (never delete, never change retention,
   * never rewrite tags or ACLs) and read them back.
   */
  public grantAppend(grantee: iam.IGrantable, options: GrantOptions = {}): iam.Grant {
    const objects = this.bucket.arnForObjects(`${this.prefix}*`);
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion'],
      resourceArns: [objects],
    });
    this.grantListPrefix(grantee);
    this.encryptionKey.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
    if (options.acknowledgePrefixWildcard) this.acknowledgePrefixWildcard(grantee, 'writes one object per segment and digest, under keys it generates');
    return grant;
  }

  /** Lets `grantee` list and read the records (for `gatehouse verify` and exports). */
  public grantRead(grantee: iam.IGrantable, options: GrantOptions = {}): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      resourceArns: [this.bucket.arnForObjects(`${this.prefix}*`)],
    });
    this.grantListPrefix(grantee);
    this.encryptionKey.grant(grantee, 'kms:Decrypt');
    if (options.acknowledgePrefixWildcard) this.acknowledgePrefixWildcard(grantee, 'reads every segment and digest to verify the chain');
    return grant;
  }

  /** The object wildcard is the prefix itself: keys are generated per session and date. */
  private acknowledgePrefixWildcard(grantee: iam.IGrantable, why: string): void {
    const principal = grantee.grantPrincipal;
    if (!(principal instanceof Construct)) return;
    const bucketId = Stack.of(this).resolve((this.bucket.node.defaultChild as s3.CfnBucket).logicalId) as string;
    Validations.of(principal).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${this.prefix}*]`,
      reason: `Scoped to the record prefix of one bucket: the principal ${why}; the bucket policy and Object Lock forbid deletes and overwrites.`,
    });
  }

  private grantListPrefix(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${this.prefix}*`] } },
    });
  }

  private createAccessLogsBucket(): s3.Bucket {
    const logs = new s3.Bucket(this, 'AccessLogs', {
      // S3 server access logging delivers only to SSE-S3 buckets (SSE_S3_ONLY_REASON).
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(logs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket is the access-log destination itself; logging it to another bucket would recurse without adding evidence.',
    });
    for (const id of ['NIST.800.53.R5-S3DefaultEncryptionKMS']) Validations.of(logs).acknowledge({ id, reason: SSE_S3_ONLY_REASON });
    Validations.of(logs).acknowledge({
      id: 'NIST.800.53.R5-S3BucketLoggingEnabled',
      reason: 'This bucket is the access-log destination itself; logging it to another bucket would recurse without adding evidence.',
    });
    Validations.of(logs).acknowledge({
      id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
      reason: 'Access logs are operational evidence kept in-region; cross-region replication would move them out of the region the operator chose. Versioning keeps overwritten objects.',
    });
    return logs;
  }
}

/**
 * Why the access-log bucket is SSE-S3, not SSE-KMS: the S3 User Guide, "Enabling Amazon S3 server
 * access logging" (docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html;
 * awsdocs/amazon-s3-userguide doc_source/enable-server-access-logging.md): "You can use default
 * bucket encryption on the target bucket only if you use server-side encryption with Amazon S3
 * managed keys (SSE-S3) [...] Default server-side encryption with AWS KMS keys (SSE-KMS) is not
 * supported." The same page forbids Object Lock on the target bucket.
 */
export const SSE_S3_ONLY_REASON =
  'S3 server access logs are delivered only to SSE-S3 target buckets: the S3 User Guide ("Enabling Amazon S3 server access logging") says default SSE-KMS encryption is not supported on the target bucket. The records themselves are SSE-KMS with a customer-managed key.';

function validateRetention(retention: Duration): void {
  if (Token.isUnresolved(retention.toDays({ integral: false }))) return;
  const days = retention.toDays({ integral: false });
  if (!Number.isInteger(days) || days < 1 || days > 36500) {
    throw new Error(`ImmutableLogBucket: retention must be a whole number of days between 1 and 36500, got ${days} days`);
  }
}

function validatePrefix(prefix: string): void {
  if (Token.isUnresolved(prefix)) return;
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/$/.test(prefix)) {
    throw new Error(`ImmutableLogBucket: prefix must be a relative key prefix ending with "/" (e.g. "gatehouse/"), got "${prefix}"`);
  }
}

