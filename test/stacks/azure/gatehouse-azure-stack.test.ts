import { readFileSync } from 'node:fs';
import { App } from 'cdktf';
import { GatehouseAzureStack } from '../../../stacks/azure/gatehouse-azure-stack';
import { readAzureSettings } from '../../../stacks/azure/settings';
import { Testing } from '../../support/cdktf';
import { checkEmittedConfig } from '../../support/gateway-config';

const context = () => JSON.parse(readFileSync('cdktf.json', 'utf8')).context;

describe('reference stack (stacks/azure)', () => {
  test('synthesizes from cdktf.json with no credentials and no terraform, and passes construct validation', () => {
    const app = Testing.app();
    const stack = new GatehouseAzureStack(app, 'gatehouse-azure', readAzureSettings(context()['gatehouse:azure']));
    expect(Testing.synth(stack, true)).toBeTruthy();
  });

  test('configures the provider for Entra ID storage access and takes the database password as a sensitive variable', () => {
    const json = JSON.parse(Testing.synth(new GatehouseAzureStack(Testing.app(), 's', readAzureSettings(context()['gatehouse:azure']))));
    expect(json.provider.azurerm[0].storage_use_azuread).toBe(true);
    expect(json.variable.database_admin_password).toMatchObject({ sensitive: true, nullable: false });
    expect(JSON.stringify(json)).not.toMatch(/"administrator_password":\s*"[^$]/);
  });

  test('every app gets a configuration the gateway schema accepts (its cloud sink included)', () => {
    const json = JSON.parse(Testing.synth(new GatehouseAzureStack(Testing.app(), 's', readAzureSettings(context()['gatehouse:azure']))));
    for (const app of Object.values(json.resource.azurerm_container_app) as any[]) {
      const env = app.template.container[0].env;
      const { problems, sink } = checkEmittedConfig(env.find((e: any) => e.name === 'GATEHOUSE_CONFIG_YAML').value);
      expect(problems).toEqual([]);
      expect(sink).toEqual({ type: 'azure-blob', endpoint: 'tfvalue', container: 'tfvalue', prefix: 'gatehouse/' });
    }
  });

  test('busyPollMicroseconds reaches every app\'s configuration, which the gateway schema still accepts', () => {
    const settings = readAzureSettings({ ...context()['gatehouse:azure'], busyPollMicroseconds: 1000 });
    const json = JSON.parse(Testing.synth(new GatehouseAzureStack(Testing.app(), 's', settings)));
    for (const app of Object.values(json.resource.azurerm_container_app) as any[]) {
      const yaml: string = app.template.container[0].env.find((e: any) => e.name === 'GATEHOUSE_CONFIG_YAML').value;
      expect(checkEmittedConfig(yaml).problems).toEqual([]);
      expect(yaml).toMatch(/tuning:\n {2}busyPollMicroseconds: 1000/);
    }
  });

  test('template snapshot', () => {
    const stack = new GatehouseAzureStack(Testing.app(), 'gatehouse-azure', readAzureSettings(context()['gatehouse:azure']));
    expect(JSON.parse(Testing.synth(stack))).toMatchSnapshot();
  });

  test('bad settings are reported together', () => {
    expect(() => readAzureSettings({ issuers: [{}], tcpProtocols: ['telnet'], replicas: { min: 'x' }, busyPollMicroseconds: 'fast' })).toThrow(
      /issuers\[0\]: needs name[\s\S]*unknown protocol "telnet"[\s\S]*replicas: expected[\s\S]*busyPollMicroseconds: expected a number/,
    );
  });

  test('the app entry point reads cdktf.json context (the CLI context overrides it)', () => {
    const app = new App({ context: context(), outdir: Testing.app().outdir });
    expect(readAzureSettings(app.node.tryGetContext('gatehouse:azure')).stackName).toBe('gatehouse-azure');
  });
});
