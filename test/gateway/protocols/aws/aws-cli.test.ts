import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stop as stopEsbuild } from 'esbuild';
import S3rver from 's3rver';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { setupCommand } from '../../../../gateway/src/cli/commands/setup';
import { startAwsFront, startStsStandIn, type AwsFront, type StsStandIn } from '../../../support/aws-front';
import { buildGatewayBundle } from '../../../support/gateway-process';
import { readEvents } from '../../../support/pg-gateway';
import { startTestGateway, type TestGateway } from '../../../support/gateway';
import { startTestIssuer, type TestIssuer } from '../../../support/oidc-issuer';

/**
 * The real AWS CLI (Debian's awscli, installed by .ci/run) through the whole gateway, configured
 * the way a user configures it: `gatehouse setup aws` writes the profile whose
 * `credential_process` is `gatehouse aws-credentials` (the bundle, run with node). S3 calls go to
 * s3rver and DynamoDB calls to dynalite, each behind a front that verifies the gateway's re-signed
 * requests with the brokered credential. A DeleteObject under review/ waits for an approver.
 */
const AWS = '/usr/bin/aws';
/** Each CLI run starts a Python interpreter (~0.6 s idle, several seconds on a loaded machine): a guard, not a measurement. */
const CLI_TIMEOUT = 180_000;
const dynalite = createRequire(import.meta.url)('dynalite') as (options: Record<string, unknown>) => Server;

const POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("review-deletes")
@decision("review")
@message("deleting under review/ needs an approval")
permit (principal in Gatehouse::Group::"developers", action == Gatehouse::Action::"aws:s3:DeleteObject", resource)
  when { context.resources has Key && context.resources.Key like "review/*" };

@id("keep-tables")
@message("tables are not deleted through the gateway")
forbid (principal, action == Gatehouse::Action::"aws:dynamodb:DeleteTable", resource);
`;

const REGION = 'eu-west-1';
const BUCKET = 'cli-bucket';
const S3_KEY = { accessKeyId: 'AKIABROKEREDCLIS3001', secretAccessKey: 'brokered/cli/s3/secret/EXAMPLE000000000000' };
const DDB_KEY = { accessKeyId: 'AKIABROKEREDCLIDDB01', secretAccessKey: 'brokered/cli/ddb/secret/EXAMPLE00000000000' };
/** The gateway's own (source) identity for the sts connection, which assumes AGENT_ROLE with it. */
const ACCOUNT = '123456789012';
const STS_SOURCE = { accessKeyId: 'AKIAGATEWAYTASKROLE1', secretAccessKey: 'gateway/task/role/secret/EXAMPLE0000000000', arn: `arn:aws:iam::${ACCOUNT}:user/gatehouse-task` };
const AGENT_ROLE = `arn:aws:iam::${ACCOUNT}:role/agent-readonly`;

type Json = Record<string, any>;

let dir: string;
let bundle: string;
let issuer: TestIssuer;
let s3rver: S3rver;
let ddb: Server;
let s3Front: AwsFront;
let ddbFront: AwsFront;
let sts: StsStandIn;
let gw: TestGateway;
let token: string;
let approver: string;
let setupOutput: string;

beforeAll(async () => {
  if (!existsSync(AWS)) throw new Error(`${AWS} is missing: apt-get install awscli (.ci/run installs it)`);
  dir = await mkdtemp(join(tmpdir(), 'gh-awscli-'));
  issuer = await startTestIssuer();
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir, 's3'), configureBuckets: [{ name: BUCKET }] });
  ddb = dynalite({ createTableMs: 0, deleteTableMs: 0 });
  const [{ port: s3Port }] = await Promise.all([s3rver.run(), new Promise<void>((r) => ddb.listen(0, '127.0.0.1', r)), buildGatewayBundle(dir).then((b) => (bundle = b))]);
  s3Front = await startAwsFront({ upstream: `http://127.0.0.1:${s3Port}`, credentials: () => S3_KEY, service: 's3', region: REGION });
  ddbFront = await startAwsFront({ upstream: `http://127.0.0.1:${(ddb.address() as AddressInfo).port}`, credentials: () => DDB_KEY, service: 'dynamodb', region: REGION, forwardHeaders: ['x-amz-target', 'authorization', 'x-amz-date'] });
  sts = await startStsStandIn({ region: REGION, account: ACCOUNT, source: STS_SOURCE, roles: [AGENT_ROLE] });
  const env = { GH_TEST_CLI_KEYRING: JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } }), GH_TEST_CLI_S3_ID: S3_KEY.accessKeyId, GH_TEST_CLI_S3_SECRET: S3_KEY.secretAccessKey, GH_TEST_CLI_DDB_ID: DDB_KEY.accessKeyId, GH_TEST_CLI_DDB_SECRET: DDB_KEY.secretAccessKey, GH_TEST_CLI_STS_ID: STS_SOURCE.accessKeyId, GH_TEST_CLI_STS_SECRET: STS_SOURCE.secretAccessKey };
  Object.assign(process.env, env);
  const aws = (name: string, service: string, endpoint: string, id: string) => ({
    name,
    kind: 'aws',
    service,
    region: REGION,
    route: { pathPrefix: `/aws/${name}` },
    endpoint,
    callerCredentials: { keys: 'env:GH_TEST_CLI_KEYRING' },
    brokered: { source: 'static', accessKeyId: `env:GH_TEST_CLI_${id}_ID`, secretAccessKey: `env:GH_TEST_CLI_${id}_SECRET` },
  });
  gw = await startTestGateway(() => ({
    identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], algorithms: ['RS256'] }] },
    policy: { cedar: POLICY },
    approvals: { approverGroups: ['approvers'], pollIntervalMs: 100, timeoutSeconds: 60 },
    connections: [
      aws('s3', 's3', s3Front.url, 'S3'),
      aws('ddb', 'dynamodb', ddbFront.url, 'DDB'),
      // The gateway assumes AGENT_ROLE with its source credential (sts:AssumeRole at the stand-in) and re-signs with it.
      { ...aws('sts', 'sts', sts.url, 'STS'), brokered: { ...aws('sts', 'sts', sts.url, 'STS').brokered, roleArn: AGENT_ROLE, stsEndpoint: sts.assumeUrl } },
    ],
  }));
  [token, approver] = await Promise.all([issuer.mintToken({ sub: 'ada', groups: ['developers'] }, { ttlSeconds: 600 }), issuer.mintToken({ sub: 'grace', groups: ['approvers'] }, { ttlSeconds: 600 })]);
  // The table exists beforehand (created on dynalite itself, which checks no signature).
  const direct = new DynamoDBClient({ endpoint: `http://127.0.0.1:${(ddb.address() as AddressInfo).port}`, region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  await direct.send(new CreateTableCommand({ TableName: 'cli', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
  while ((await direct.send(new DescribeTableCommand({ TableName: 'cli' }))).Table?.TableStatus !== 'ACTIVE') await new Promise((r) => setImmediate(r));
  direct.destroy();
  // The user's own step: one profile per connection, written by gatehouse setup aws.
  for (const connection of ['s3', 'ddb', 'sts']) {
    const out: string[] = [];
    const code = await setupCommand(['aws', gw.url, '--connection', connection, '--profile', connection, '--gatehouse', `${process.execPath} ${bundle}`], { out: (l) => out.push(l), err: (l) => out.push(l) }, { env: cliEnv() });
    expect([code, out.join('\n')]).toEqual([0, expect.stringContaining('Done.')]);
    setupOutput = out.join('\n');
  }
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await s3Front?.close();
  await ddbFront?.close();
  await sts?.close();
  await s3rver?.close();
  await new Promise<void>((r) => (ddb ? ddb.close(() => r()) : r()));
  await issuer?.close();
  await stopEsbuild();
  for (const name of ['GH_TEST_CLI_KEYRING', 'GH_TEST_CLI_S3_ID', 'GH_TEST_CLI_S3_SECRET', 'GH_TEST_CLI_DDB_ID', 'GH_TEST_CLI_DDB_SECRET', 'GH_TEST_CLI_STS_ID', 'GH_TEST_CLI_STS_SECRET']) delete process.env[name];
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A clean environment: the CLI reads only the config setup wrote; the token reaches credential_process through GATEHOUSE_TOKEN. */
function cliEnv(): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/bin:/bin',
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'aws-credentials-none'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    GATEHOUSE_TOKEN: token,
  };
}

/**
 * Runs the CLI asynchronously (the gateway runs in this process). Debian's awscli 2.9 predates the
 * `endpoint_url` profile setting (2.13), so the endpoint is also given on the command line.
 */
function aws(profile: 's3' | 'ddb' | 'sts', ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(AWS, ['--profile', profile, '--endpoint-url', `${gw.url}/aws/${profile}`, ...args], { env: cliEnv(), maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function events(): Promise<Json[]> {
  await gw.gateway.recorder.flush();
  return (await readEvents(gw.gateway.sink)) as Json[];
}

describe('the AWS CLI through the gateway (credential_process = gatehouse aws-credentials)', () => {
  it('gatehouse setup aws wrote a profile whose credential_process calls gatehouse back', async () => {
    const config = await readFile(join(dir, 'aws-config'), 'utf8');
    expect(config).toContain('[profile s3]');
    expect(config).toMatch(/credential_process = \S+ \S+gateway\.mjs aws-credentials http:\/\/127\.0\.0\.1:\d+ --connection s3/);
    expect(config).toContain(`endpoint_url = ${gw.url}/aws/s3`);
    // aws-cli before 2.13 (Debian's 2.9) ignores endpoint_url: setup says what to do instead.
    expect(setupOutput).toContain(`--endpoint-url ${gw.url}/aws/sts`);
    expect(setupOutput).toMatch(/aws-cli older than 2\.13/);
  });

  it('aws s3 cp uploads a 9 MiB file (multipart) and downloads it byte for byte; aws s3 ls lists it; every upstream request verified', async () => {
    const data = randomBytes(9 * 1024 * 1024);
    const file = join(dir, 'big.bin');
    await writeFile(file, data);
    const from = s3Front.records.length;
    const up = await aws('s3', 's3', 'cp', file, `s3://${BUCKET}/review/big.bin`);
    expect([up.code, up.stderr]).toEqual([0, '']);
    const listed = await aws('s3', 's3', 'ls', `s3://${BUCKET}/review/`);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`\\s${data.length} big\\.bin`));
    const back = join(dir, 'back.bin');
    const down = await aws('s3', 's3', 'cp', `s3://${BUCKET}/review/big.bin`, back);
    expect(down.code).toBe(0);
    expect(createHash('sha256').update(await readFile(back)).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    const records = s3Front.records.slice(from);
    expect(records.length).toBeGreaterThanOrEqual(5);
    expect(records.filter((r) => !r.verified)).toEqual([]);
    expect(records.every((r) => r.accessKeyId === S3_KEY.accessKeyId)).toBe(true);
    const actions = (await events()).filter((e) => e.type === 'aws.response').map((e) => e.payload.action);
    expect(actions).toEqual(expect.arrayContaining(['aws:s3:CreateMultipartUpload', 'aws:s3:UploadPart', 'aws:s3:CompleteMultipartUpload', 'aws:s3:ListObjectsV2', 'aws:s3:GetObject']));
  }, CLI_TIMEOUT);

  it('aws s3 rm under review/ waits for an approver; granted through the admin API, it completes and is recorded', async () => {
    const from = s3Front.records.length;
    const removing = aws('s3', 's3', 'rm', `s3://${BUCKET}/review/big.bin`);
    const admin = async (path: string, init: RequestInit = {}): Promise<Json> => {
      const res = await fetch(`${gw.adminUrl}${path}`, { ...init, headers: { authorization: `Bearer ${approver}`, 'content-type': 'application/json' } });
      return (await res.json()) as Json;
    };
    let pending: Json | undefined;
    while (pending === undefined) {
      pending = ((await admin('/api/approvals?status=pending')).approvals as Json[]).find((a) => a.action === 'aws:s3:DeleteObject');
      if (pending === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(pending).toMatchObject({ protocol: 'aws', connection: 's3', requester: { subject: 'ada' }, reasons: ['review-deletes'], summary: `aws:s3:DeleteObject ${BUCKET}/review/big.bin` });
    // Held: nothing reached the upstream while it waits.
    expect(s3Front.records.length).toBe(from);
    const granted = await admin(`/api/approvals/${pending.id}/approve`, { method: 'POST', body: JSON.stringify({ reason: 'cleanup OPS-9' }) });
    expect(granted.approval.status).toBe('granted');
    const rm = await removing;
    expect([rm.code, rm.stdout]).toEqual([0, expect.stringContaining(`delete: s3://${BUCKET}/review/big.bin`)]);
    expect(s3Front.records.slice(from).map((r) => [r.method, r.verified])).toEqual([['DELETE', true]]);
    const all = await events();
    const requested = all.find((e) => e.type === 'approval.requested' && e.payload.approvalId === pending!.id)!;
    expect(all.find((e) => e.type === 'approval.granted' && e.payload.approvalId === pending!.id)).toMatchObject({ requestId: requested.requestId });
    expect(all.find((e) => e.type === 'aws.response' && e.requestId === requested.requestId)?.payload).toMatchObject({ action: 'aws:s3:DeleteObject', status: 204 });
  }, CLI_TIMEOUT);

  it('aws dynamodb: put-item and get-item go through; delete-table is refused with AccessDeniedException', async () => {
    const put = await aws('ddb', 'dynamodb', 'put-item', '--table-name', 'cli', '--item', '{"pk":{"S":"k1"},"note":{"S":"from the cli"}}');
    expect([put.code, put.stderr]).toEqual([0, '']);
    const got = await aws('ddb', 'dynamodb', 'get-item', '--table-name', 'cli', '--key', '{"pk":{"S":"k1"}}', '--output', 'json');
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout).Item.note.S).toBe('from the cli');
    const from = ddbFront.records.length;
    const del = await aws('ddb', 'dynamodb', 'delete-table', '--table-name', 'cli');
    expect(del.code).not.toBe(0);
    expect(del.stderr).toMatch(/AccessDeniedException.*tables are not deleted through the gateway/);
    expect(ddbFront.records.length).toBe(from);
    const responses = (await events()).filter((e) => e.type === 'aws.response' && e.payload.service === 'dynamodb');
    expect(responses.map((e) => [e.payload.action, e.payload.tables])).toEqual(expect.arrayContaining([['aws:dynamodb:PutItem', ['cli']], ['aws:dynamodb:GetItem', ['cli']]]));
  }, CLI_TIMEOUT);

  it('aws sts get-caller-identity answers the brokered identity (the role the gateway assumed), judged as aws:sts:GetCallerIdentity', async () => {
    const apiFrom = sts.apiFront.records.length;
    const r = await aws('sts', 'sts', 'get-caller-identity', '--output', 'json');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const identity = JSON.parse(r.stdout) as Json;
    // The gateway's brokered identity, never the caller's: the caller holds only a gateway credential.
    expect(identity).toEqual({ UserId: 'AROASTANDIN:gatehouse-sts', Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/agent-readonly/gatehouse-sts` });
    // The gateway's own AssumeRole, signed with its source credential and verified by the stand-in's front.
    expect(sts.assumeFront.records.map((x) => [x.verified, x.accessKeyId])).toEqual([[true, STS_SOURCE.accessKeyId]]);
    // The forwarded call, re-signed with the assumed role's key and session token, verified upstream.
    const forwarded = sts.apiFront.records.slice(apiFrom);
    expect(forwarded.map((x) => [x.method, x.verified, x.accessKeyId])).toEqual([['POST', true, sts.issued[0]!.accessKeyId]]);
    expect(forwarded[0]!.body.toString()).toMatch(/^Action=GetCallerIdentity&Version=2011-06-15$/);
    const response = (await events()).filter((e) => e.type === 'aws.response' && e.payload.service === 'sts').at(-1);
    expect(response?.payload).toMatchObject({ action: 'aws:sts:GetCallerIdentity', group: 'read', status: 200, awsRequestId: expect.stringMatching(/^sts-/) });
  }, CLI_TIMEOUT);
});
