import { readFileSync } from 'node:fs';
import { App } from 'cdktf';
import { GatehouseAzureStack } from '../../../stacks/azure/gatehouse-azure-stack';
import { readAzureSettings } from '../../../stacks/azure/settings';
import { Testing } from '../../support/cdktf';
import { BAD_CONNECTION_SPECS, connectionsOfEveryKind } from '../../support/connection-specs';
import { checkEmittedConfig } from '../../support/gateway-config';
import { outputsNotInTable } from '../../support/stack-outputs';

const context = () => JSON.parse(readFileSync('cdktf.json', 'utf8')).context;
const settingsFromFile = () => readAzureSettings(context()['gatehouse:azure']);
const yamlOf = (app: any): string => app.template.container[0].env.find((e: any) => e.name === 'GATEHOUSE_CONFIG_YAML').value;

describe('reference stack (stacks/azure)', () => {
  let json: any;
  beforeAll(() => {
    json = JSON.parse(Testing.synth(new GatehouseAzureStack(Testing.app(), 'gatehouse-azure', settingsFromFile()), true));
  });

  test('synthesizes from cdktf.json with no credentials and no terraform, and passes construct validation', () => {
    expect(json.resource.azurerm_container_app).toBeDefined();
  });

  // azurerm 4.55, internal/services/storage/storage_account_resource.go: with the default
  // `data_plane_available = true` the provider polls the account's blob/queue/file data planes
  // after creation and on every read (waitForDataPlaneToBecomeAvailableForAccount in
  // storage_account_data_plane_helpers.go tolerates connection errors only, not the 403 a private
  // account answers), so the first apply from outside the VNet fails.
  test('every output is named by the shared output table (constructs/core/stack-outputs.ts)', () => {
    const settings = settingsFromFile();
    const outputs = Object.keys(json.output);
    expect(outputsNotInTable('azure', outputs, settings.issuers.map((i) => i.name))).toEqual([]);
    expect(outputs).toEqual(expect.arrayContaining(['gateway_address', 'records', 'signing_key', 'credentials', 'gateway_identity', 'federation_github']));
  });

  test('the provider stays off the storage data plane and uses Entra ID for storage', () => {
    expect(json.provider.azurerm[0].features[0].storage).toEqual([{ data_plane_available: false }]);
    expect(json.provider.azurerm[0].storage_use_azuread).toBe(true);
  });

  test('no password, no secret value and no private key anywhere in the template', () => {
    const text = JSON.stringify(json);
    expect(json.variable).toBeUndefined();
    expect(text).not.toMatch(/administrator_password|PRIVATE KEY|azurerm_key_vault_secret/);
  });

  test('the deployer (the principal running cdktf deploy) may create the keys; the keys wait for it', () => {
    const roles = Object.values(json.resource.azurerm_role_assignment) as any[];
    const deployer = roles.filter((r) => /data\.azurerm_client_config\.client\.object_id/.test(r.principal_id));
    expect(deployer.map((r) => r.role_definition_name).sort()).toEqual(['Key Vault Crypto Officer', 'Key Vault Secrets Officer']);
    for (const key of Object.values(json.resource.azurerm_key_vault_key) as any[]) {
      expect(key.depends_on.filter((d: string) => d.startsWith('azurerm_role_assignment'))).toHaveLength(2);
    }
  });

  test('every app gets a configuration the gateway schema accepts (its cloud sink included)', () => {
    for (const app of Object.values(json.resource.azurerm_container_app) as any[]) {
      const { problems, sink } = checkEmittedConfig(yamlOf(app));
      expect(problems).toEqual([]);
      expect(sink).toEqual({ type: 'azure-blob', endpoint: 'tfvalue', container: 'tfvalue', prefix: 'gatehouse/' });
    }
  });

  test('busyPollMicroseconds reaches every app\'s configuration, which the gateway schema still accepts', () => {
    const settings = readAzureSettings({ ...context()['gatehouse:azure'], busyPollMicroseconds: 1000 });
    const other = JSON.parse(Testing.synth(new GatehouseAzureStack(Testing.app(), 's', settings)));
    for (const app of Object.values(other.resource.azurerm_container_app) as any[]) {
      expect(checkEmittedConfig(yamlOf(app)).problems).toEqual([]);
      expect(yamlOf(app)).toMatch(/tuning:\n {2}busyPollMicroseconds: 1000/);
    }
  });

  test('template snapshot', () => {
    expect(json).toMatchSnapshot();
  });

  test('bad settings are reported together', () => {
    expect(() => readAzureSettings({ issuers: [{}], tcpProtocols: ['telnet'], replicas: { min: 'x' }, busyPollMicroseconds: 'fast' })).toThrow(
      /issuers\[0\]: needs name[\s\S]*unknown protocol "telnet"[\s\S]*replicas: expected[\s\S]*busyPollMicroseconds: expected a number/,
    );
  });

  test('an unknown gatehouse:azure key (a typo, or an old name) is an error, at every level', () => {
    const base = context()['gatehouse:azure'];
    expect(() => readAzureSettings({ ...base, recordRetentionDay: 30 })).toThrow(/gatehouse:azure\.recordRetentionDay: unknown key/);
    expect(() => readAzureSettings({ ...base, issuers: [{ ...base.issuers[0], azureIdentity: { subjects: ['x'] } }] })).toThrow(/issuers\[0\]\.azureIdentity: unknown key/);
    expect(() => readAzureSettings({ ...base, connections: [{ ...base.connections[0], secrte: {} }] })).toThrow(/connections\[0\]\.secrte: unknown key/);
  });

  test('connection specs are checked against the gateway\'s own schema at synth, every problem with its path', () => {
    // Before: only the AWS stack checked them; a bad spec deployed and kept every replica unready.
    const base = context()['gatehouse:azure'];
    const bad = () => readAzureSettings({ ...base, connections: BAD_CONNECTION_SPECS.map(({ name, spec }) => ({ name, spec })) });
    for (const { path } of BAD_CONNECTION_SPECS) expect(bad).toThrow(path);
  });

  test('every connection kind (http, postgres, git, ssh, aws) reaches a configuration the gateway accepts', () => {
    const connections = connectionsOfEveryKind('azure-kv:my-vault/user-held');
    const every = readAzureSettings({ ...context()['gatehouse:azure'], connections, tcpProtocols: ['ssh'], sshHostKey: 'azure-kv:my-vault/ssh-host-key' });
    // Synthesized with validation: the stack checks the apps' document with the gateway's parser.
    const out = JSON.parse(Testing.synth(new GatehouseAzureStack(Testing.app(), 'kinds', every), true));
    for (const app of Object.values(out.resource.azurerm_container_app) as any[]) expect(checkEmittedConfig(yamlOf(app)).problems).toEqual([]);
  });

  test('synth fails on a configuration the gateway would refuse at start, naming the path', () => {
    // Before: these deployed, and no replica ever became ready.
    const base = context()['gatehouse:azure'];
    const synthOf = (over: object) => () => Testing.synth(new GatehouseAzureStack(Testing.app(), 's', readAzureSettings({ ...base, ...over })), true);
    expect(synthOf({ issuers: [] })).toThrow(/gateway configuration: identity\.issuers: at least one trusted issuer is required/);
    expect(synthOf({ tcpProtocols: ['mysql'], tcpTls: { cert: 'azure-kv:v/pg-cert', key: 'azure-kv:v/pg-key' } })).toThrow(/gateway configuration: listeners: Unrecognized key: "mysql"/);
  });

  test('the app entry point reads cdktf.json context (the CLI context overrides it)', () => {
    const app = new App({ context: context(), outdir: Testing.app().outdir });
    expect(readAzureSettings(app.node.tryGetContext('gatehouse:azure')).stackName).toBe('gatehouse-azure');
  });
});
