import { RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface GatewayNetworkProps {
  /**
   * The VPC's address range (a /16 to /20: it holds a /24 public, a /22 private and a /24
   * isolated subnet per zone).
   * @default '10.0.0.0/16'
   */
  readonly cidr?: string;
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
    if (props.cidr !== undefined && !Token.isUnresolved(props.cidr)) {
      const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(props.cidr);
      const mask = match ? Number(match[5]) : NaN;
      if (!match || match.slice(1, 5).some((o) => Number(o) > 255) || mask < 16 || mask > 20) {
        throw new Error(`GatewayNetwork: cidr must be an IPv4 block from /16 to /20 (e.g. "10.20.0.0/16"), got "${props.cidr}"`);
      }
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
      ...(props.cidr !== undefined ? { ipAddresses: ec2.IpAddresses.cidr(props.cidr) } : {}),
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
    for (const subnet of this.vpc.publicSubnets) {
      const route = subnet.node.tryFindChild('DefaultRoute');
      if (!route) continue;
      Validations.of(route).acknowledge({
        id: 'NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW',
        reason: 'Only the public subnets route to the internet gateway, and they hold only the NAT gateways (no public IPs on launch); tasks, load balancer and database sit in private and isolated subnets.',
      });
    }
    if (!props.flowLogsBucket) {
      Validations.of(flowLogsBucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason: 'This bucket holds only VPC flow logs, written by the log delivery service; it is itself a log destination.',
      });
    }
  }
}
