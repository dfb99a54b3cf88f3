import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface DeliveryLogsBucketProps {
  /**
   * Where the bucket's own S3 server access logs go (an SSE-S3 bucket: S3 server access logging
   * delivers to no other kind).
   */
  readonly serverAccessLogsBucket: s3.IBucket;
}

/**
 * The destination of the logs AWS services deliver (load balancer access logs, VPC flow logs),
 * SSE-KMS with a customer-managed key. Unlike S3 server access logs, these "vended" logs are
 * written by `delivery.logs.amazonaws.com`, which encrypts with a customer-managed key when its key
 * policy lets it (CloudWatch Logs User Guide, "Logs sent to Amazon S3", section "Amazon S3 bucket
 * server-side encryption"; Elastic Load Balancing, "Access logs for your Network Load Balancer":
 * SSE-KMS with a customer managed key, not the AWS managed `aws/s3` key).
 */
export class DeliveryLogsBucket extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly encryptionKey: kms.Key;

  constructor(scope: Construct, id: string, props: DeliveryLogsBucketProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.encryptionKey = new kms.Key(this, 'Key', {
      description: 'Gatehouse delivered logs (load balancer access logs, VPC flow logs)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'LogDeliveryEncrypts',
        principals: [new iam.ServicePrincipal('delivery.logs.amazonaws.com')],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      serverAccessLogsBucket: props.serverAccessLogsBucket,
      serverAccessLogsPrefix: 'delivery-logs/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
      reason: 'Operational logs stay in the region the operator chose; versioning keeps overwritten objects. Add a replication rule through the public `bucket` child for a second copy.',
    });
  }
}
