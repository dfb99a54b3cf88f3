import { Template } from 'aws-cdk-lib/assertions';
import { GatewayNetwork } from '../../../constructs/aws/gateway-network';
import { newStack } from './helpers';

describe('GatewayNetwork', () => {
  test('two zones, flow logs on, an S3 gateway endpoint, NAT per zone, isolated subnets for the database', () => {
    const stack = newStack();
    new GatewayNetwork(stack, 'Net');
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::NatGateway', 2);
    template.resourceCountIs('AWS::EC2::Subnet', 6);
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 's3' });
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
    for (const s of Object.values(template.findResources('AWS::EC2::Subnet')) as any[]) {
      expect(s.Properties.MapPublicIpOnLaunch).not.toBe(true);
    }
  });

  test.each([
    [{ maxAzs: 1 }, /at least 2/],
    [{ natGateways: 0 }, /at least 1/],
  ])('refuses %j', (props, message) => {
    expect(() => new GatewayNetwork(newStack(), 'N', props)).toThrow(message);
  });
});
