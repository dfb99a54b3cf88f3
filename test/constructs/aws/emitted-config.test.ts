import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Gatehouse } from '../../../constructs/aws/gatehouse';
import { parseConfig } from '../../../gateway/src/config/load';
import { IMAGE_FIXTURE, newStack, testCertificate } from './helpers';

/**
 * The configuration the AWS kit hands the gateway passes the gateway's own parser (schema and
 * cross-field rules, e.g. state.iamAuth aws-rds with verify-full and no password), as the gateway
 * will read it at its first start. Values known only at deploy time are CDK tokens in the rendered
 * YAML; each becomes a placeholder host name.
 */
test('the emitted gateway configuration is one the gateway accepts', () => {
  const stack = newStack();
  const gatehouse = new Gatehouse(stack, 'G', {
    certificate: testCertificate(stack),
    imageDirectory: IMAGE_FIXTURE,
    issuers: [{ name: 'github', issuer: 'https://token.actions.githubusercontent.com', audiences: ['gatehouse'], options: { kind: 'workload' } }],
    connections: [
      { name: 'anthropic', spec: { kind: 'http', upstream: 'https://api.anthropic.com', route: { pathPrefix: '/anthropic' }, credential: { type: 'bearer' } } },
      {
        name: 's3', spec: {
          kind: 'aws', service: 's3', region: 'eu-west-1', route: { pathPrefix: '/aws/s3' },
          callerCredentials: { keys: 'aws-sm:arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse-aws-keys-AbCdEf' },
          brokered: { roleArn: 'arn:aws:iam::210987654321:role/agents-s3-read' },
        },
      },
    ],
  });
  const yaml = String((gatehouse.gateway.configParameter.node.defaultChild as ssm.CfnParameter).value);
  expect(yaml).toMatch(/iamAuth: aws-rds/);
  const text = yaml.replace(/\$\{Token\[[^\]]+\]\}/g, 'cdkvalue');
  const result = parseConfig(text);
  expect(result.ok ? [] : result.problems).toEqual([]);
});
