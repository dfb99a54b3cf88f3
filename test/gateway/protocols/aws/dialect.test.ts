import { awsConnectionSchema } from '../../../../gateway/src/config/schema';
import { HttpRefusal, type HttpRequestHead } from '../../../../gateway/src/protocols/kit/http-dialect';
import { BrokeredCredentials } from '../../../../gateway/src/protocols/aws/brokered';
import { awsDialect } from '../../../../gateway/src/protocols/aws/dialect';
import { createKeyring } from '../../../../gateway/src/protocols/aws/credentials';

/** Calls that mint or reveal credentials are refused unless the connection lists them; their answers are never recorded. */
function dialectFor(allow: string[] = []) {
  const connection = awsConnectionSchema.parse({
    name: 'sm',
    kind: 'aws',
    service: 'secretsmanager',
    region: 'eu-west-1',
    route: { pathPrefix: '/aws/sm' },
    callerCredentials: { keys: 'env:UNUSED' },
    allowCredentialOperations: allow,
  });
  return awsDialect({ connection, keyring: () => createKeyring('k', { k: Buffer.alloc(32, 1) }), brokered: new BrokeredCredentials(async () => ({ accessKeyId: 'A', secretAccessKey: 'S' })), bodyCap: 65536, recordCap: 4096 });
}

function head(target: string, body: string): [HttpRequestHead, { bytes: Buffer; complete: boolean }] {
  const h = {
    method: 'POST',
    wireMethod: 'POST',
    routedPath: '/',
    host: 'gw',
    connectionName: 'sm',
    params: {},
    shownQuery: '',
    query: '',
    headers: { 'x-amz-target': `secretsmanager.${target}`, 'content-type': 'application/x-amz-json-1.1' },
    caller: { principal: { issuer: 'i', issuerName: 'corp', subject: 'a', name: 'a', groups: ['developers'], kind: 'human', tokenId: 't' }, context: { auth: { accessKeyId: 'GHGWAAAAAAAAAAAAAAAA' } } },
    approvalDetails: () => ({}),
  } as unknown as HttpRequestHead;
  return [h, { bytes: Buffer.from(body), complete: true }];
}

describe('aws dialect: credential-minting calls', () => {
  it('refuses GetSecretValue by default with aws.mints_credentials, naming the secret', () => {
    const d = dialectFor();
    const decoded = d.decode(...head('GetSecretValue', '{"SecretId":"prod/db"}'));
    expect(decoded).toBeInstanceOf(HttpRefusal);
    expect(decoded).toMatchObject({ decision: 'aws.mints_credentials', error: 'GH_ERR_POLICY_DENIED', operation: { action: 'aws:secretsmanager:GetSecretValue', attributes: { resources: { SecretId: 'prod/db' } } } });
  });

  it('judges it like any other call when the connection lists it, and keeps its answer out of the record', () => {
    const d = dialectFor(['aws:secretsmanager:GetSecretValue']);
    const [h, b] = head('GetSecretValue', '{"SecretId":"prod/db"}');
    expect(d.decode(h, b)).toMatchObject({ protocol: 'aws', action: 'aws:secretsmanager:GetSecretValue', attributes: { kind: 'read', mintsCredentials: true } });
    expect(d.responseBodyCap?.(h)).toBe(0);
  });

  it('lets other calls through to policy, their answers recorded as configured', () => {
    const d = dialectFor();
    const [h, b] = head('ListSecrets', '{}');
    expect(d.decode(h, b)).toMatchObject({ action: 'aws:secretsmanager:ListSecrets', attributes: { kind: 'read', mintsCredentials: false } });
    expect(d.responseBodyCap?.(h)).toBeUndefined();
    expect(d.decode(...head('NoSuchCall', '{}'))).toMatchObject({ decision: 'aws.operation_undecodable', error: 'GH_ERR_AWS_OPERATION_UNKNOWN' });
  });
});

describe('aws dialect: calls that answer with plaintext key material (KMS)', () => {
  const kms = awsDialect({
    connection: awsConnectionSchema.parse({ name: 'kms', kind: 'aws', service: 'kms', region: 'eu-west-1', route: { pathPrefix: '/aws/kms' }, callerCredentials: { keys: 'env:UNUSED' } }),
    keyring: () => createKeyring('k', { k: Buffer.alloc(32, 1) }),
    brokered: new BrokeredCredentials(async () => ({ accessKeyId: 'A', secretAccessKey: 'S' })),
    bodyCap: 65536,
    recordCap: 4096,
  });
  const kmsHead = (operation: string): [HttpRequestHead, { bytes: Buffer; complete: boolean }] => {
    const [h, b] = head(operation, '{"KeyId":"alias/app"}');
    return [{ ...h, connectionName: 'kms', headers: { ...h.headers, 'x-amz-target': `TrentService.${operation}` }, caller: { ...h.caller!, context: { auth: { accessKeyId: 'GHGWAAAAAAAAAAAAAAAA' } } } } as HttpRequestHead, b];
  };

  it.each(['Decrypt', 'GenerateDataKey', 'GenerateDataKeyPair', 'GenerateRandom', 'DeriveSharedSecret'])('%s is judged by policy (not refused by default) and its answer is never recorded', (operation) => {
    const [h, b] = kmsHead(operation);
    expect(kms.decode(h, b)).toMatchObject({ action: `aws:kms:${operation}`, attributes: { mintsCredentials: false } });
    expect(kms.responseBodyCap?.(h)).toBe(0);
    const t = kms.transcript!(h)!;
    t.responseStart!(200, 'application/x-amz-json-1.1');
    t.responseData!(Buffer.from('{"Plaintext":"c2VjcmV0IGRhdGEga2V5IGJ5dGVzIDAxMjM0NTY3"}'));
    const result = t.result!();
    expect(result).toMatchObject({ action: `aws:kms:${operation}`, bodyOmitted: true });
    expect(JSON.stringify(result)).not.toContain('c2VjcmV0');
  });

  it('keeps the answers of calls that carry no plaintext (Encrypt, DescribeKey)', () => {
    for (const operation of ['Encrypt', 'DescribeKey', 'GenerateDataKeyWithoutPlaintext']) {
      const [h, b] = kmsHead(operation);
      kms.decode(h, b);
      expect([operation, kms.responseBodyCap?.(h)]).toEqual([operation, undefined]);
    }
  });
});

describe('aws dialect: event streams', () => {
  const dialectOf = (service: string) =>
    awsDialect({
      connection: awsConnectionSchema.parse({ name: service, kind: 'aws', service, region: 'eu-west-1', route: { pathPrefix: `/aws/${service}` }, callerCredentials: { keys: 'env:UNUSED' } }),
      keyring: () => createKeyring('k', { k: Buffer.alloc(32, 1) }),
      brokered: new BrokeredCredentials(async () => ({ accessKeyId: 'A', secretAccessKey: 'S' })),
      bodyCap: 65536,
      recordCap: 4096,
    });

  it('judges an operation whose answer is an event stream (S3 SelectObjectContent, Bedrock ConverseStream) like any call', () => {
    const [h] = head('x', '');
    const select = { ...h, routedPath: '/b/data.csv', query: 'select&select-type=2', headers: {} } as HttpRequestHead;
    expect(dialectOf('s3').decode(select, undefined)).toMatchObject({ protocol: 'aws', action: 'aws:s3:SelectObjectContent', attributes: { resources: { Bucket: 'b', Key: 'data.csv' } } });
    const converse = { ...h, routedPath: '/model/m/converse-stream', headers: { 'content-type': 'application/json' } } as HttpRequestHead;
    expect(dialectOf('bedrock').decode(converse, { bytes: Buffer.from('{}'), complete: true })).toMatchObject({ action: 'aws:bedrock:ConverseStream', attributes: { resources: { modelId: 'm' } } });
  });

  it('refuses an operation whose request is an event stream (Bedrock InvokeModelWithBidirectionalStream) with aws.event_stream, naming it', () => {
    const [h] = head('x', '');
    const bidi = { ...h, routedPath: '/model/m/invoke-with-bidirectional-stream', headers: { 'content-type': 'application/vnd.amazon.eventstream' } } as HttpRequestHead;
    expect(dialectOf('bedrock').decode(bidi, { bytes: Buffer.alloc(0), complete: true })).toMatchObject({
      decision: 'aws.event_stream',
      error: 'GH_ERR_AWS_EVENT_STREAM_UNSUPPORTED',
      message: expect.stringContaining('aws:bedrock:InvokeModelWithBidirectionalStream sends its input as an event stream'),
      operation: { action: 'aws:bedrock:InvokeModelWithBidirectionalStream' },
    });
  });
});
