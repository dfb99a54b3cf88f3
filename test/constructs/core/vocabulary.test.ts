import { readFileSync, readdirSync } from 'node:fs';
import ts from 'typescript';
import { SETTING_KEYS as AWS_SETTING_KEYS } from '../../../stacks/aws/settings';
import { AZURE_SETTING_KEYS } from '../../../stacks/azure/settings';
import { GCP_SETTING_KEYS } from '../../../stacks/gcp/settings';
import { STACK_OUTPUTS, cfnOutputId, terraformOutputName } from '../../../constructs/core/stack-outputs';

/**
 * One vocabulary across clouds (issue 17, point 8): the table at the top of
 * constructs/core/gatehouse-props.ts lists every prop and public child of the three `Gatehouse`
 * constructs, one name per concept. This reads the three constructs' sources with the TypeScript
 * parser (syntax only: fast, and no cloud library is loaded) and fails when a cloud has a prop or
 * child the table does not list for it, or lacks one the table says it has; so naming a concept
 * differently on one cloud fails here until the table says so in a row of its own.
 */
const clouds = ['aws', 'azure', 'gcp'] as const;
type Cloud = (typeof clouds)[number];

const CORE = 'constructs/core/gatehouse-props.ts';
const parse = (path: string) => ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);

interface Row { concept: string; props: string[]; children: string[]; on: Record<Cloud, boolean> }

function tableRows(): Row[] {
  const lines = readFileSync(CORE, 'utf8').split('\n').map((l) => l.replace(/^\s*\*\s?/, ''))
    .filter((l) => l.startsWith('|') && !/^\|\s*-/.test(l) && !l.startsWith('| concept |'));
  const names = (cell: string) => [...cell.matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]!);
  return lines.map((line) => {
    const cells = line.replace(/^\|/, '').replace(/\|\s*$/, '').split('|').map((c) => c.trim());
    if (cells.length !== 6) throw new Error(`vocabulary table: expected 6 cells, got ${cells.length} in "${line}"`);
    const [concept, props, children, aws, azure, gcp] = cells;
    const mark = (c: string | undefined) => {
      if (c !== '✓' && c !== '—') throw new Error(`vocabulary table row "${concept}": expected ✓ or — per cloud, got "${c}"`);
      return c === '✓';
    };
    return { concept: concept!, props: names(props ?? ''), children: names(children ?? ''), on: { aws: mark(aws), azure: mark(azure), gcp: mark(gcp) } };
  });
}

function interfaceOf(file: ts.SourceFile, name: string): ts.InterfaceDeclaration {
  const found = file.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
  if (!found) throw new Error(`${file.fileName}: no interface ${name}`);
  return found;
}

const memberNames = (decl: ts.InterfaceDeclaration) =>
  decl.members.filter(ts.isPropertySignature).map((m) => (m.name as ts.Identifier).text);
const heritage = (decl: ts.InterfaceDeclaration) =>
  (decl.heritageClauses ?? []).flatMap((h) => h.types.map((t) => t.expression.getText()));

const baseProps = memberNames(interfaceOf(parse(CORE), 'GatehouseBaseProps'));

function propsOf(cloud: Cloud): string[] {
  const decl = interfaceOf(parse(`constructs/${cloud}/gatehouse.ts`), 'GatehouseProps');
  expect(heritage(decl)).toEqual(['GatehouseBaseProps']);
  return [...new Set([...baseProps, ...memberNames(decl)])].sort();
}

function childrenOf(cloud: Cloud): string[] {
  const file = parse(`constructs/${cloud}/gatehouse.ts`);
  const cls = file.statements.find((s): s is ts.ClassDeclaration => ts.isClassDeclaration(s) && s.name?.text === 'Gatehouse')!;
  const hidden = (m: ts.PropertyDeclaration) => (ts.getModifiers(m) ?? []).some((k) => k.kind === ts.SyntaxKind.PrivateKeyword || k.kind === ts.SyntaxKind.ProtectedKeyword);
  return cls.members.filter(ts.isPropertyDeclaration).filter((m) => !hidden(m)).map((m) => (m.name as ts.Identifier).text).sort();
}

const rows = tableRows();
const listed = (cloud: Cloud, what: 'props' | 'children') => rows.filter((r) => r.on[cloud]).flatMap((r) => r[what]);

test('the table parses, and no name stands for two concepts on one cloud', () => {
  expect(rows.length).toBeGreaterThanOrEqual(20);
  for (const cloud of clouds) {
    for (const what of ['props', 'children'] as const) {
      const names = listed(cloud, what);
      expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    }
  }
});

test.each(clouds)('every prop of the %s Gatehouse is in the table for that cloud, and every prop the table lists for it exists', (cloud) => {
  expect(propsOf(cloud)).toEqual([...listed(cloud, 'props')].sort());
});

test.each(clouds)('every public child of the %s Gatehouse is in the table for that cloud, and every child the table lists for it exists', (cloud) => {
  expect(childrenOf(cloud)).toEqual([...listed(cloud, 'children')].sort());
});

test('the concepts issue 17 found named three ways have one name on all three clouds', () => {
  const props = ['issuers', 'connections', 'recordRetentionDays', 'replicas', 'size', 'clientCidrs', 'logRetentionDays', 'alarmEmail', 'image',
    'network', 'existingNetwork', 'database', 'existingDatabase', 'tcpProtocols', 'sshHostKey', 'tcpTls'];
  const children = ['records', 'federations', 'credentials', 'alarms', 'signingKey', 'stateBootstrap', 'gatewayIdentity', 'gateway', 'network', 'database', 'config',
    'recordsKey', 'stateKey'];
  for (const cloud of clouds) {
    expect(props.filter((p) => !propsOf(cloud).includes(p))).toEqual([]);
    expect(children.filter((c) => !childrenOf(cloud).includes(c))).toEqual([]);
  }
});

test.each(clouds)('the %s kit\'s created network and database and its existing database extend the core bases', (cloud) => {
  const file = parse(`constructs/${cloud}/gatehouse.ts`);
  expect(heritage(interfaceOf(file, 'GatehouseNetwork'))).toEqual(['GatehouseNetworkBase']);
  expect(heritage(interfaceOf(file, 'GatehouseDatabase'))).toEqual(['GatehouseDatabaseBase']);
  // AWS adds fields (security group, port, CA); Azure and Google Cloud use the base as it is.
  const existing = file.statements.find((s) => (ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s)) && s.name.text === 'ExistingDatabase')!;
  expect(existing.getText()).toMatch(/ExistingDatabaseBase</);
});

/** Settings a reference stack reads that are not a construct prop: where the stack itself goes. */
const STACK_ONLY: Record<Cloud, readonly string[]> = {
  aws: ['stackName', 'account', 'region'],
  azure: ['stackName', 'location', 'resourceGroupName', 'subscriptionId'],
  gcp: ['stackName'],
};
const SETTINGS: Record<Cloud, readonly string[]> = { aws: AWS_SETTING_KEYS, azure: AZURE_SETTING_KEYS, gcp: GCP_SETTING_KEYS };

test.each(clouds)('every setting of the %s reference stack is named as the prop it feeds', (cloud) => {
  const props = propsOf(cloud);
  expect(SETTINGS[cloud].filter((k) => !props.includes(k) && !STACK_ONLY[cloud].includes(k))).toEqual([]);
});

test('the guides use the shared names: retired ones appear only where a rename is explained', () => {
  const retired = ['vpcCidr', 'databaseCapacity', 'databaseTier', 'existingDatabaseUrlSecret', 'GatewayAlerts', 'imageUri', 'certificateArn', 'clientPeers', 'oidcProviderArn', 'secretArn`'];
  const guides = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  expect(guides).toEqual(expect.arrayContaining(['docs/aws.md', 'docs/azure.md', 'docs/gcp.md', 'docs/deployment.md']));
  const found = guides.flatMap((path) => {
    // A rename note may wrap over lines: the paragraph that says "renamed" is exempt.
    const paragraphs = readFileSync(path, 'utf8').split(/\n\s*\n/).filter((p) => !/\brenamed\b/.test(p));
    return retired.filter((name) => paragraphs.some((p) => p.includes(name))).map((name) => `${path}: ${name}`);
  });
  expect(found).toEqual([]);
});

/**
 * Outputs (issue 17, point 8): constructs/core/stack-outputs.ts names each concept once; the three
 * reference stacks name every output through it (here, from their sources; the stack tests check
 * the synthesized outputs against the table). So a concept on several clouds has one name.
 */
const STACK_SOURCES: Record<Cloud, string> = {
  aws: 'stacks/aws/gatehouse-stack.ts', azure: 'stacks/azure/gatehouse-azure-stack.ts', gcp: 'stacks/gcp/gatehouse-gcp-stack.ts',
};

function outputConcepts(cloud: Cloud): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isNewExpression(node) && /^(CfnOutput|TerraformOutput)$/.test(node.expression.getText())) {
      const id = node.arguments?.[1];
      // Only `out('<concept>'[, name])`: a literal id would bypass the table.
      if (!id || !ts.isCallExpression(id) || id.expression.getText() !== 'out' || !ts.isStringLiteral(id.arguments[0]!)) {
        throw new Error(`${STACK_SOURCES[cloud]}: output id ${id?.getText()} is not out('<concept>')`);
      }
      found.push(`${id.arguments[0].text}${id.arguments.length > 1 ? '*' : ''}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(parse(STACK_SOURCES[cloud]));
  return found;
}

test.each(clouds)('every output of the %s reference stack is named through the output table, with the shape the table gives it', (cloud) => {
  const used = outputConcepts(cloud);
  expect(used.length).toBeGreaterThanOrEqual(5);
  const table = STACK_OUTPUTS as Record<string, { on: Partial<Record<Cloud, string>> }>;
  const expected = Object.entries(table).filter(([, c]) => c.on[cloud]).map(([k, c]) => `${k}${c.on[cloud] === 'perName' ? '*' : ''}`);
  expect([...used].sort()).toEqual(expected.sort());
});

test('the output table derives one CloudFormation id and one Terraform name per concept, the same words in both', () => {
  const concepts = Object.keys(STACK_OUTPUTS) as (keyof typeof STACK_OUTPUTS)[];
  expect(concepts).toEqual(expect.arrayContaining(['gatewayAddress', 'signingKey', 'records', 'federation', 'credentials', 'gatewayIdentity', 'stateBootstrap']));
  const cfn = concepts.map((c) => cfnOutputId(c));
  const tf = concepts.map((c) => terraformOutputName(c));
  expect(new Set(cfn).size).toBe(concepts.length);
  expect(new Set(tf).size).toBe(concepts.length);
  for (const id of cfn) expect(id).toMatch(/^[A-Z][A-Za-z0-9]*$/);
  for (const name of tf) expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
  expect(cfn.map((c) => c.toLowerCase())).toEqual(tf.map((t) => t.replace(/_/g, '')));
  expect([cfnOutputId('gatewayAddress'), terraformOutputName('gatewayAddress')]).toEqual(['GatewayAddress', 'gateway_address']);
  expect([cfnOutputId('federation', 'ci-runner'), terraformOutputName('federation', 'ci-runner')]).toEqual(['FederationCiRunner', 'federation_ci_runner']);
});

test('the guides name no retired output', () => {
  const retired = ['GatewayDnsName', 'SigningKeyArn', 'CredentialSecret', 'FederationRole-', 'FederationRole<', 'gateway_fqdn', 'admin_fqdn', 'record_container',
    'key_vault_name', 'signing_key_id', 'gateway_identity_client_id', 'database_fqdn', 'state_bootstrap_job', 'federated_client_id', 'gateway_uri',
    'gateway_service_account', 'record_bucket', 'secrets_to_fill', 'database_private_ip', 'federation_provider', 'image_build_service_account'];
  const guides = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const found = guides.flatMap((path) => {
    const text = readFileSync(path, 'utf8');
    return retired.filter((name) => text.includes(name)).map((name) => `${path}: ${name}`);
  });
  expect(found).toEqual([]);
});
