import { randomBytes } from 'node:crypto';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, GetSessionTokenCommand, STSClient } from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../../../gateway/src/protocols/aws/sha256';
import { startAwsFront, type AwsFront } from '../../../support/aws-front';
import { readEvents } from '../../../support/pg-gateway';
import { startTestGateway, type TestGateway } from '../../../support/gateway';
import { startTestIssuer, type TestIssuer } from '../../../support/oidc-issuer';

/**
 * DynamoDB (JSON 1.0, `X-Amz-Target`) through the whole gateway: a real @aws-sdk/client-dynamodb
 * with gateway-issued credentials; the gateway judges each call on the tables its body names and
 * re-signs it for a SigV4-verifying front before dynalite (a Node implementation of DynamoDB).
 */
const dynalite = createRequire(import.meta.url)('dynalite') as (options: Record<string, unknown>) => Server;

const POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("keep-tables")
@message("tables are not deleted through the gateway")
forbid (principal, action == Gatehouse::Action::"aws:dynamodb:DeleteTable", resource);

@id("audit-is-append-only")
@message("the audit table is written by the service only")
forbid (principal, action in Gatehouse::Action::"aws:write", resource)
  when { context has tables && context.tables.contains("audit") };
`;

const REGION = 'eu-west-1';
const BROKERED = { accessKeyId: 'AKIABROKEREDEXAMPLE2', secretAccessKey: 'brokered/dynamodb/secret/EXAMPLE000000000000' };

type Json = Record<string, any>;

let issuer: TestIssuer;
let upstream: Server;
let upstreamUrl: string;
let front: AwsFront;
let gw: TestGateway;
let token: string;
let credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
let client: DynamoDBClient;
let direct: DynamoDBClient;

beforeAll(async () => {
  issuer = await startTestIssuer();
  upstream = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  front = await startAwsFront({ upstream: upstreamUrl, credentials: () => BROKERED, service: 'dynamodb', region: REGION, forwardHeaders: ['x-amz-target', 'authorization', 'x-amz-date'] });
  process.env.GH_TEST_DDB_KEYRING = JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } });
  process.env.GH_TEST_DDB_ID = BROKERED.accessKeyId;
  process.env.GH_TEST_DDB_SECRET = BROKERED.secretAccessKey;
  gw = await startTestGateway(() => ({
    identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], algorithms: ['RS256'] }] },
    policy: { cedar: POLICY },
    connections: [
      {
        name: 'ddb',
        kind: 'aws',
        service: 'dynamodb',
        region: REGION,
        route: { pathPrefix: '/aws/ddb' },
        endpoint: front.url,
        callerCredentials: { keys: 'env:GH_TEST_DDB_KEYRING' },
        brokered: { source: 'static', accessKeyId: 'env:GH_TEST_DDB_ID', secretAccessKey: 'env:GH_TEST_DDB_SECRET' },
      },
      {
        // Nothing listens there: every call below is refused before an upstream is contacted.
        name: 'sts',
        kind: 'aws',
        service: 'sts',
        region: REGION,
        route: { pathPrefix: '/aws/sts' },
        endpoint: 'http://127.0.0.1:9',
        callerCredentials: { keys: 'env:GH_TEST_DDB_KEYRING' },
        brokered: { source: 'static', accessKeyId: 'env:GH_TEST_DDB_ID', secretAccessKey: 'env:GH_TEST_DDB_SECRET' },
      },
    ],
  }));
  token = await issuer.mintToken({ sub: 'ada', groups: ['developers'] }, { ttlSeconds: 600 });
  const res = await fetch(`${gw.url}/.well-known/gatehouse/aws-credentials?connection=ddb`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as Json;
  credentials = { accessKeyId: body.AccessKeyId, secretAccessKey: body.SecretAccessKey, sessionToken: body.SessionToken };
  client = new DynamoDBClient({ endpoint: `${gw.url}/aws/ddb`, region: REGION, credentials, maxAttempts: 1 });
  // The tables exist before the tests (created on dynalite itself, which does not check signatures).
  direct = new DynamoDBClient({ endpoint: upstreamUrl, region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  for (const TableName of ['notes', 'audit']) {
    await direct.send(new CreateTableCommand({ TableName, AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }], BillingMode: 'PAY_PER_REQUEST' }));
  }
  for (const TableName of ['notes', 'audit']) {
    while ((await direct.send(new DescribeTableCommand({ TableName }))).Table?.TableStatus !== 'ACTIVE') await new Promise((r) => setImmediate(r));
  }
}, 60_000);

afterAll(async () => {
  client?.destroy();
  direct?.destroy();
  await gw?.stop();
  await front?.close();
  await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
  await issuer?.close();
  for (const name of ['GH_TEST_DDB_KEYRING', 'GH_TEST_DDB_ID', 'GH_TEST_DDB_SECRET']) delete process.env[name];
});

async function events(): Promise<Json[]> {
  await gw.gateway.recorder.flush();
  return (await readEvents(gw.gateway.sink)) as Json[];
}

const item = async (TableName: string, pk: string, sk: string): Promise<Json | undefined> => (await direct.send(new GetItemCommand({ TableName, Key: { pk: { S: pk }, sk: { S: sk } } }))).Item;

/** A request signed with the caller credential exactly as given (the SDKs would never send a duplicate member). */
async function rawCall(connection: string, contentType: string, body: string, signWith: typeof credentials = credentials, target?: string): Promise<{ status: number; text: string }> {
  const url = new URL(`${gw.url}/aws/${connection}/`);
  const signer = new SignatureV4({ credentials: signWith, region: REGION, service: connection === 'ddb' ? 'dynamodb' : connection, sha256: NodeSha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: {},
    headers: { host: url.host, 'content-type': contentType, ...(target === undefined ? {} : { 'x-amz-target': target }) },
    body,
  });
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: signed.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A DynamoDB call signed as given. */
async function ddbCall(operation: string, body: string): Promise<{ status: number; json: Json }> {
  const r = await rawCall('ddb', 'application/x-amz-json-1.0', body, credentials, `DynamoDB_20120810.${operation}`);
  return { status: r.status, json: JSON.parse(r.text || '{}') as Json };
}

describe('aws connection: STS (query protocol) with a real SDK', () => {
  it('refuses credential-minting calls with AccessDenied the SDK parses; a parameter given twice is refused, not picked', async () => {
    const res = await fetch(`${gw.url}/.well-known/gatehouse/aws-credentials?connection=sts`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    const c = (await res.json()) as Json;
    const sts = new STSClient({ endpoint: `${gw.url}/aws/sts`, region: REGION, credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken }, maxAttempts: 1 });
    for (const command of [new GetSessionTokenCommand({}), new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/admin', RoleSessionName: 'x' })]) {
      const err = (await sts.send(command as GetSessionTokenCommand).catch((e: unknown) => e)) as Json;
      expect(err).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      expect(err.message).toMatch(/mints or reveals credentials.*aws\.mints_credentials/);
    }
    sts.destroy();
    const denied = (await events()).filter((e) => e.type === 'policy.denied' && e.connection === 'sts');
    expect(denied.map((e) => [e.payload.action, e.payload.code])).toEqual([
      ['aws:sts:GetSessionToken', 'aws.mints_credentials'],
      ['aws:sts:AssumeRole', 'aws.mints_credentials'],
    ]);
    // Signed by the caller as given: two Action parameters (which one would STS run?) are refused.
    const twice = await rawCall('sts', 'application/x-www-form-urlencoded; charset=utf-8', 'Action=GetCallerIdentity&Version=2011-06-15&Action=GetSessionToken', { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken });
    expect(twice.status).toBe(400);
    expect(twice.text).toMatch(/<ErrorResponse><Error><Type>Sender<\/Type><Code>InvalidRequest<\/Code><Message>parameter Action is given more than once/);
  });
});

describe('aws connection: DynamoDB through the gateway with a real SDK and dynalite', () => {
  it('puts, gets and queries; each call judged on its table, re-signed with the brokered credential, recorded', async () => {
    const from = front.records.length;
    await client.send(new PutItemCommand({ TableName: 'notes', Item: { pk: { S: 'n1' }, sk: { S: 'a' }, text: { S: 'hello dynamodb' } } }));
    const got = await client.send(new GetItemCommand({ TableName: 'notes', Key: { pk: { S: 'n1' }, sk: { S: 'a' } } }));
    expect(got.Item?.text?.S).toBe('hello dynamodb');
    const queried = await client.send(new QueryCommand({ TableName: 'notes', KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'n1' } } }));
    expect(queried.Items?.map((i) => i.sk?.S)).toEqual(['a']);
    // Reading the audit table is allowed; only writes are forbidden.
    await client.send(new GetItemCommand({ TableName: 'audit', Key: { pk: { S: 'x' }, sk: { S: 'y' } } }));
    const records = front.records.slice(from);
    expect(records.map((r) => [r.method, r.verified, r.accessKeyId])).toEqual(Array(4).fill(['POST', true, BROKERED.accessKeyId]));
    for (const r of records) expect(r.rawHeaders.join('\n')).not.toContain(credentials.sessionToken);
    const responses = (await events()).filter((e) => e.type === 'aws.response').slice(-4);
    expect(responses.map((e) => [e.payload.action, e.payload.group, e.payload.tables, e.payload.status])).toEqual([
      ['aws:dynamodb:PutItem', 'write', ['notes'], 200],
      ['aws:dynamodb:GetItem', 'read', ['notes'], 200],
      ['aws:dynamodb:Query', 'read', ['notes'], 200],
      ['aws:dynamodb:GetItem', 'read', ['audit'], 200],
    ]);
    expect(responses[0]!.payload.awsRequestId).toEqual(expect.any(String));
  });

  it('records the session as an aws session', async () => {
    const all = await events();
    const sessions = new Set(all.filter((e) => e.type === 'aws.response').map((e) => e.session));
    const starts = all.filter((e) => e.type === 'session.start' && sessions.has(e.session));
    expect(starts.length).toBe(sessions.size);
    expect(new Set(starts.map((e) => e.payload.protocol))).toEqual(new Set(['aws']));
  });

  it('refuses a DeleteTable policy forbids with AccessDeniedException; dynalite never sees it', async () => {
    const from = front.records.length;
    const err = (await client.send(new DeleteTableCommand({ TableName: 'notes' })).catch((e: unknown) => e)) as Json;
    expect(err).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
    expect(err.message).toContain('tables are not deleted through the gateway');
    expect(front.records.length).toBe(from);
    expect((await direct.send(new DescribeTableCommand({ TableName: 'notes' }))).Table?.TableStatus).toBe('ACTIVE');
    const denied = (await events()).filter((e) => e.type === 'policy.denied').at(-1)!;
    expect(denied.payload).toMatchObject({ action: 'aws:dynamodb:DeleteTable', code: 'policy.forbid', reasons: ['keep-tables'] });
  });

  it('refuses a BatchWriteItem or TransactWriteItems that names a forbidden table among allowed ones; nothing is written', async () => {
    const from = front.records.length;
    const batch = await client
      .send(new BatchWriteItemCommand({ RequestItems: { notes: [{ PutRequest: { Item: { pk: { S: 'b1' }, sk: { S: 'a' } } } }], audit: [{ PutRequest: { Item: { pk: { S: 'forged' }, sk: { S: 'entry' } } } }] } }))
      .catch((e: unknown) => e) as Json;
    expect(batch).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
    const transact = await client
      .send(new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: 'notes', Item: { pk: { S: 't1' }, sk: { S: 'a' } } } }, { Delete: { TableName: 'audit', Key: { pk: { S: 'x' }, sk: { S: 'y' } } } }] }))
      .catch((e: unknown) => e) as Json;
    expect(transact).toMatchObject({ name: 'AccessDeniedException' });
    expect(front.records.length).toBe(from);
    expect(await item('notes', 'b1', 'a')).toBeUndefined();
    expect(await item('audit', 'forged', 'entry')).toBeUndefined();
    const denied = (await events()).filter((e) => e.type === 'policy.denied').slice(-2);
    expect(denied.map((e) => [e.payload.action, e.payload.reasons])).toEqual([
      ['aws:dynamodb:BatchWriteItem', ['audit-is-append-only']],
      ['aws:dynamodb:TransactWriteItems', ['audit-is-append-only']],
    ]);
    // The same batch on allowed tables only goes through.
    await client.send(new BatchWriteItemCommand({ RequestItems: { notes: [{ PutRequest: { Item: { pk: { S: 'b2' }, sk: { S: 'a' } } } }] } }));
    expect(await item('notes', 'b2', 'a')).toBeDefined();
  });

  it('refuses a body with a duplicate member (dynalite would act on the last TableName: "audit"), before the upstream', async () => {
    const from = front.records.length;
    const body = '{"TableName":"notes","Item":{"pk":{"S":"dup"},"sk":{"S":"a"}},"TableName":"audit"}';
    expect(JSON.parse(body).TableName).toBe('audit');
    const dup = await ddbCall('PutItem', body);
    expect(dup.status).toBe(400);
    expect(dup.json.__type).toBe('ValidationException');
    expect(dup.json.message).toMatch(/given twice.*GH_ERR_REQUEST_INVALID/);
    const folded = await ddbCall('PutItem', '{"TableName":"notes","Item":{"pk":{"S":"dup"},"sk":{"S":"a"}},"tablename":"audit"}');
    expect(folded.status).toBe(400);
    expect(front.records.length).toBe(from);
    expect(await item('audit', 'dup', 'a')).toBeUndefined();
    expect(await item('notes', 'dup', 'a')).toBeUndefined();
    // The same call without the duplicate is a plain, allowed PutItem: the refusal was the duplicate's.
    expect((await ddbCall('PutItem', '{"TableName":"notes","Item":{"pk":{"S":"dup"},"sk":{"S":"a"}}}')).status).toBe(200);
    expect(await item('notes', 'dup', 'a')).toBeDefined();
  });

  it('passes a BatchWriteItem of several MiB (DynamoDB takes 16 MB; the judged-body cap was 1 MiB) and refuses one past 16 MiB unjudged', async () => {
    const blob = 'x'.repeat(300 * 1024);
    const items = Array.from({ length: 8 }, (_, i) => ({ PutRequest: { Item: { pk: { S: 'big' }, sk: { S: `i${i}` }, blob: { S: blob } } } }));
    expect(JSON.stringify({ RequestItems: { notes: items } }).length).toBeGreaterThan(2 * 1024 * 1024);
    const from = front.records.length;
    await client.send(new BatchWriteItemCommand({ RequestItems: { notes: items } }));
    expect((await item('notes', 'big', 'i7'))?.blob?.S).toBe(blob);
    expect(front.records.slice(from).map((r) => [r.verified, r.body.length > 2 * 1024 * 1024])).toEqual([[true, true]]);
    const response = (await events()).filter((e) => e.type === 'aws.response').at(-1)!;
    expect(response.payload).toMatchObject({ action: 'aws:dynamodb:BatchWriteItem', tables: ['notes'], status: 200 });
    // Past the largest request DynamoDB takes: refused before it is judged or forwarded.
    const huge = JSON.stringify({ RequestItems: { notes: [{ PutRequest: { Item: { pk: { S: 'huge' }, sk: { S: 'a' }, blob: { S: 'y'.repeat(16 * 1024 * 1024) } } } }] } });
    const refused = await ddbCall('BatchWriteItem', huge);
    expect([refused.status, refused.json.__type]).toEqual([413, 'RequestEntityTooLarge']);
    expect(front.records.length).toBe(from + 1);
  });
});
