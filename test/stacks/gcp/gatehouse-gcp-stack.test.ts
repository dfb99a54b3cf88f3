import { readFileSync } from 'node:fs';
import { GatehouseGcpStack } from '../../../stacks/gcp/gatehouse-gcp-stack';
import { readGcpSettings } from '../../../stacks/gcp/settings';
import { Testing } from '../../support/cdktf';
import { checkEmittedConfig } from '../../support/gateway-config';

const settings = () => readGcpSettings(JSON.parse(readFileSync('cdktf.json', 'utf8')).context['gatehouse:gcp']);

describe('reference stack (stacks/gcp)', () => {
  test('synthesizes from cdktf.json with no credentials and no terraform, and passes construct validation', () => {
    expect(Testing.synth(new GatehouseGcpStack(Testing.app(), 'gatehouse-gcp', settings()), true)).toBeTruthy();
  });

  test('the provider is pinned to the configured project and region', () => {
    const json = JSON.parse(Testing.synth(new GatehouseGcpStack(Testing.app(), 's', settings())));
    expect(json.provider.google[0]).toMatchObject({ project: 'my-gatehouse-project', region: 'europe-west1' });
  });

  test('the service gets a configuration the gateway schema accepts (its cloud sink included)', () => {
    const json = JSON.parse(Testing.synth(new GatehouseGcpStack(Testing.app(), 's', settings())));
    const service = Object.values(json.resource.google_cloud_run_v2_service)[0] as any;
    const { problems, sink } = checkEmittedConfig(service.template.containers[0].env[0].value);
    expect(problems).toEqual([]);
    expect(sink).toEqual({ type: 'gcs', bucket: 'tfvalue', prefix: 'gatehouse/' });
  });

  test('busyPollMicroseconds reaches the service configuration, which the gateway schema still accepts', () => {
    const withPolling = readGcpSettings({ ...JSON.parse(readFileSync('cdktf.json', 'utf8')).context['gatehouse:gcp'], busyPollMicroseconds: 1000 });
    const json = JSON.parse(Testing.synth(new GatehouseGcpStack(Testing.app(), 's', withPolling)));
    const yaml: string = (Object.values(json.resource.google_cloud_run_v2_service)[0] as any).template.containers[0].env[0].value;
    expect(checkEmittedConfig(yaml).problems).toEqual([]);
    expect(yaml).toMatch(/tuning:\n {2}busyPollMicroseconds: 1000/);
  });

  test('template snapshot', () => {
    expect(JSON.parse(Testing.synth(new GatehouseGcpStack(Testing.app(), 'gatehouse-gcp', settings())))).toMatchSnapshot();
  });

  test('bad settings are reported together', () => {
    expect(() => readGcpSettings({ connections: [{ name: 1 }], recordRetentionDays: 'x', instances: {}, busyPollMicroseconds: 'fast' })).toThrow(
      /connections\[0\]: needs name and spec[\s\S]*recordRetentionDays: expected a number[\s\S]*instances: expected[\s\S]*busyPollMicroseconds: expected a number/,
    );
  });
});
