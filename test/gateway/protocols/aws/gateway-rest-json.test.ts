import { randomBytes } from 'node:crypto';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startAwsFront, type AwsFront, type FrontAnswer } from '../../../support/aws-front';
import { readEvents } from '../../../support/pg-gateway';
import { startTestGateway, type TestGateway } from '../../../support/gateway';
import { startTestIssuer, type TestIssuer } from '../../../support/oidc-issuer';

/**
 * REST-JSON services through the whole gateway, with the models derived from their SDK clients:
 * Bedrock runtime (`Converse`, and `ConverseStream`, whose answer is an event stream) and Lambda
 * (`Invoke`), each with its real SDK and gateway-issued credentials. No Node stand-in implements
 * them: the SigV4-verifying front checks every re-signed request (paths with encoded model ids
 * included) and answers as the service does, its event stream encoded by the SDK's own codec.
 */
const POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("no-prod-deploys")
@message("prod-deploy is invoked by the pipeline only")
forbid (principal, action == Gatehouse::Action::"aws:lambda:Invoke", resource)
  when { context.resources has FunctionName && context.resources.FunctionName == "prod-deploy" };
`;

const REGION = 'us-east-1';
const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';
const BEDROCK_KEY = { accessKeyId: 'AKIABROKEREDBEDROCK1', secretAccessKey: 'brokered/bedrock/secret/EXAMPLE0000000000' };
const SM_KEY = { accessKeyId: 'AKIABROKEREDSECRETS1', secretAccessKey: 'brokered/secrets/secret/EXAMPLE000000000' };
/** The secret value the Secrets Manager stand-in answers with: it must reach the SDK and never a stored event. */
const SECRET_STRING = `db-password-${randomBytes(12).toString('hex')}`;
const LAMBDA_KEY = { accessKeyId: 'AKIABROKEREDLAMBDA01', secretAccessKey: 'brokered/lambda/secret/EXAMPLE00000000000' };

type Json = Record<string, any>;

const codec = new EventStreamCodec((b) => Buffer.from(b).toString('utf8'), (s) => new Uint8Array(Buffer.from(s, 'utf8')));
const event = (type: string, body: unknown): Buffer =>
  Buffer.from(codec.encode({ headers: { ':message-type': { type: 'string', value: 'event' }, ':event-type': { type: 'string', value: type }, ':content-type': { type: 'string', value: 'application/json' } }, body: new Uint8Array(Buffer.from(JSON.stringify(body))) }));
const STREAM = [
  event('messageStart', { role: 'assistant' }),
  event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hello, ' } }),
  event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'gateway.' } }),
  event('contentBlockStop', { contentBlockIndex: 0 }),
  event('messageStop', { stopReason: 'end_turn' }),
  event('metadata', { usage: { inputTokens: 5, outputTokens: 3, totalTokens: 8 }, metrics: { latencyMs: 7 } }),
];

let issuer: TestIssuer;
let bedrockFront: AwsFront;
let lambdaFront: AwsFront;
let smFront: AwsFront;
let sm: SecretsManagerClient;
let gw: TestGateway;
let bedrock: BedrockRuntimeClient;
let lambda: LambdaClient;

beforeAll(async () => {
  issuer = await startTestIssuer();
  // Nothing listens upstream of the fronts: they answer every verified request themselves.
  bedrockFront = await startAwsFront({
    upstream: 'http://127.0.0.1:9',
    credentials: () => BEDROCK_KEY,
    service: 'bedrock',
    region: REGION,
    answer: ({ url }): FrontAnswer => {
      const path = decodeURIComponent(url.split('?')[0]!);
      if (path === `/model/${MODEL}/converse-stream`) return { status: 200, headers: { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'bedrock-stream-1' }, body: STREAM };
      if (path === `/model/${MODEL}/converse`) {
        const answer = { output: { message: { role: 'assistant', content: [{ text: 'Hello from the model.' }] } }, stopReason: 'end_turn', usage: { inputTokens: 5, outputTokens: 4, totalTokens: 9 }, metrics: { latencyMs: 9 } };
        return { status: 200, headers: { 'content-type': 'application/json', 'x-amzn-requestid': 'bedrock-1' }, body: [Buffer.from(JSON.stringify(answer))] };
      }
      return { status: 404, headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' }, body: [Buffer.from('{"message":"no such model"}')] };
    },
  });
  lambdaFront = await startAwsFront({
    upstream: 'http://127.0.0.1:9',
    credentials: () => LAMBDA_KEY,
    service: 'lambda',
    region: REGION,
    answer: ({ url, body }) => ({ status: 200, headers: { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST', 'x-amzn-requestid': 'lambda-1' }, body: [Buffer.from(JSON.stringify({ function: url.split('/')[3], echo: JSON.parse(body.toString() || 'null') }))] }),
  });
  // A Secrets Manager stand-in (JSON 1.1): GetSecretValue answers the secret, as the service does.
  smFront = await startAwsFront({
    upstream: 'http://127.0.0.1:9',
    credentials: () => SM_KEY,
    service: 'secretsmanager',
    region: REGION,
    answer: ({ body }) => {
      const { SecretId } = JSON.parse(body.toString()) as { SecretId: string };
      const answer = { ARN: `arn:aws:secretsmanager:${REGION}:123456789012:secret:${SecretId}-AbCdEf`, Name: SecretId, VersionId: 'v1', SecretString: SECRET_STRING, VersionStages: ['AWSCURRENT'], CreatedDate: 1 };
      return { status: 200, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'sm-1' }, body: [Buffer.from(JSON.stringify(answer))] };
    },
  });
  process.env.GH_TEST_RJ_KEYRING = JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } });
  Object.assign(process.env, { GH_TEST_RJ_BR_ID: BEDROCK_KEY.accessKeyId, GH_TEST_RJ_BR_SECRET: BEDROCK_KEY.secretAccessKey, GH_TEST_RJ_LA_ID: LAMBDA_KEY.accessKeyId, GH_TEST_RJ_LA_SECRET: LAMBDA_KEY.secretAccessKey, GH_TEST_RJ_SM_ID: SM_KEY.accessKeyId, GH_TEST_RJ_SM_SECRET: SM_KEY.secretAccessKey });
  const aws = (name: string, service: string, endpoint: string, id: string) => ({
    name,
    kind: 'aws',
    service,
    region: REGION,
    route: { pathPrefix: `/aws/${name}` },
    endpoint,
    callerCredentials: { keys: 'env:GH_TEST_RJ_KEYRING', scope: 'agents' },
    brokered: { source: 'static', accessKeyId: `env:GH_TEST_RJ_${id}_ID`, secretAccessKey: `env:GH_TEST_RJ_${id}_SECRET` },
  });
  gw = await startTestGateway(() => ({
    identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], algorithms: ['RS256'] }] },
    policy: { cedar: POLICY },
    connections: [aws('bedrock', 'bedrock', bedrockFront.url, 'BR'), aws('lambda', 'lambda', lambdaFront.url, 'LA'), { ...aws('secrets', 'secretsmanager', smFront.url, 'SM'), allowCredentialOperations: ['aws:secretsmanager:GetSecretValue'] }],
  }));
  const token = await issuer.mintToken({ sub: 'ada', groups: ['developers'] }, { ttlSeconds: 600 });
  // One credential for both connections (they share the scope "agents").
  const res = await fetch(`${gw.url}/.well-known/gatehouse/aws-credentials?connection=bedrock`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  const c = (await res.json()) as Json;
  const credentials = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
  // The JavaScript Bedrock runtime client speaks HTTP/2 by default (for its bidirectional stream); the gateway speaks HTTP/1.1.
  bedrock = new BedrockRuntimeClient({ endpoint: `${gw.url}/aws/bedrock`, region: REGION, credentials, maxAttempts: 1, requestHandler: new NodeHttpHandler() });
  lambda = new LambdaClient({ endpoint: `${gw.url}/aws/lambda`, region: REGION, credentials, maxAttempts: 1 });
  sm = new SecretsManagerClient({ endpoint: `${gw.url}/aws/secrets`, region: REGION, credentials, maxAttempts: 1 });
}, 60_000);

afterAll(async () => {
  bedrock?.destroy();
  lambda?.destroy();
  sm?.destroy();
  await gw?.stop();
  await bedrockFront?.close();
  await lambdaFront?.close();
  await smFront?.close();
  await issuer?.close();
  for (const name of ['GH_TEST_RJ_KEYRING', 'GH_TEST_RJ_BR_ID', 'GH_TEST_RJ_BR_SECRET', 'GH_TEST_RJ_LA_ID', 'GH_TEST_RJ_LA_SECRET', 'GH_TEST_RJ_SM_ID', 'GH_TEST_RJ_SM_SECRET']) delete process.env[name];
});

async function responses(service: string): Promise<Json[]> {
  await gw.gateway.recorder.flush();
  return ((await readEvents(gw.gateway.sink)) as Json[]).filter((e) => e.type === 'aws.response' && e.payload.service === service);
}

describe('Secrets Manager (JSON 1.1): an allowed GetSecretValue', () => {
  it('reaches the SDK with its SecretString, which appears in no stored event (the answer is never recorded)', async () => {
    const out = await sm.send(new GetSecretValueCommand({ SecretId: 'prod/db' }));
    expect(out.SecretString).toBe(SECRET_STRING);
    expect(smFront.records.map((r) => [r.method, r.verified, r.accessKeyId])).toEqual([['POST', true, SM_KEY.accessKeyId]]);
    const recorded = (await responses('secretsmanager')).at(-1)!;
    expect(recorded.payload).toMatchObject({ action: 'aws:secretsmanager:GetSecretValue', resources: { SecretId: 'prod/db' }, status: 200, bodyOmitted: true });
    expect(JSON.stringify(await readEvents(gw.gateway.sink))).not.toContain(SECRET_STRING);
  });
});

describe('REST-JSON services through the gateway (models from the SDK clients)', () => {
  it('Bedrock Converse: judged as aws:bedrock:Converse on its model id, re-signed (encoded path) and verified upstream', async () => {
    const out = await bedrock.send(new ConverseCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: 'Say hello.' }] }] }));
    expect(out.output?.message?.content?.[0]?.text).toBe('Hello from the model.');
    expect(bedrockFront.records.map((r) => [r.method, r.verified, r.accessKeyId])).toEqual([['POST', true, BEDROCK_KEY.accessKeyId]]);
    expect(JSON.parse(bedrockFront.records[0]!.body.toString())).toMatchObject({ messages: [{ role: 'user', content: [{ text: 'Say hello.' }] }] });
    expect((await responses('bedrock')).at(-1)!.payload).toMatchObject({ action: 'aws:bedrock:Converse', resources: { modelId: MODEL }, status: 200, awsRequestId: 'bedrock-1' });
  });

  it('Bedrock ConverseStream: the event stream reaches the SDK message by message; recorded as its summary', async () => {
    const out = await bedrock.send(new ConverseStreamCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: 'Say hello.' }] }] }));
    let text = '';
    const kinds: string[] = [];
    for await (const e of out.stream!) {
      kinds.push(Object.keys(e).find((k) => (e as unknown as Json)[k] !== undefined)!);
      text += e.contentBlockDelta?.delta?.text ?? '';
    }
    expect(text).toBe('Hello, gateway.');
    expect(kinds).toEqual(['messageStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata']);
    expect(bedrockFront.records.at(-1)).toMatchObject({ verified: true });
    const recorded = (await responses('bedrock')).at(-1)!.payload;
    expect(recorded).toMatchObject({ action: 'aws:bedrock:ConverseStream', resources: { modelId: MODEL }, status: 200, eventStream: { messages: 6, bytes: Buffer.concat(STREAM).length, events: { messageStart: 1, contentBlockDelta: 2, contentBlockStop: 1, messageStop: 1, metadata: 1 } } });
    expect(recorded.body).toBeUndefined();
  });

  it('Lambda Invoke: judged on its function name; a forbidden function is refused with AccessDeniedException before the upstream', async () => {
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'report-builder', Payload: Buffer.from(JSON.stringify({ week: 49 })) }));
    expect(JSON.parse(Buffer.from(out.Payload!).toString())).toEqual({ function: 'report-builder', echo: { week: 49 } });
    expect(lambdaFront.records.map((r) => [r.method, r.url, r.verified])).toEqual([['POST', '/2015-03-31/functions/report-builder/invocations', true]]);
    const err = (await lambda.send(new InvokeCommand({ FunctionName: 'prod-deploy' })).catch((e: unknown) => e)) as Json;
    expect(err).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
    expect(err.message).toContain('prod-deploy is invoked by the pipeline only');
    expect(lambdaFront.records.length).toBe(1);
    expect((await responses('lambda')).map((e) => [e.payload.action, e.payload.resources.FunctionName, e.payload.status])).toEqual([['aws:lambda:Invoke', 'report-builder', 200]]);
  });
});
