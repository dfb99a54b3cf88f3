import { Match, Template } from 'aws-cdk-lib/assertions';
import { GatewayAlarms } from '../../../constructs/aws/gateway-alarms';
import { GatewayService } from '../../../constructs/aws/gateway-service';
import { IMAGE_FIXTURE, newStack, testCertificate, testVpc } from './helpers';

function build(props = {}) {
  const stack = newStack();
  const gateway = new GatewayService(stack, 'Gateway', { vpc: testVpc(stack), certificate: testCertificate(stack), imageDirectory: IMAGE_FIXTURE });
  const alarms = new GatewayAlarms(stack, 'Alarms', { gateway, ...props });
  return { alarms, template: Template.fromStack(stack) };
}

describe('GatewayAlarms', () => {
  test('alarms on unhealthy targets, running tasks below the floor, 5xx rate and recording failures, all notifying an encrypted topic', () => {
    const { template } = build();
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[];
    expect(alarms).toHaveLength(4);
    const byMetric = (name: string) => alarms.find((a) => JSON.stringify(a.Properties).includes(name));
    expect(byMetric('UnHealthyHostCount').Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(byMetric('RunningTaskCount').Properties).toMatchObject({ Threshold: 2, ComparisonOperator: 'LessThanThreshold' });
    expect(byMetric('HttpServerErrors').Properties).toMatchObject({ Threshold: 5 });
    expect(byMetric('RecordingFailures').Properties).toMatchObject({ Threshold: 0, EvaluationPeriods: 1 });
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlarmsTopic/) }]);
    }
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('TopicKey'), 'Arn'] } });
  });

  test('metric filters read the gateway log: 5xx status and GH_ERR_RECORDING_* codes', () => {
    const patterns = (Object.values(build().template.findResources('AWS::Logs::MetricFilter')) as any[]).map((f) => f.Properties.FilterPattern);
    expect(patterns.sort()).toEqual(['{ $.code = "GH_ERR_RECORDING_*" }', '{ $.status = * }', '{ $.status >= 500 }']);
  });

  test('refuses a 5xx threshold outside (0, 100]', () => {
    expect(() => build({ serverErrorPercent: 0 })).toThrow(/serverErrorPercent/);
  });
});
