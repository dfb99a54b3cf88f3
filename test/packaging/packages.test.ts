import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The kit as a platform team installs it (issue 17, point 5): the three workspaces are packed
 * with `npm pack` (their `prepack` builds them), installed from the tarballs into projects
 * outside the repository, and used there as a library:
 * - a CDK app and two CDKTF apps of the consumer's own compose `@gatehouse/aws-cdk`,
 *   `@gatehouse/cdktf/azure` and `@gatehouse/cdktf/gcp`, type-check against the published
 *   declarations, and synthesize;
 * - `@gatehouse/gateway` alone installs no cloud library and runs its `gatehouse` bin.
 * The cloud libraries are the consumer's own (peer dependencies): here they are links to the
 * repository's copies, so the test installs from the npm cache only what the packages declare.
 */
const execRaw = promisify(execFile);
// A failing step reports what it printed (tsc writes its errors to stdout).
const exec = async (file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ stdout: string; stderr: string }> => {
  try {
    return await execRaw(file, args, { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', ...options });
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
};
const root = join(new URL('.', import.meta.url).pathname, '../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');
// Nested npm commands must not inherit this run's npm_* settings (npm test sets the prefix), and
// the gatehouse command does not run its CLI inside a jest worker.
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_') && k !== 'JEST_WORKER_ID'),
);
const npm = (args: string[], cwd: string) => exec('npm', args, { cwd, env });
const node = (args: string[], cwd: string) => exec(process.execPath, args, { cwd, env });
const INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'];
// The kit consumer's own libraries (and its Node types, as any TypeScript project has them).
const PEERS = ['aws-cdk-lib', 'constructs', 'cdktf', '@cdktf/provider-azurerm', '@cdktf/provider-google', '@types/node'];

const writeFiles = (dir: string, files: Record<string, string>) => {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
};
/** Promise.all that waits for every step: a failing one must not leave others writing while afterAll cleans up. */
const all = async <T>(steps: Promise<T>[]): Promise<T[]> => {
  const settled = await Promise.allSettled(steps);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
};
const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

const AWS_APP = `
import { App, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Gatehouse, type GatehouseProps } from '@gatehouse/aws-cdk';
import { HEALTH_CHECK } from '@gatehouse/aws-cdk/core';

// The feature flags \`cdk init\` writes into a new project's cdk.json.
const app = new App({ outdir: process.argv[2], context: cxapi.CURRENTLY_RECOMMENDED_FLAGS });
const stack = new Stack(app, 'PlatformStack', { env: { account: '111111111111', region: 'eu-west-1' } });
// No image: cdk builds it from the installed @gatehouse/gateway package (its Dockerfile and dist/).
const props: GatehouseProps = {
  certificate: acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:eu-west-1:111111111111:certificate/11111111-1111-1111-1111-111111111111'),
};
const gatehouse = new Gatehouse(stack, 'Gatehouse', props);
// The children are the consumer's escape hatch.
gatehouse.gateway.service.node.addMetadata('platform-team', 'composed');
app.synth();
console.log(JSON.stringify({ healthPort: HEALTH_CHECK.port }));
`;

const AZURE_APP = `
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { App, TerraformStack } from 'cdktf';
import { Gatehouse, type GatehouseProps } from '@gatehouse/cdktf/azure';

const app = new App({ outdir: process.argv[2] });
const stack = new TerraformStack(app, 'platform-azure');
new AzurermProvider(stack, 'azurerm', { features: [{}] });
const group = { id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/platform', name: 'platform', location: 'westeurope' };
const props: GatehouseProps = {
  resourceGroup: group,
  tenantId: '00000000-0000-0000-0000-000000000000',
  image: 'platform.azurecr.io/gatehouse:0.1.0',
  registry: { server: 'platform.azurecr.io' },
  existingDatabase: { secret: 'platform-state-url' },
  deployerCidrs: ['203.0.113.7/32'],
};
new Gatehouse(stack, 'gatehouse', props);
app.synth();
// A subpath loads only its own cloud's provider, and only the resources it uses (deep paths, never
// the provider's root index, which costs seconds and hundreds of MB to load).
const loaded = Object.keys(require.cache);
console.log(JSON.stringify({ loaded: loaded.filter((f) => f.includes('provider-google')).length, rootIndex: loaded.some((f) => f.endsWith('/provider-azurerm/lib/index.js')) }));
`;

const GCP_APP = `
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { App, TerraformStack } from 'cdktf';
import { Gatehouse, GoogleBetaProvider, type GatehouseProps } from '@gatehouse/cdktf/gcp';

const app = new App({ outdir: process.argv[2] });
const stack = new TerraformStack(app, 'platform-gcp');
new GoogleProvider(stack, 'google', { project: 'platform-project', region: 'europe-west1' });
new GoogleBetaProvider(stack, 'google-beta', { project: 'platform-project', region: 'europe-west1' });
const props: GatehouseProps = {
  project: 'platform-project',
  region: 'europe-west1',
  image: 'europe-docker.pkg.dev/platform-project/gatehouse/gateway:0.1.0',
  recordBucketName: 'platform-project-records',
};
new Gatehouse(stack, 'gatehouse', props);
app.synth();
const loaded = Object.keys(require.cache);
console.log(JSON.stringify({ loaded: loaded.filter((f) => f.includes('provider-azurerm')).length, rootIndex: loaded.some((f) => f.endsWith('/provider-google/lib/index.js')) }));
`;

const GATEWAY_USE = `
import { checkConfig, ERROR_CODES, VERSION, type ConfigCheck } from '@gatehouse/gateway';

const bad: ConfigCheck = checkConfig('listeners:\\n  http: { port: "x" }\\n');
const good: ConfigCheck = checkConfig('mode: development\\nidentity:\\n  devIssuer: { enabled: true }\\n');
console.log(JSON.stringify({ version: VERSION, bad: bad.problems.map((p) => p.path), good: good.ok, code: ERROR_CODES.GH_ERR_CONFIG_INVALID }));
`;

const CONSUMER_TSCONFIG = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'node16', moduleResolution: 'node16', strict: true, outDir: 'out', types: [], skipLibCheck: true, ...extra },
    include: ['src'],
  });

describe('the packages, installed outside the repository', () => {
  let work: string;
  let tarballs: Record<string, string>;
  let kit: string;
  let gw: string;
  const out: Record<string, string> = {};

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'gh-packages-'));
    const packed = join(work, 'tarballs');
    mkdirSync(packed);
    // Each `npm pack` runs its package's prepack (tsc for the constructs, esbuild + declarations for the gateway).
    await all(['gateway', 'constructs/aws', 'constructs/cdktf'].map((w) => npm(['pack', '--workspace', w, '--pack-destination', packed], root)));
    tarballs = Object.fromEntries(readdirSync(packed).map((f) => [f.replace(/-\d+\.\d+\.\d+\.tgz$/, ''), join(packed, f)]));

    kit = join(work, 'platform-kit');
    writeFiles(kit, {
      'package.json': JSON.stringify({
        name: 'platform-kit',
        private: true,
        dependencies: {
          '@gatehouse/aws-cdk': `file:${tarballs['gatehouse-aws-cdk']}`,
          '@gatehouse/cdktf': `file:${tarballs['gatehouse-cdktf']}`,
          // The image the AWS app builds when it names none.
          '@gatehouse/gateway': `file:${tarballs['gatehouse-gateway']}`,
        },
      }),
      // No skipLibCheck: the published declarations must stand on their own, and typed props (no casts) catch a missing one.
      'tsconfig.json': CONSUMER_TSCONFIG({ types: ['node'], skipLibCheck: false }),
      'src/aws.ts': AWS_APP,
      'src/azure.ts': AZURE_APP,
      'src/gcp.ts': GCP_APP,
    });
    gw = join(work, 'gateway-only');
    writeFiles(gw, {
      'package.json': JSON.stringify({ name: 'gateway-only', private: true, type: 'module', dependencies: { '@gatehouse/gateway': `file:${tarballs['gatehouse-gateway']}` } }),
      // No skipLibCheck: the published declarations must stand on their own.
      'tsconfig.json': CONSUMER_TSCONFIG({ skipLibCheck: false }),
      'src/use.ts': GATEWAY_USE,
    });
    // Peers are the consumer's to install; --legacy-peer-deps keeps npm from fetching them.
    await all([npm([...INSTALL, '--legacy-peer-deps'], kit), npm(INSTALL, gw)]);
    for (const peer of PEERS) {
      mkdirSync(dirname(join(kit, 'node_modules', peer)), { recursive: true });
      symlinkSync(realpathSync(join(root, 'node_modules', peer)), join(kit, 'node_modules', peer), 'dir');
    }
    await all([node([tsc, '-p', kit], kit), node([tsc, '-p', gw], gw)]);
    const results = await all(['aws', 'azure', 'gcp'].map((app) => node([join(kit, 'out', `${app}.js`), join(work, `${app}.out`)], kit)));
    ['aws', 'azure', 'gcp'].forEach((app, i) => (out[app] = results[i]!.stdout));
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true, maxRetries: 3 });
  });

  test('the construct packages ship compiled JavaScript and declarations only, with the cloud libraries as peers', () => {
    const aws = manifest(join(kit, 'node_modules/@gatehouse/aws-cdk'));
    const cdktf = manifest(join(kit, 'node_modules/@gatehouse/cdktf'));
    expect(Object.keys(aws.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(Object.keys(cdktf.peerDependencies).sort()).toEqual(['@cdktf/provider-azurerm', '@cdktf/provider-google', 'cdktf', 'constructs']);
    // yaml renders the gateway configuration; zod types the connection specs (the gateway's schema).
    for (const pkg of [aws, cdktf]) expect(Object.keys(pkg.dependencies ?? {})).toEqual(['yaml', 'zod']);
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
    const shipped = ['aws-cdk', 'cdktf'].flatMap((p) => files(join(kit, 'node_modules/@gatehouse', p))).map((f) => f.slice(kit.length));
    expect(shipped.filter((f) => !/\.(js|d\.ts)$/.test(f) && !f.endsWith('package.json'))).toEqual([]);
    expect(shipped).toContain('/node_modules/@gatehouse/cdktf/build/constructs/azure/gatehouse.d.ts');
    expect(shipped).toContain('/node_modules/@gatehouse/aws-cdk/build/constructs/core/gateway-config.js');
  });

  test("the consumer's CDK app composes @gatehouse/aws-cdk and synthesizes the ECS service", () => {
    const template = JSON.parse(readFileSync(join(work, 'aws.out/PlatformStack.template.json'), 'utf8'));
    const types = Object.values(template.Resources as Record<string, { Type: string }>).map((r) => r.Type);
    expect(types).toContain('AWS::ECS::Service');
    expect(types).toContain('AWS::ElasticLoadBalancingV2::LoadBalancer');
    expect(JSON.parse(out.aws!)).toEqual({ healthPort: 9090 });
  });

  test("with no image, the consumer's CDK app builds the installed @gatehouse/gateway package (its Dockerfile and bundle)", () => {
    const assets = JSON.parse(readFileSync(join(work, 'aws.out/PlatformStack.assets.json'), 'utf8'));
    const images = Object.values(assets.dockerImages as Record<string, { source: { directory: string; dockerFile?: string } }>);
    expect(images).toHaveLength(1);
    expect(images[0]!.source.dockerFile ?? 'Dockerfile').toBe('Dockerfile');
    const staged = join(work, 'aws.out', images[0]!.source.directory);
    expect(readdirSync(staged).sort()).toEqual(['Dockerfile', 'dist']);
    expect(readdirSync(join(staged, 'dist'))).toContain('gateway.mjs');
  });

  test("the consumer's CDKTF apps compose @gatehouse/cdktf/azure and /gcp, each loading only its own provider, by deep path", () => {
    const azure = JSON.parse(readFileSync(join(work, 'azure.out/stacks/platform-azure/cdk.tf.json'), 'utf8'));
    const gcp = JSON.parse(readFileSync(join(work, 'gcp.out/stacks/platform-gcp/cdk.tf.json'), 'utf8'));
    expect(Object.keys(azure.resource.azurerm_container_app ?? {})).not.toHaveLength(0);
    expect(Object.keys(gcp.resource.google_cloud_run_v2_service ?? {})).not.toHaveLength(0);
    expect(JSON.parse(out.azure!)).toEqual({ loaded: 0, rootIndex: false });
    expect(JSON.parse(out.gcp!)).toEqual({ loaded: 0, rootIndex: false });
  });

  test('@gatehouse/gateway alone installs no cloud library and no dependency at all', async () => {
    const pkg = manifest(join(gw, 'node_modules/@gatehouse/gateway'));
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.peerDependencies ?? {}).toEqual({});
    const { stdout } = await npm(['ls', '--all', '--json'], gw);
    expect(JSON.parse(stdout).dependencies).toEqual({ '@gatehouse/gateway': expect.objectContaining({ version: expect.any(String) }) });
    expect(JSON.parse(stdout).dependencies['@gatehouse/gateway'].dependencies).toBeUndefined();
    expect(readdirSync(join(gw, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['@gatehouse']);
  });

  test('its bin runs the gatehouse command and its exports resolve to the public API with types', async () => {
    const help = await exec(join(gw, 'node_modules/.bin/gatehouse'), ['--help'], { cwd: gw, env });
    expect(help.stdout).toMatch(/^gatehouse \d+\.\d+\.\d+ /);
    // The second bin, the shell fast path of `gatehouse token`, is installed runnable.
    const helper = await execRaw(join(gw, 'node_modules/.bin/gatehouse-token'), ['--min-valid', 'soon'], { cwd: gw, env, encoding: 'utf8' }).catch((e: { code?: number; stderr?: string }) => e);
    expect(helper).toMatchObject({ code: 2, stderr: expect.stringContaining('--min-valid takes a whole number of seconds') });
    const used = JSON.parse((await node([join(gw, 'out/use.js')], gw)).stdout);
    expect(used).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), bad: ['listeners.http.port'], good: true, code: 500 });
  });
});
