import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { actionGroup, deriveOperation, type AwsRequestHead } from '../../../../gateway/src/protocols/aws/operations';
import { AWS_SERVICE_MODELS } from '../../../../gateway/src/protocols/aws/model/services.generated';
import { endpointOf } from '../../../../gateway/src/protocols/aws/connections';
import { awsConnectionSchema } from '../../../../gateway/src/config/schema';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

function head(method: string, target: string, extra: Partial<AwsRequestHead> = {}): AwsRequestHead {
  const q = target.indexOf('?');
  const h = { method, path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1), host: 'gw.local:8443', headers: {}, ...extra };
  // A JSON-protocol call carries the Content-Type the SDKs send (1.0 or 1.1 alike are accepted), unless the test names one.
  if (h.headers['x-amz-target'] !== undefined && !('content-type' in h.headers)) return { ...h, headers: { ...h.headers, 'content-type': 'application/x-amz-json-1.1' } };
  return h;
}

/** [action, group, resources] or the refusal's code. */
function derive(h: AwsRequestHead, service = 's3', virtualHostSuffixes?: string[]): unknown {
  const op = deriveOperation(h, { service, region: 'eu-west-1', ...(virtualHostSuffixes ? { virtualHostSuffixes } : {}) });
  return 'refusal' in op ? op.code : [op.action, op.group, op.resources, ...(op.mintsCredentials ? ['mints'] : [])];
}

describe('AWS operation derivation from the shipped service models', () => {
  it('the committed table is what the installed SDK clients ship (regenerated, compared)', () => {
    execFileSync(process.execPath, ['gateway/extract-aws-models.mjs', '--check'], { cwd: ROOT, stdio: 'pipe' });
    expect(Object.keys(AWS_SERVICE_MODELS['s3']!.operations).length).toBeGreaterThan(100);
  });

  it('S3 REST, path style: object, bucket and service operations, subresources, required headers and query', () => {
    expect(derive(head('GET', '/b/dir/a%20b.txt'))).toEqual(['aws:s3:GetObject', 'read', { Bucket: 'b', Key: 'dir/a b.txt' }]);
    expect(derive(head('GET', '/b/k?x-id=GetObject&versionId=3'))).toEqual(['aws:s3:GetObject', 'read', { Bucket: 'b', Key: 'k' }]);
    expect(derive(head('GET', '/b/k?acl'))).toEqual(['aws:s3:GetObjectAcl', 'read', { Bucket: 'b', Key: 'k' }]);
    expect(derive(head('PUT', '/b/k'))).toEqual(['aws:s3:PutObject', 'write', { Bucket: 'b', Key: 'k' }]);
    expect(derive(head('PUT', '/b/k', { headers: { 'x-amz-copy-source': '/src/k' } }))).toEqual(['aws:s3:CopyObject', 'write', { Bucket: 'b', Key: 'k', SourceBucket: 'src', SourceKey: 'k' }]);
    expect(derive(head('PUT', '/b/k?partNumber=1&uploadId=u'))).toEqual(['aws:s3:UploadPart', 'write', { Bucket: 'b', Key: 'k' }]);
    expect(derive(head('PUT', '/b/k?partNumber=1&uploadId=u', { headers: { 'x-amz-copy-source': '/s/k' } }))).toEqual(['aws:s3:UploadPartCopy', 'write', { Bucket: 'b', Key: 'k', SourceBucket: 's', SourceKey: 'k' }]);
    expect(derive(head('DELETE', '/b/k'))).toEqual(['aws:s3:DeleteObject', 'write', { Bucket: 'b', Key: 'k' }]);
    expect(derive(head('POST', '/b?delete'))).toEqual(['aws:s3:DeleteObjects', 'write', { Bucket: 'b' }]);
    expect(derive(head('GET', '/b?list-type=2&prefix=d%2F'))).toEqual(['aws:s3:ListObjectsV2', 'read', { Bucket: 'b' }]);
    expect(derive(head('GET', '/b/'))).toEqual(['aws:s3:ListObjects', 'read', { Bucket: 'b' }]);
    expect(derive(head('HEAD', '/b'))).toEqual(['aws:s3:HeadBucket', 'read', { Bucket: 'b' }]);
    expect(derive(head('PUT', '/b'))).toEqual(['aws:s3:CreateBucket', 'write', { Bucket: 'b' }]);
    // Without a bucket: ListBuckets; ListDirectoryBuckets belongs to the S3 Express control endpoint.
    expect(derive(head('GET', '/'))).toEqual(['aws:s3:ListBuckets', 'read', {}]);
  });

  it('every REST operation of every shipped model is derived from its own minimal request, and none ties with another', () => {
    const outcomes: Record<string, number> = { self: 0, ambiguous: 0 };
    const wrong: string[] = [];
    for (const [service, model] of Object.entries(AWS_SERVICE_MODELS)) {
      for (const [name, op] of Object.entries(model.operations)) {
        if (!op.uri || !op.method) continue;
        const [path, literal = ''] = op.uri.split('?') as [string, string?];
        const concrete = path.replace(/\{[^}]+\}/g, 'v');
        const query = [...literal.split('&').filter((p) => p !== '' && !p.startsWith('x-id=')), ...(op.requiredQuery ?? []).map((q) => `${q}=1`)].join('&');
        const headers = Object.fromEntries((op.requiredHeaders ?? []).map((h) => [h, h === 'x-amz-copy-source' ? 'src/k' : 'x']));
        const target = `${op.bucket ? `/bucket${concrete === '/' ? '' : concrete}` : concrete}${query ? `?${query}` : ''}`;
        const got = derive(head(op.method, target, { headers }), service);
        if (Array.isArray(got) && got[0] === `aws:${service}:${name}`) outcomes.self!++;
        else if (got === 'GH_ERR_AWS_OPERATION_AMBIGUOUS') outcomes.ambiguous!++;
        else wrong.push(`${service}:${name} -> ${JSON.stringify(got)}`);
        // With the SDK's x-id, an operation is never ambiguous.
        if (literal.includes('x-id=')) {
          const withXId = derive(head(op.method, `${target}${query ? '&' : '?'}${literal.split('&').find((p) => p.startsWith('x-id='))}`, { headers }), service);
          if (!Array.isArray(withXId) || withXId[0] !== `aws:${service}:${name}`) wrong.push(`${service}:${name} with x-id -> ${JSON.stringify(withXId)}`);
        }
      }
    }
    // Unreachable by design, both served by other endpoints than a bucket endpoint: ListDirectoryBuckets (the S3
    // Express control endpoint) and WriteGetObjectResponse (S3 Object Lambda's host-prefixed endpoint).
    expect(wrong).toEqual([
      's3:ListDirectoryBuckets -> ["aws:s3:ListBuckets","read",{}]',
      's3:ListDirectoryBuckets with x-id -> "GH_ERR_AWS_OPERATION_UNKNOWN"',
      's3:WriteGetObjectResponse -> "GH_ERR_AWS_OPERATION_UNKNOWN"',
    ]);
    // S3 111 (of 112), Lambda 88, Bedrock runtime 11.
    expect(outcomes).toEqual({ self: 210, ambiguous: 0 });
  });

  it('refuses a request two templates match equally well, never picking one', () => {
    const models = {
      svc: { namespace: 'x', protocol: 'restJson1', target: 'X', source: 'test', operations: { GetThing: { method: 'GET', uri: '/things/{Id}' }, GetOther: { method: 'GET', uri: '/things/{Name}' }, ListThings: { method: 'GET', uri: '/things' } } },
    };
    const op = deriveOperation(head('GET', '/things/1'), { service: 'svc', region: 'r', models });
    expect(op).toMatchObject({ refusal: true, code: 'GH_ERR_AWS_OPERATION_AMBIGUOUS', decision: 'aws.operation_undecodable', message: expect.stringContaining('GetOther and GetThing') });
    expect(deriveOperation(head('GET', '/things'), { service: 'svc', region: 'r', models })).toMatchObject({ operation: 'ListThings', action: 'aws:svc:ListThings' });
  });

  it('S3 virtual-hosted style takes the bucket from the host', () => {
    expect(derive(head('GET', '/dir/k', { host: 'my.bucket.s3.gw.local:8443' }), 's3', ['s3.gw.local'])).toEqual(['aws:s3:GetObject', 'read', { Bucket: 'my.bucket', Key: 'dir/k' }]);
    expect(derive(head('GET', '/?tagging', { host: 'b.s3.gw.local' }), 's3', ['s3.gw.local'])).toEqual(['aws:s3:GetBucketTagging', 'read', { Bucket: 'b' }]);
  });

  it('refuses what no single operation matches: unknown parameters, an x-id naming another operation, repeats, unknown services', () => {
    expect(derive(head('GET', '/b/k?torrentz'))).toBe('GH_ERR_AWS_OPERATION_UNKNOWN');
    expect(derive(head('GET', '/b/k?x-id=PutObject'))).toBe('GH_ERR_AWS_OPERATION_UNKNOWN');
    expect(derive(head('GET', '/b/k?acl&acl'))).toBe('GH_ERR_AWS_OPERATION_AMBIGUOUS');
    expect(derive(head('PATCH', '/b/k'))).toBe('GH_ERR_AWS_OPERATION_UNKNOWN');
    expect(derive(head('GET', '/b/k?bad=%ZZ'))).toBe('GH_ERR_REQUEST_INVALID');
    expect(derive(head('POST', '/', { headers: { 'x-amz-target': 'Foo_20120810.GetItem' } }), 'foo')).toBe('GH_ERR_AWS_SERVICE_UNKNOWN');
    expect(derive(head('POST', '/'), 'constructor')).toBe('GH_ERR_AWS_SERVICE_UNKNOWN');
  });

  it('S3 copies: the object read (x-amz-copy-source) is a resource hint; forms that are not one bucket and key are refused', () => {
    const copy = (source: string): unknown => derive(head('PUT', '/dst/out.txt', { headers: { 'x-amz-copy-source': source } }));
    const to = { Bucket: 'dst', Key: 'out.txt' };
    expect(copy('/secret-bucket/dir/a%20b.txt')).toEqual(['aws:s3:CopyObject', 'write', { ...to, SourceBucket: 'secret-bucket', SourceKey: 'dir/a b.txt' }]);
    expect(copy('secret-bucket/k?versionId=3HL4kqtJ')).toEqual(['aws:s3:CopyObject', 'write', { ...to, SourceBucket: 'secret-bucket', SourceKey: 'k', SourceVersionId: '3HL4kqtJ' }]);
    expect(copy('src/a%2Fb')).toEqual(['aws:s3:CopyObject', 'write', { ...to, SourceBucket: 'src', SourceKey: 'a/b' }]);
    expect(derive(head('PUT', '/dst/out.txt?partNumber=2&uploadId=u', { headers: { 'x-amz-copy-source': '/src/k' } }))).toEqual(['aws:s3:UploadPartCopy', 'write', { ...to, SourceBucket: 'src', SourceKey: 'k' }]);
    for (const source of [
      '/secret%252Fk', // encoded twice
      '/src/%2525', // a literal %25 after one decoding
      '/src/../secret/k',
      '/src/a/./k',
      '/src/k%00.txt',
      '/src/k\x00',
      'arn:aws:s3:eu-west-1:123456789012:accesspoint/ap/object/k',
      'arn%3Aaws%3As3%3Aeu-west-1%3A123456789012%3Aaccesspoint%2Fap%2Fobject%2Fk',
      '/src/k?versionId=1&x=2',
      '/src/k?acl',
      '/src',
      '/src/',
      '//k',
      '/src/%ZZ',
    ]) {
      expect([source, copy(source)]).toEqual([source, 'GH_ERR_REQUEST_INVALID']);
    }
  });

  it('JSON protocols: X-Amz-Target names the operation, well-known body members are the resource hints', () => {
    const body = Buffer.from(JSON.stringify({ SecretId: 'prod/db', VersionStage: 'AWSCURRENT' }));
    expect(derive(head('POST', '/', { headers: { 'x-amz-target': 'secretsmanager.DescribeSecret' }, body }), 'secretsmanager')).toEqual(['aws:secretsmanager:DescribeSecret', 'read', { SecretId: 'prod/db' }]);
    expect(derive(head('POST', '/', { headers: { 'x-amz-target': 'secretsmanager.GetSecretValue' }, body }), 'secretsmanager')).toEqual(['aws:secretsmanager:GetSecretValue', 'read', { SecretId: 'prod/db' }, 'mints']);
    expect(derive(head('POST', '/', { headers: { 'x-amz-target': 'TrentService.Decrypt' }, body: Buffer.from('{"KeyId":"alias/x"}') }), 'kms')).toEqual(['aws:kms:Decrypt', 'write', { KeyId: 'alias/x' }]);
    expect(derive(head('POST', '/', { headers: { 'x-amz-target': 'AWSCognitoIdentityService.GetCredentialsForIdentity' } }), 'cognito-identity')).toEqual(['aws:cognito-identity:GetCredentialsForIdentity', 'read', {}, 'mints']);
    expect(derive(head('POST', '/', { headers: { 'x-amz-target': 'TrentService.NoSuchThing' } }), 'kms')).toBe('GH_ERR_AWS_OPERATION_UNKNOWN');
    expect(derive(head('POST', '/', { headers: { 'x-amz-target': 'secretsmanager.ListSecrets' } }), 'kms')).toBe('GH_ERR_AWS_OPERATION_UNKNOWN');
    expect(derive(head('POST', '/', { headers: { 'x-amz-target': 'TrentService.ListKeys' }, body: Buffer.from('[1]') }), 'kms')).toBe('GH_ERR_REQUEST_INVALID');
  });

  it('JSON protocols: a query string or another Content-Type is refused (SQS would read ?Action=DeleteQueue, not X-Amz-Target ListQueues)', () => {
    const target = { 'x-amz-target': 'AmazonSQS.ListQueues' };
    const url = encodeURIComponent('https://sqs.eu-west-1.amazonaws.com/123456789012/jobs');
    const form = 'application/x-www-form-urlencoded';
    expect(derive(head('POST', `/?Action=DeleteQueue&QueueUrl=${url}`, { headers: { ...target, 'content-type': form } }), 'sqs')).toBe('GH_ERR_REQUEST_INVALID');
    expect(derive(head('POST', `/?Action=DeleteQueue&QueueUrl=${url}`, { headers: { ...target, 'content-type': 'application/x-amz-json-1.0' }, body: Buffer.from('{}') }), 'sqs')).toBe('GH_ERR_REQUEST_INVALID');
    expect(derive(head('POST', '/', { headers: { ...target, 'content-type': form }, body: Buffer.from(`Action=DeleteQueue&QueueUrl=${url}`) }), 'sqs')).toBe('GH_ERR_REQUEST_INVALID');
    for (const type of [form, 'application/json', 'text/plain', 'application/x-amz-json-1.0; x=1']) {
      expect([type, derive(head('POST', '/', { headers: { ...target, 'content-type': type }, body: Buffer.from('{}') }), 'sqs')]).toEqual([type, 'GH_ERR_REQUEST_INVALID']);
    }
    expect(derive({ method: 'POST', path: '/', query: '', host: 'gw.local', headers: target, body: Buffer.from('{}') }, 'sqs')).toBe('GH_ERR_REQUEST_INVALID');
    // What the SDKs send: DynamoDB and SQS 1.0, KMS and Secrets Manager 1.1.
    expect(derive(head('POST', '/', { headers: { ...target, 'content-type': 'application/x-amz-json-1.0' }, body: Buffer.from('{}') }), 'sqs')).toEqual(['aws:sqs:ListQueues', 'read', {}]);
    expect(derive(head('POST', '/', { headers: { 'x-amz-target': 'TrentService.ListKeys', 'content-type': 'application/x-amz-json-1.1' }, body: Buffer.from('{}') }), 'kms')).toEqual(['aws:kms:ListKeys', 'read', {}]);
  });

  it('JSON protocols: a body another parser could read differently is refused (JSON.parse keeps the last of two SecretIds)', () => {
    const target = { 'x-amz-target': 'secretsmanager.DescribeSecret' };
    for (const body of ['{"SecretId":"dev/db","SecretId":"prod/db"}', '{"SecretId":"dev/db","secretid":"prod/db"}', '{"a":{"b":1,"b":2}}', '\ufeff{"SecretId":"x"}', '{"SecretId":"x",}', '{"SecretId":"x"} {}']) {
      expect([body, derive(head('POST', '/', { headers: target, body: Buffer.from(body) }), 'secretsmanager')]).toEqual([body, 'GH_ERR_REQUEST_INVALID']);
    }
    // Invalid UTF-8 (a decoder would substitute U+FFFD) is refused too.
    expect(derive(head('POST', '/', { headers: target, body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) }), 'secretsmanager')).toBe('GH_ERR_REQUEST_INVALID');
    // Escapes decode as the service decodes them.
    expect(derive(head('POST', '/', { headers: target, body: Buffer.from('{"SecretId":"prod\\u002fdb","__proto__":{}}') }), 'secretsmanager')).toEqual(['aws:secretsmanager:DescribeSecret', 'read', { SecretId: 'prod/db' }]);
  });

  it('DynamoDB (JSON 1.0): the tables a call names come from the members its model declares, every one of them', () => {
    const ddb = (op: string, body: unknown): unknown => {
      const got = deriveOperation(head('POST', '/', { headers: { 'x-amz-target': `DynamoDB_20120810.${op}` }, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) }), { service: 'dynamodb', region: 'eu-west-1' });
      return 'refusal' in got ? got.code : [got.action, got.group, got.tables, got.resources];
    };
    expect(ddb('GetItem', { TableName: 'notes', Key: { id: { S: '1' } } })).toEqual(['aws:dynamodb:GetItem', 'read', ['notes'], { TableName: 'notes' }]);
    expect(ddb('Query', { TableName: 'arn:aws:dynamodb:eu-west-1:123456789012:table/notes', KeyConditionExpression: 'id = :v' })).toEqual(['aws:dynamodb:Query', 'read', ['notes'], { TableName: 'arn:aws:dynamodb:eu-west-1:123456789012:table/notes' }]);
    expect(ddb('DeleteTable', { TableName: 'notes' })).toEqual(['aws:dynamodb:DeleteTable', 'write', ['notes'], { TableName: 'notes' }]);
    expect(ddb('ListTables', {})).toEqual(['aws:dynamodb:ListTables', 'read', [], {}]);
    expect(ddb('BatchWriteItem', { RequestItems: { notes: [{ PutRequest: { Item: { id: { S: '1' } } } }], audit: [{ DeleteRequest: { Key: { id: { S: '1' } } } }] } })).toEqual(['aws:dynamodb:BatchWriteItem', 'write', ['audit', 'notes'], {}]);
    expect(ddb('BatchGetItem', { RequestItems: { notes: { Keys: [] } } })).toEqual(['aws:dynamodb:BatchGetItem', 'read', ['notes'], {}]);
    expect(ddb('TransactWriteItems', { TransactItems: [{ Put: { TableName: 'notes', Item: {} } }, { ConditionCheck: { TableName: 'locks', Key: {}, ConditionExpression: 'x' } }, { Update: { TableName: 'audit', Key: {} } }, { Delete: { TableName: 'notes', Key: {} } }] })).toEqual(['aws:dynamodb:TransactWriteItems', 'write', ['audit', 'locks', 'notes'], {}]);
    expect(ddb('TransactGetItems', { TransactItems: [{ Get: { TableName: 'notes', Key: {} } }] })).toEqual(['aws:dynamodb:TransactGetItems', 'read', ['notes'], {}]);
    expect(ddb('ImportTable', { TableCreationParameters: { TableName: 'imported' } })).toEqual(['aws:dynamodb:ImportTable', 'write', ['imported'], {}]);
    expect(ddb('DeleteBackup', { BackupArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/notes/backup/01489602797149-73d8d5bc' })).toEqual(['aws:dynamodb:DeleteBackup', 'write', ['notes'], { BackupArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/notes/backup/01489602797149-73d8d5bc' }]);
    // Item data named like a member is data, not a table.
    expect(ddb('PutItem', { TableName: 'notes', Item: { TableName: { S: 'audit' } } })).toEqual(['aws:dynamodb:PutItem', 'write', ['notes'], { TableName: 'notes' }]);
    // Refused: a second TableName (the upstream's JSON.parse would execute on "audit"), a member spelled in another
    // case, a table named by a non-string, a body of another shape than the model's along a table path.
    expect(ddb('DeleteItem', '{"TableName":"notes","Key":{"id":{"S":"1"}},"TableName":"audit"}')).toBe('GH_ERR_REQUEST_INVALID');
    expect(ddb('BatchWriteItem', '{"RequestItems":{"notes":[],"notes":[]}}')).toBe('GH_ERR_REQUEST_INVALID');
    expect(ddb('ListBackups', { tablename: 'audit' })).toBe('GH_ERR_REQUEST_INVALID');
    expect(ddb('GetItem', { TableName: ['audit'] })).toBe('GH_ERR_REQUEST_INVALID');
    expect(ddb('TransactWriteItems', { TransactItems: { Put: { TableName: 'audit' } } })).toBe('GH_ERR_REQUEST_INVALID');
    expect(ddb('BatchWriteItem', { RequestItems: [['audit']] })).toBe('GH_ERR_REQUEST_INVALID');
    // PartiQL names its tables in SQL text the gateway does not parse: a forbid on "audit" could not hold.
    expect(ddb('ExecuteStatement', { Statement: 'DELETE FROM "audit" WHERE pk = \'x\'' })).toBe('GH_ERR_AWS_OPERATION_UNKNOWN');
    expect(ddb('ExecuteTransaction', { TransactStatements: [] })).toBe('GH_ERR_AWS_OPERATION_UNKNOWN');
  });

  it('query protocol: Action= from the query string or the form body, never both; credential minting flagged', () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
    expect(derive(head('POST', '/', { headers: form, body: Buffer.from('Action=AssumeRole&Version=2011-06-15&RoleArn=arn') }), 'sts')).toEqual(['aws:sts:AssumeRole', 'write', { RoleArn: 'arn' }, 'mints']);
    expect(derive(head('GET', '/?Action=AssumeRoleWithWebIdentity&Version=2011-06-15'), 'sts')).toEqual(['aws:sts:AssumeRoleWithWebIdentity', 'write', {}, 'mints']);
    expect(derive(head('POST', '/?Action=AssumeRole', { headers: form, body: Buffer.from('Action=AssumeRole') }), 'sts')).toBe('GH_ERR_AWS_OPERATION_AMBIGUOUS');
    expect(derive(head('POST', '/', { headers: form }), 'sts')).toBe('GH_ERR_AWS_OPERATION_UNKNOWN');
    // The whole STS model (@aws-sdk/client-sts): every call that mints a credential or token is flagged.
    expect(derive(head('POST', '/', { headers: form, body: Buffer.from('Action=GetCallerIdentity&Version=2011-06-15') }), 'sts')).toEqual(['aws:sts:GetCallerIdentity', 'read', {}]);
    const minting = Object.keys(AWS_SERVICE_MODELS['sts']!.operations).filter((op) => {
      const got = deriveOperation(head('POST', '/', { headers: form, body: Buffer.from(`Action=${op}&Version=2011-06-15`) }), { service: 'sts', region: 'eu-west-1' });
      return !('refusal' in got) && got.mintsCredentials;
    });
    expect(minting).toEqual(['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity', 'AssumeRoot', 'GetDelegatedAccessToken', 'GetFederationToken', 'GetSessionToken', 'GetWebIdentityToken']);
  });

  it('query protocol: a parameter given twice, in both places, badly encoded or in another charset is refused, never picked', () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
    const sts = (body: string, extra: Partial<AwsRequestHead> = {}): unknown => derive(head('POST', '/', { headers: form, body: Buffer.from(body), ...extra }), 'sts');
    expect(sts('Action=GetCallerIdentity&Action=GetSessionToken')).toBe('GH_ERR_AWS_OPERATION_AMBIGUOUS');
    expect(sts('Action=GetCallerIdentity&Version=2011-06-15&Version=2011-06-15')).toBe('GH_ERR_AWS_OPERATION_AMBIGUOUS');
    // The same name once encoded and once not is the same parameter.
    expect(sts('Action=AssumeRole&RoleArn=a&Role%41rn=b')).toBe('GH_ERR_AWS_OPERATION_AMBIGUOUS');
    expect(sts('Version=2011-06-15', { query: 'Action=GetSessionToken' })).toBe('GH_ERR_AWS_OPERATION_AMBIGUOUS');
    expect(sts('Action=GetCallerIdentity&x=%ZZ')).toBe('GH_ERR_REQUEST_INVALID');
    expect(sts('Action=GetCallerIdentity&x=%C3')).toBe('GH_ERR_REQUEST_INVALID');
    expect(sts('Action=GetCallerIdentity', { headers: { 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' } })).toBe('GH_ERR_REQUEST_INVALID');
    expect(sts('{"Action":"GetCallerIdentity"}', { headers: { 'content-type': 'application/json' } })).toBe('GH_ERR_REQUEST_INVALID');
    expect(sts('Action=Get+CallerIdentity')).toBe('GH_ERR_AWS_OPERATION_UNKNOWN');
  });

  it('REST JSON (SSO portal): the credential-minting GetRoleCredentials is flagged (its required bearer header is part of the match)', () => {
    expect(derive(head('GET', '/federation/credentials?role_name=r&account_id=1'), 'awsssoportal')).toBe('GH_ERR_AWS_OPERATION_UNKNOWN');
    expect(derive(head('GET', '/federation/credentials?role_name=r&account_id=1', { headers: { 'x-amz-sso_bearer_token': 't' } }), 'awsssoportal')).toEqual(['aws:awsssoportal:GetRoleCredentials', 'read', {}, 'mints']);
  });

  it('operations that stream events are marked from the model (S3 SelectObjectContent answers with an event stream)', () => {
    const streaming = Object.entries(AWS_SERVICE_MODELS).flatMap(([service, m]) => Object.entries(m.operations).filter(([, op]) => op.eventStream !== undefined).map(([name, op]) => `${service}:${name}:${op.eventStream}`));
    expect(streaming).toEqual([
      's3:SelectObjectContent:output',
      'lambda:InvokeWithResponseStream:output',
      'bedrock:ConverseStream:output',
      'bedrock:InvokeModelWithBidirectionalStream:input+output',
      'bedrock:InvokeModelWithResponseStream:output',
    ]);
    expect(deriveOperation(head('POST', '/b/k.csv?select&select-type=2'), { service: 's3', region: 'eu-west-1' })).toMatchObject({ action: 'aws:s3:SelectObjectContent', eventStream: 'output' });
  });

  it('Lambda, SQS and Bedrock runtime from their SDK models: function, queue and model id as resource hints', () => {
    expect(Object.fromEntries(['lambda', 'sqs', 'bedrock'].map((s) => [s, [AWS_SERVICE_MODELS[s]!.protocol, AWS_SERVICE_MODELS[s]!.source]]))).toEqual({
      lambda: ['restJson1', '@aws-sdk/client-lambda@3.1164.0'],
      sqs: ['awsJson1_0', '@aws-sdk/client-sqs@3.1164.0'],
      bedrock: ['restJson1', '@aws-sdk/client-bedrock-runtime@3.1164.0'],
    });
    // Lambda (REST-JSON): the function from the URI label.
    expect(derive(head('POST', '/2015-03-31/functions/my-fn/invocations'), 'lambda')).toEqual(['aws:lambda:Invoke', 'write', { FunctionName: 'my-fn' }]);
    expect(derive(head('GET', '/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Amy-fn'), 'lambda')).toEqual(['aws:lambda:GetFunction', 'read', { FunctionName: 'arn:aws:lambda:eu-west-1:123456789012:function:my-fn' }]);
    expect(derive(head('GET', '/2015-03-31/functions/'), 'lambda')).toEqual(['aws:lambda:ListFunctions', 'read', {}]);
    expect(derive(head('DELETE', '/2015-03-31/functions/my-fn'), 'lambda')).toEqual(['aws:lambda:DeleteFunction', 'write', { FunctionName: 'my-fn' }]);
    expect(derive(head('POST', '/2021-11-15/functions/my-fn/response-streaming-invocations'), 'lambda')).toEqual(['aws:lambda:InvokeWithResponseStream', 'write', { FunctionName: 'my-fn' }]);
    // SQS (JSON 1.0): the queue from QueueUrl (its name too) or QueueName.
    const sqs = (op: string, body: unknown): unknown => derive(head('POST', '/', { headers: { 'x-amz-target': `AmazonSQS.${op}` }, body: Buffer.from(JSON.stringify(body)) }), 'sqs');
    expect(sqs('SendMessage', { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo', MessageBody: 'x' })).toEqual(['aws:sqs:SendMessage', 'write', { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo', QueueName: 'jobs.fifo' }]);
    expect(sqs('ReceiveMessage', { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs' })).toEqual(['aws:sqs:ReceiveMessage', 'write', { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs', QueueName: 'jobs' }]);
    expect(sqs('GetQueueUrl', { QueueName: 'jobs' })).toEqual(['aws:sqs:GetQueueUrl', 'read', { QueueName: 'jobs' }]);
    expect(sqs('ListQueues', {})).toEqual(['aws:sqs:ListQueues', 'read', {}]);
    // Bedrock runtime (REST-JSON): the model id from the URI label; streaming answers marked, bidirectional input too.
    expect(derive(head('POST', '/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke'), 'bedrock')).toEqual(['aws:bedrock:InvokeModel', 'write', { modelId: 'anthropic.claude-3-haiku-20240307-v1:0' }]);
    expect(derive(head('POST', '/model/m/converse'), 'bedrock')).toEqual(['aws:bedrock:Converse', 'write', { modelId: 'm' }]);
    expect(deriveOperation(head('POST', '/model/m/converse-stream'), { service: 'bedrock', region: 'eu-west-1' })).toMatchObject({ action: 'aws:bedrock:ConverseStream', resources: { modelId: 'm' }, eventStream: 'output' });
    expect(deriveOperation(head('POST', '/model/m/invoke-with-bidirectional-stream'), { service: 'bedrock', region: 'eu-west-1' })).toMatchObject({ action: 'aws:bedrock:InvokeModelWithBidirectionalStream', eventStream: 'input+output' });
    // The default upstream is the model's endpoint: Bedrock runtime signs as bedrock at bedrock-runtime.<region>.
    const connection = (service: string) => awsConnectionSchema.parse({ name: 'c', kind: 'aws', service, region: 'eu-west-1', route: { pathPrefix: '/c' }, callerCredentials: { keys: 'env:K' } });
    expect(['bedrock', 'lambda', 'sqs', 's3', 'awsssoportal'].map((s) => endpointOf(connection(s)))).toEqual([
      'https://bedrock-runtime.eu-west-1.amazonaws.com',
      'https://lambda.eu-west-1.amazonaws.com',
      'https://sqs.eu-west-1.amazonaws.com',
      'https://s3.eu-west-1.amazonaws.com',
      'https://portal.sso.eu-west-1.amazonaws.com',
    ]);
  });

  it('read/write groups follow the name prefix; exceptions only ever make an operation write', () => {
    expect(['GetObject', 'ListBuckets', 'DescribeKey', 'HeadObject', 'Query', 'Scan', 'BatchGetItem'].map((o) => actionGroup('x', o))).toEqual(Array(7).fill('read'));
    expect(['PutObject', 'Getaway', 'Listen', 'BatchWriteItem', 'Decrypt'].map((o) => actionGroup('x', o))).toEqual(Array(5).fill('write'));
    expect(actionGroup('cognito-identity', 'GetId')).toBe('write');
  });
});
