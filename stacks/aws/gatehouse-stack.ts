import { Annotations, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { Gatehouse } from '../../constructs/aws/index'; // the sources: a directory import would follow constructs/aws/package.json to its compiled build
import { cfnOutputId as out } from '../../constructs/core/stack-outputs';
import { emittedConfigProblems } from '../gateway-config-check';
import { PLACEHOLDER_CERTIFICATE_ARN, type ReferenceSettings } from './settings';

export interface GatehouseStackProps extends StackProps {
  readonly settings: ReferenceSettings;
  /**
   * Overrides the image (tests pass a fixture directory so the template does not change with
   * every gateway build).
   * @default `settings.image` if set, else built from `gateway/Dockerfile` in the working directory
   */
  readonly imageDirectory?: string;
}

/** The reference deployment: one Gatehouse with everything it needs, configured from context. */
export class GatehouseStack extends Stack {
  public readonly gatehouse: Gatehouse;

  constructor(scope: Construct, id: string, props: GatehouseStackProps) {
    super(scope, id, props);
    const s = props.settings;
    if (s.certificate === PLACEHOLDER_CERTIFICATE_ARN) {
      Annotations.of(this).addWarningV2(
        'gatehouse:placeholder-certificate',
        'gatehouse:certificate is the placeholder; set your ACM certificate ARN before `cdk deploy` (see docs/aws.md)',
      );
    }
    this.gatehouse = new Gatehouse(this, 'Gatehouse', {
      certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', s.certificate),
      issuers: s.issuers.map((i) => ({
        ...i,
        federation: i.federation && {
          subjects: i.federation.subjects,
          audiences: i.federation.audiences,
          oidcProvider: i.federation.oidcProvider
            ? iam.OidcProviderNative.fromOidcProviderArn(this, `OidcProvider-${i.name}`, i.federation.oidcProvider)
            : undefined,
        },
      })),
      connections: s.connections.map((c) => ({
        name: c.name,
        spec: c.spec,
        secret: c.secret ? secretsmanager.Secret.fromSecretCompleteArn(this, `Secret-${c.name}`, c.secret) : undefined,
      })),
      recordRetentionDays: s.recordRetentionDays,
      replicas: s.replicas,
      size: s.size,
      database: s.database,
      tcpProtocols: s.tcpProtocols,
      sshHostKey: s.sshHostKey,
      tcpTls: s.tcpTls,
      clientCidrs: s.clientCidrs,
      alarmEmail: s.alarmEmail,
      busyPollMicroseconds: s.busyPollMicroseconds,
      logRetentionDays: s.logRetentionDays,
      network: s.network,
      cpuArchitecture: s.cpuArchitecture === 'ARM64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
      deletionProtection: s.deletionProtection,
      recordingMode: s.recordingMode,
      adminGroups: s.adminGroups,
      domain: s.domain
        ? {
          domainName: s.domain.domainName,
          hostedZone: route53.PrivateHostedZone.fromHostedZoneAttributes(this, 'HostedZone', { hostedZoneId: s.domain.hostedZoneId, zoneName: s.domain.hostedZoneName }),
        }
        : undefined,
      image: s.image ? ecs.ContainerImage.fromRegistry(s.image) : undefined,
      imageDirectory: s.image ? undefined : props.imageDirectory,
    });

    // The document the tasks run with, checked by the gateway's own parser at synth: one it refuses
    // would deploy, then keep every task from ever becoming healthy.
    const configYaml = String((this.gatehouse.gateway.configParameter.node.defaultChild as ssm.CfnParameter).value);
    this.node.addValidation({ validate: () => emittedConfigProblems(configYaml).map((p) => `gateway configuration: ${p}`) });

    new CfnOutput(this, out('gatewayAddress'), {
      description: 'Internal load balancer: HTTP on 443, admin on 9443 (point a private DNS name at it)',
      value: this.gatehouse.gateway.dnsName,
    });
    new CfnOutput(this, out('records'), { value: this.gatehouse.records.bucket.bucketName });
    new CfnOutput(this, out('signingKey'), { value: this.gatehouse.signingKey.key.keyArn });
    new CfnOutput(this, out('gatewayIdentity'), { description: 'The task role the gateway runs as (for grants you add)', value: this.gatehouse.gatewayIdentity.roleArn });
    for (const [name, secret] of this.gatehouse.credentials.secrets) {
      new CfnOutput(this, out('credentials', name), { description: `Put the credential of connection "${name}" here`, value: secret.secretArn });
    }
    for (const [name, federation] of this.gatehouse.federations) {
      new CfnOutput(this, out('federation', name), { value: federation.role.roleArn });
    }
  }
}
