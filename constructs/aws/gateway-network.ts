import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface GatewayNetworkProps {
  /**
   * Availability zones to span (at least two).
   * @default 2
   */
  readonly maxAzs?: number;
  /**
   * NAT gateways for the tasks' egress to upstream APIs and issuers (one per zone survives a zone loss).
   * @default one per availability zone
   */
  readonly natGateways?: number;
  /**
   * Bucket that receives the VPC flow logs.
   * @default a new private, TLS-only bucket
   */
  readonly flowLogsBucket?: s3.IBucket;
}

/**
 * A VPC shaped for the gateway: public subnets only for NAT, private subnets with egress for the
 * tasks and the internal load balancer, isolated subnets for the database, flow logs on, and an
 * S3 gateway endpoint so records never cross the NAT.
 */
export class GatewayNetwork extends Construct {
  public readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string, props: GatewayNetworkProps = {}) {
    super(scope, id);
    const maxAzs = props.maxAzs ?? 2;
    if (maxAzs < 2) throw new Error(`GatewayNetwork: maxAzs must be at least 2 for a highly available gateway, got ${maxAzs}`);
    if (props.natGateways !== undefined && props.natGateways < 1) {
      throw new Error(`GatewayNetwork: natGateways must be at least 1 (the gateway reaches upstream APIs), got ${props.natGateways}`);
    }
    const flowLogsBucket =
      props.flowLogsBucket ??
      new s3.Bucket(this, 'FlowLogs', {
        encryption: s3.BucketEncryption.S3_MANAGED,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforceSSL: true,
        minimumTLSVersion: 1.2,
        versioned: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs,
      natGateways: props.natGateways ?? maxAzs,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      flowLogs: { all: { destination: ec2.FlowLogDestination.toS3(flowLogsBucket, 'vpc/'), trafficType: ec2.FlowLogTrafficType.ALL } },
      gatewayEndpoints: { s3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      restrictDefaultSecurityGroup: true,
    });
    if (!props.flowLogsBucket) {
      Validations.of(flowLogsBucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason: 'This bucket holds only VPC flow logs, written by the log delivery service; it is itself a log destination.',
      });
    }
  }
}
