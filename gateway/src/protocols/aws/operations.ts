import type { ErrorCode } from '../../errors';
import { DECISION_CODES, type DecisionCode } from '../../policy/decision';
import { AWS_SERVICE_MODELS } from './model/services.generated';
import type { AwsOperationModel, AwsServiceModel } from './model/types';
import { parseQuery } from './sigv4';
import { isJsonObject, parseStrictJson, StrictJsonError, type StrictJsonValue } from './strict-json';

/**
 * Which AWS operation a request is (issue 20, point 3), from the service models the SDK clients ship
 * (model/services.generated.ts, extracted by gateway/extract-aws-models.mjs): never hand-written
 * routes, never a guess. JSON protocols by `X-Amz-Target` (the body read strictly: strict-json.ts),
 * query protocols by `Action=` (query string or form body, not both; no parameter repeated), REST
 * protocols by method and URI template (the most specific template wins; two equally specific ones
 * refuse the request). What a call names as its resources (DynamoDB's tables) comes from the
 * members the SDK's models declare for it, every one of them.
 */

/** Whether an operation only reads or may change something. */
export type AwsActionGroup = 'read' | 'write';

export interface AwsOperation {
  /** Signing name of the service (`s3`, `kms`, `sts`, ...). */
  readonly service: string;
  readonly region: string;
  /** Model name of the operation (`GetObject`). */
  readonly operation: string;
  /** Policy action: `aws:<service>:<Operation>`. */
  readonly action: string;
  readonly group: AwsActionGroup;
  /** The call mints or reveals credentials (denied by default, decision `aws.mints_credentials`). */
  readonly mintsCredentials: boolean;
  /** The answer carries plaintext key material (KMS Decrypt, GenerateDataKey, ...): never recorded, though not refused by default. */
  readonly revealsPlaintext?: true;
  /** Resource hints for policy: bucket and key (S3), URI labels of REST operations, well-known members of JSON bodies. */
  readonly resources: Readonly<Record<string, string>>;
  /**
   * DynamoDB: every table the call names, from the members its model declares (`TableName`, each
   * key of `RequestItems`, each `TransactItems[].<Put|Update|Delete|ConditionCheck|Get>.TableName`,
   * `TableArn`, `BackupArn`, ...), a table ARN (or a backup, export, stream or index ARN under it)
   * reduced to the table's name; unique, sorted. Empty for calls that name none (ListTables).
   */
  readonly tables?: readonly string[];
  /** The operation streams events (`input`, `output` or `input+output`): refused by the dialect. */
  readonly eventStream?: string;
  /**
   * S3: the bucket the Host header named (virtual-hosted addressing). The upstream endpoint is
   * addressed path-style, so the forwarded request must name this bucket in its path: otherwise the
   * upstream would read the path's first segment as the bucket, not the one judged.
   */
  readonly hostBucket?: string;
}

/** A request that cannot be judged: refused with this code, never guessed at. */
export interface AwsOperationRefusal {
  readonly refusal: true;
  readonly code: ErrorCode;
  readonly decision: DecisionCode;
  readonly message: string;
}

export interface AwsRequestHead {
  readonly method: string;
  /** Raw path as received. */
  readonly path: string;
  /** Raw query without `?`. */
  readonly query: string;
  /** Host header (may carry a port). */
  readonly host: string;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The whole body when the dialect read it; needed for JSON hints and form-encoded `Action=`. */
  readonly body?: Uint8Array;
}

export interface DeriveOptions {
  /** Signing name from the verified credential scope. */
  readonly service: string;
  readonly region: string;
  /**
   * Host names the S3 connection answers on: `<bucket>.<suffix>` is a virtual-hosted bucket.
   * @default none: path-style addressing only
   */
  readonly virtualHostSuffixes?: readonly string[];
  /** The service models to judge by. @default the models extracted from the installed SDK clients */
  readonly models?: Readonly<Record<string, AwsServiceModel>>;
}

/**
 * Operations that mint or reveal credentials, denied unless policy explicitly allows them. This is a
 * security judgment, not model data: listed by hand, with names that may not be in the shipped
 * (trimmed) models yet so that a newer model cannot bring them in unflagged.
 */
const MINTS_CREDENTIALS: Readonly<Record<string, readonly string[]>> = {
  // GetDelegatedAccessToken and GetWebIdentityToken (outbound identity federation: a signed JWT) mint too.
  sts: ['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity', 'AssumeRoot', 'GetDelegatedAccessToken', 'GetFederationToken', 'GetSessionToken', 'GetWebIdentityToken'],
  awsssoportal: ['GetRoleCredentials'],
  'sso-oauth': ['CreateToken', 'CreateTokenWithIAM'],
  'cognito-identity': ['GetCredentialsForIdentity', 'GetOpenIdToken', 'GetOpenIdTokenForDeveloperIdentity'],
  secretsmanager: ['GetSecretValue', 'BatchGetSecretValue'],
};

/**
 * Operations whose answer carries plaintext key material or secret bytes. They are everyday calls
 * (an application decrypts with KMS), so they are judged by policy like any other, but their answer
 * is kept out of the record like a minted credential's: a recorded data key would unlock whatever it encrypted.
 */
const REVEALS_PLAINTEXT: Readonly<Record<string, readonly string[]>> = {
  kms: ['Decrypt', 'DeriveSharedSecret', 'GenerateDataKey', 'GenerateDataKeyPair', 'GenerateRandom'],
};

/** The answer of this call must never be recorded: it mints or reveals credentials, or carries plaintext key material. */
export function answerIsSecret(operation: Pick<AwsOperation, 'mintsCredentials' | 'revealsPlaintext'>): boolean {
  return operation.mintsCredentials || operation.revealsPlaintext === true;
}

/** Name prefixes of operations that only read (AWS's own naming convention). */
const READ_PREFIXES = ['Get', 'List', 'Describe', 'Head', 'Query', 'Scan', 'BatchGet', 'TransactGet'];

/**
 * Exceptions to the prefix rule. They only ever move an operation from read to write (failing safe):
 * Cognito's GetId creates an identity in the pool.
 */
const WRITE_DESPITE_NAME: Readonly<Record<string, readonly string[]>> = {
  'cognito-identity': ['GetId'],
};

/**
 * Operations that name their resources in a statement's text rather than in members (DynamoDB's
 * PartiQL calls: `DELETE FROM "audit" ...`). The gateway does not parse the statement, so it cannot
 * say which tables they touch, and a per-table policy would not hold: refused, never guessed at.
 */
const RESOURCES_IN_STATEMENT: Readonly<Record<string, readonly string[]>> = {
  dynamodb: ['BatchExecuteStatement', 'ExecuteStatement', 'ExecuteTransaction'],
};

/** The media types the SDKs send for the JSON protocols (awsJson1_0: DynamoDB, SQS, ...; awsJson1_1: KMS, Secrets Manager, ...). */
const JSON_CONTENT_TYPES = ['application/x-amz-json-1.0', 'application/x-amz-json-1.1'];

/** Top-level JSON members that name the resource a call acts on. */
const JSON_HINTS = ['TableName', 'SecretId', 'KeyId', 'FunctionName', 'QueueUrl', 'QueueName', 'IdentityId', 'IdentityPoolId', 'RoleArn', 'StreamName', 'LogGroupName'];

/** SQS names a queue by its URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`): its last segment is the queue's name. */
function queueNameOf(url: string): string | undefined {
  const m = /\/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)\/?$/.exec(url);
  return m?.[1];
}

/** The read/write group of an operation: the prefix rule, then the exceptions. */
export function actionGroup(service: string, operation: string): AwsActionGroup {
  if (WRITE_DESPITE_NAME[service]?.includes(operation)) return 'write';
  // A prefix counts as a word: `Query`, `GetObject`, not `Getaway`.
  return READ_PREFIXES.some((p) => operation.startsWith(p) && /^(?:[A-Z]|$)/.test(operation.slice(p.length))) ? 'read' : 'write';
}

export function mintsCredentials(service: string, operation: string): boolean {
  return MINTS_CREDENTIALS[service]?.includes(operation) ?? false;
}

/** Derives the one operation a request is, or refuses it. Pure; never throws on client input. */
export function deriveOperation(head: AwsRequestHead, options: DeriveOptions): AwsOperation | AwsOperationRefusal {
  const models = options.models ?? AWS_SERVICE_MODELS;
  const model = Object.hasOwn(models, options.service) ? models[options.service] : undefined;
  if (!model) return refuse('GH_ERR_AWS_SERVICE_UNKNOWN', `no operation model is known for service ${options.service}`);
  let found: Found | AwsOperationRefusal;
  switch (model.protocol) {
    case 'awsJson1_0':
    case 'awsJson1_1':
      found = jsonOperation(head, model);
      break;
    case 'awsQuery':
    case 'ec2Query':
      found = queryOperation(head, model);
      break;
    case 'restXml':
    case 'restJson1':
      found = restOperation(head, model, options);
      break;
    default:
      return refuse('GH_ERR_AWS_SERVICE_UNKNOWN', `service ${options.service} speaks ${model.protocol}, which the gateway does not decode`);
  }
  if ('refusal' in found) return found;
  if (options.service === 's3' && COPY_OPERATIONS.includes(found.operation)) {
    const source = copySourceOf(head.headers['x-amz-copy-source'] ?? '');
    if (source.refusal === true) return source as AwsOperationRefusal;
    found = { ...found, resources: { ...found.resources, SourceBucket: source.SourceBucket, SourceKey: source.SourceKey, ...(source.SourceVersionId === undefined ? {} : { SourceVersionId: source.SourceVersionId }) } };
  }
  if (RESOURCES_IN_STATEMENT[options.service]?.includes(found.operation)) {
    return refuse('GH_ERR_AWS_OPERATION_UNKNOWN', `aws:${options.service}:${found.operation} names its tables inside a PartiQL statement, which the gateway does not parse: refused (use the item and batch operations, whose tables are judged)`);
  }
  return {
    service: options.service,
    region: options.region,
    operation: found.operation,
    action: `aws:${options.service}:${found.operation}`,
    group: actionGroup(options.service, found.operation),
    mintsCredentials: mintsCredentials(options.service, found.operation),
    ...(REVEALS_PLAINTEXT[options.service]?.includes(found.operation) === true ? { revealsPlaintext: true as const } : {}),
    resources: found.resources,
    ...(options.service === 'dynamodb' ? { tables: [...new Set((found.named ?? []).map(dynamoTableOf))].sort() } : {}),
    ...(model.operations[found.operation]?.eventStream === undefined ? {} : { eventStream: model.operations[found.operation]!.eventStream! }),
    ...(found.hostBucket === undefined ? {} : { hostBucket: found.hostBucket }),
  };
}

/** S3 operations that read another object (named by `x-amz-copy-source`) besides the one they write. */
const COPY_OPERATIONS = ['CopyObject', 'UploadPartCopy'];

/**
 * The object a copy reads, as S3 reads `x-amz-copy-source` (`[/]bucket/key[?versionId=v]`, URL-encoded
 * once), as the resource hints `SourceBucket`, `SourceKey` (and `SourceVersionId`), so that policy can
 * forbid copying out of a bucket. Forms the gateway cannot reduce to one bucket and key are refused:
 * access-point and Outposts ARNs, a second encoding (`%25xx`), `.`/`..` segments, NUL and control characters.
 */
export function copySourceOf(header: string): { readonly refusal?: undefined; readonly SourceBucket: string; readonly SourceKey: string; readonly SourceVersionId?: string } | AwsOperationRefusal {
  const bad = (why: string): AwsOperationRefusal => refuse('GH_ERR_REQUEST_INVALID', `x-amz-copy-source ${why}: refused`);
  if (header === '' || /[\x00-\x1f\x7f]/.test(header)) return bad('is empty or carries control characters');
  const q = header.indexOf('?');
  const raw = (q < 0 ? header : header.slice(0, q)).replace(/^\//, '');
  let versionId: string | undefined;
  if (q >= 0) {
    const m = /^versionId=([^&=?]+)$/.exec(header.slice(q + 1));
    if (!m) return bad('takes no query but ?versionId=');
    versionId = m[1]!;
  }
  if (/^arn(:|%3a)/i.test(raw)) return bad('names an access point or Outposts ARN, which the gateway does not reduce to a bucket');
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return bad('does not decode');
  }
  if (/%[0-9a-f]{2}/i.test(decoded)) return bad('is encoded twice (a reader decoding again would name another object)');
  if (/[\x00-\x1f\x7f]/.test(decoded)) return bad('decodes to control characters');
  const slash = decoded.indexOf('/');
  const bucket = slash < 0 ? '' : decoded.slice(0, slash);
  const key = slash < 0 ? '' : decoded.slice(slash + 1);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(bucket) || key === '') return bad('names no bucket and key');
  if (key.split('/').some((seg) => seg === '.' || seg === '..')) return bad('has a . or .. segment');
  return { SourceBucket: bucket, SourceKey: key, ...(versionId === undefined ? {} : { SourceVersionId: versionId }) };
}

/** What a protocol's decoder found: the operation, its resource hints, and every resource its model's paths reach. */
interface Found {
  readonly operation: string;
  readonly resources: Record<string, string>;
  readonly named?: readonly string[];
  readonly hostBucket?: string;
}

/** A DynamoDB table ARN, or an ARN under a table (backup, export, import, stream, index), as the table's name. */
const DYNAMO_TABLE_ARN = /^arn:[a-z0-9-]+:dynamodb:[a-z0-9-]*:\d*:table\/([^/]+)(?:\/.*)?$/s;

export function dynamoTableOf(name: string): string {
  return DYNAMO_TABLE_ARN.exec(name)?.[1] ?? name;
}

function refuse(code: ErrorCode, message: string): AwsOperationRefusal {
  return { refusal: true, code, decision: DECISION_CODES.awsOperationUndecodable, message };
}

function jsonOperation(head: AwsRequestHead, model: AwsServiceModel): Found | AwsOperationRefusal {
  if (head.method.toUpperCase() !== 'POST') return refuse('GH_ERR_AWS_OPERATION_UNKNOWN', `${model.target} takes POST requests only`);
  // The operation is judged on X-Amz-Target and the JSON body alone: a query string or a form body
  // could be read as another operation (SQS's query compatibility: `?Action=DeleteQueue`), so neither passes.
  if (head.query !== '') return refuse('GH_ERR_REQUEST_INVALID', `${model.target} takes its input in a JSON body: a query string is refused`);
  const contentType = (head.headers['content-type'] ?? '').trim().toLowerCase();
  if (!JSON_CONTENT_TYPES.includes(contentType)) {
    return refuse('GH_ERR_REQUEST_INVALID', `${model.target} takes a JSON body (Content-Type ${JSON_CONTENT_TYPES.join(' or ')}), not ${contentType === '' ? 'none' : JSON.stringify(contentType.slice(0, 100))}`);
  }
  const target = head.headers['x-amz-target'];
  if (target === undefined) return refuse('GH_ERR_AWS_OPERATION_UNKNOWN', 'the request has no X-Amz-Target header');
  const prefix = `${model.target}.`;
  const operation = target.startsWith(prefix) ? target.slice(prefix.length) : undefined;
  if (operation === undefined || !Object.hasOwn(model.operations, operation)) return refuse('GH_ERR_AWS_OPERATION_UNKNOWN', 'X-Amz-Target names no operation of the service model');
  const resources: Record<string, string> = {};
  let parsed: StrictJsonValue = {};
  if (head.body !== undefined && head.body.length > 0) {
    try {
      parsed = parseStrictJson(head.body);
    } catch (e) {
      // Judged as the service would read it, or not at all: a duplicate member could name another table.
      return refuse('GH_ERR_REQUEST_INVALID', e instanceof StrictJsonError ? `the JSON body is refused: ${e.message}` : 'the JSON body does not parse');
    }
    if (!isJsonObject(parsed)) return refuse('GH_ERR_REQUEST_INVALID', 'the JSON body is not an object');
    for (const name of JSON_HINTS) {
      const value = Object.hasOwn(parsed, name) ? parsed[name] : undefined;
      if (typeof value === 'string') resources[name] = value;
    }
    if (resources.QueueUrl !== undefined && resources.QueueName === undefined) {
      const queue = queueNameOf(resources.QueueUrl);
      if (queue !== undefined) resources.QueueName = queue;
    }
  }
  const paths = model.operations[operation]!.resourcePaths;
  if (paths === undefined) return { operation, resources };
  const named: string[] = [];
  for (const path of paths) {
    const problem = collectNamed(parsed, path, 0, named);
    if (problem !== undefined) return refuse('GH_ERR_REQUEST_INVALID', `the JSON body does not fit the ${operation} model: ${problem}`);
    // A member naming one resource is also a hint (TableName, BackupArn, ResourceArn).
    if (path.length === 1 && isJsonObject(parsed) && Object.hasOwn(parsed, path[0]!) && typeof parsed[path[0]!] === 'string') resources[path[0]!] = parsed[path[0]!] as string;
  }
  return { operation, resources, named };
}

/**
 * Every string a resource path reaches, into `out`; a problem when the body takes another shape
 * than the model's along the path (the service would refuse it; the gateway does not guess) or
 * spells a member of the path in another letter case (a case-insensitive reader could take it).
 */
function collectNamed(value: StrictJsonValue | undefined, path: readonly string[], i: number, out: string[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (i === path.length) {
    if (typeof value !== 'string') return `${path.join('.')} is not a string`;
    out.push(value);
    return undefined;
  }
  const step = path[i]!;
  if (step === '[]') {
    if (!Array.isArray(value)) return `${path.slice(0, i).join('.')} is not a list`;
    for (const element of value as readonly StrictJsonValue[]) {
      const problem = collectNamed(element, path, i + 1, out);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  if (!isJsonObject(value)) return `${path.slice(0, i).join('.') || 'the body'} is not an object`;
  if (step === '{}') {
    for (const key of Object.keys(value)) out.push(key);
    return undefined;
  }
  if (!Object.hasOwn(value, step)) {
    const lower = step.toLowerCase();
    if (Object.keys(value).some((k) => k.toLowerCase() === lower)) return `member ${step} is spelled in another letter case`;
    return undefined;
  }
  return collectNamed(value[step], path, i + 1, out);
}

/**
 * Query protocols (STS, ...): the parameters come from the query string or from a form-encoded
 * body, never both; no parameter may be given twice, none may decode badly. The service would merge,
 * pick or reject these differently than the gateway, so they are refused rather than interpreted.
 */
function queryOperation(head: AwsRequestHead, model: AwsServiceModel): Found | AwsOperationRefusal {
  let fromQuery: [string, string][];
  try {
    fromQuery = parseQuery(head.query);
  } catch {
    return refuse('GH_ERR_REQUEST_INVALID', 'the query string does not decode');
  }
  const contentType = (head.headers['content-type'] ?? '').toLowerCase();
  const form = contentType.split(';')[0]!.trim() === 'application/x-www-form-urlencoded';
  let fromBody: [string, string][] = [];
  if (form) {
    if (head.body === undefined) return refuse('GH_ERR_AWS_OPERATION_UNKNOWN', 'a form-encoded query request must be judged on its body');
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/.exec(contentType)?.[1];
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return refuse('GH_ERR_REQUEST_INVALID', `a form body in charset ${charset} is not judged (UTF-8 only)`);
    const decoded = parseForm(head.body);
    if (decoded === undefined) return refuse('GH_ERR_REQUEST_INVALID', 'the form body does not decode (bad percent-encoding or UTF-8)');
    fromBody = decoded;
  } else if (head.body !== undefined && head.body.length > 0) {
    return refuse('GH_ERR_REQUEST_INVALID', 'a query-protocol body must be application/x-www-form-urlencoded');
  }
  if (fromQuery.length > 0 && fromBody.length > 0) return refuse('GH_ERR_AWS_OPERATION_AMBIGUOUS', 'parameters are given in both the query string and the body');
  const params = new Map<string, string>();
  for (const [k, v] of fromBody.length > 0 ? fromBody : fromQuery) {
    if (params.has(k)) return refuse('GH_ERR_AWS_OPERATION_AMBIGUOUS', `parameter ${k.slice(0, 64)} is given more than once`);
    params.set(k, v);
  }
  const operation = params.get('Action');
  if (operation === undefined || !Object.hasOwn(model.operations, operation)) return refuse('GH_ERR_AWS_OPERATION_UNKNOWN', 'Action= names no operation of the service model');
  const resources: Record<string, string> = {};
  for (const name of JSON_HINTS) {
    const value = params.get(name);
    if (value !== undefined) resources[name] = value;
  }
  return { operation, resources };
}

/** `application/x-www-form-urlencoded` pairs, strictly: `+` is a space, a bad escape or bad UTF-8 is undefined. */
function parseForm(body: Uint8Array): [string, string][] | undefined {
  const text = Buffer.from(body).toString('latin1');
  // Percent-escapes carry any non-ASCII byte; a raw one is not form encoding.
  if (/[^\x20-\x7e]/.test(text)) return undefined;
  const out: [string, string][] = [];
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    try {
      const k = decodeURIComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
      const v = decodeURIComponent((eq < 0 ? '' : pair.slice(eq + 1)).replace(/\+/g, ' '));
      out.push([k, v]);
    } catch {
      return undefined;
    }
  }
  return out;
}

interface Template {
  readonly operation: string;
  /** Path segments: literal text, `{Label}` or `{Label+}` (greedy, last). */
  readonly segments: readonly string[];
  /** Required query literals: name → value ('' for a bare `?acl`). */
  readonly literals: ReadonlyMap<string, string>;
  /** The `x-id` literal the SDK adds to S3 URIs: optional on the wire, but when sent it must name the operation. */
  readonly xId?: string;
  readonly model: AwsOperationModel;
}

const templateCache = new WeakMap<AwsServiceModel, readonly Template[]>();

function templates(model: AwsServiceModel): readonly Template[] {
  let list = templateCache.get(model);
  if (list) return list;
  list = Object.entries(model.operations)
    .filter(([, op]) => op.method !== undefined && op.uri !== undefined)
    .map(([operation, op]) => {
      const [path, query = ''] = op.uri!.split('?', 2) as [string, string?];
      const literals = new Map<string, string>();
      let xId: string | undefined;
      for (const part of query.split('&').filter((p) => p !== '')) {
        const eq = part.indexOf('=');
        const name = eq < 0 ? part : part.slice(0, eq);
        const value = eq < 0 ? '' : part.slice(eq + 1);
        if (name === 'x-id') xId = value;
        else literals.set(name, value);
      }
      return { operation, segments: path.split('/').filter((s) => s !== ''), literals, ...(xId === undefined ? {} : { xId }), model: op };
    });
  templateCache.set(model, list);
  return list;
}

function restOperation(head: AwsRequestHead, model: AwsServiceModel, options: DeriveOptions): Found | AwsOperationRefusal {
  let query: [string, string][];
  try {
    query = parseQuery(head.query);
  } catch {
    return refuse('GH_ERR_REQUEST_INVALID', 'the query string does not decode');
  }
  const queryMap = new Map<string, string>();
  for (const [k, v] of query) {
    if (queryMap.has(k)) return refuse('GH_ERR_AWS_OPERATION_AMBIGUOUS', `query parameter ${k} is repeated`);
    queryMap.set(k, v);
  }
  let path = head.path === '' ? '/' : head.path;
  let bucket: string | undefined;
  let hostBucket: string | undefined;
  if (options.service === 's3') {
    const host = head.host.toLowerCase().replace(/:\d+$/, '');
    const suffix = options.virtualHostSuffixes?.find((s) => host.endsWith(`.${s.toLowerCase()}`));
    if (suffix !== undefined) {
      bucket = host.slice(0, host.length - suffix.length - 1);
      // A bucket name is DNS-safe (lower case, digits, dots, hyphens): anything else cannot be forwarded path-style as judged.
      if (!/^[a-z0-9][a-z0-9.-]*$/.test(bucket)) return refuse('GH_ERR_REQUEST_INVALID', 'the virtual-hosted S3 bucket name is not a valid bucket name');
      hostBucket = bucket;
    } else {
      const m = /^\/([^/]+)(\/.*)?$/.exec(path);
      if (m) {
        bucket = decodeSegment(m[1]!);
        path = m[2] ?? '/';
      }
    }
    if (bucket === undefined && path !== '/') return refuse('GH_ERR_AWS_OPERATION_UNKNOWN', 'the S3 request names no bucket');
    if (bucket === '') return refuse('GH_ERR_REQUEST_INVALID', 'the S3 bucket name does not decode');
  }
  const method = head.method.toUpperCase();
  let best: { score: number; matches: { operation: string; resources: Record<string, string> }[] } = { score: -1, matches: [] };
  for (const t of templates(model)) {
    if (t.model.method !== method) continue;
    if (options.service === 's3') {
      if (Boolean(t.model.bucket) !== (bucket !== undefined)) continue;
      // Without a bucket, the S3 Express control-plane operations go to another endpoint than this one.
      if (bucket === undefined && t.model.s3ExpressControl) continue;
    }
    const labels = matchPath(t.segments, path);
    if (!labels) continue;
    if (!queryFits(t, queryMap)) continue;
    const requiredHeaders = t.model.requiredHeaders ?? [];
    if (!requiredHeaders.every((h) => head.headers[h] !== undefined)) continue;
    // Most specific first: query literals, then required query parameters and headers, then literal path segments.
    const score =
      t.literals.size * 10000 +
      ((t.model.requiredQuery?.length ?? 0) + requiredHeaders.length) * 100 +
      t.segments.filter((s) => !s.startsWith('{')).length * 10 +
      (t.segments.some((s) => s.endsWith('+}')) ? 0 : 1);
    const resources = { ...(bucket === undefined ? {} : { Bucket: bucket }), ...labels };
    if (score > best.score) best = { score, matches: [{ operation: t.operation, resources }] };
    else if (score === best.score) best.matches.push({ operation: t.operation, resources });
  }
  if (best.matches.length === 0) return refuse('GH_ERR_AWS_OPERATION_UNKNOWN', `no ${options.service} operation matches ${method} with these query parameters`);
  if (best.matches.length > 1) {
    return refuse('GH_ERR_AWS_OPERATION_AMBIGUOUS', `the request matches ${best.matches.map((m) => m.operation).sort().join(' and ')} equally`);
  }
  return hostBucket === undefined ? best.matches[0]! : { ...best.matches[0]!, hostBucket };
}

function queryFits(t: Template, query: ReadonlyMap<string, string>): boolean {
  for (const [name, value] of t.literals) {
    if (query.get(name) !== value) return false;
  }
  for (const name of t.model.requiredQuery ?? []) {
    if (!query.has(name)) return false;
  }
  const xId = query.get('x-id');
  if (xId !== undefined && xId !== t.xId) return false;
  if (t.model.anyQuery) return true;
  const declared = t.model.query ?? [];
  for (const name of query.keys()) {
    if (name !== 'x-id' && !t.literals.has(name) && !declared.includes(name)) return false;
  }
  return true;
}

/** Matches a raw path against template segments; label values decoded. Undefined when it does not match. */
function matchPath(segments: readonly string[], path: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  let rest = path.startsWith('/') ? path.slice(1) : path;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg.startsWith('{') && seg.endsWith('+}')) {
      if (i !== segments.length - 1 || rest === '') return undefined;
      const value = decodePath(rest);
      if (value === undefined) return undefined;
      labels[seg.slice(1, -2)] = value;
      return labels;
    }
    const slash = rest.indexOf('/');
    const raw = slash < 0 ? rest : rest.slice(0, slash);
    rest = slash < 0 ? '' : rest.slice(slash + 1);
    if (raw === '') return undefined;
    const value = decodeSegment(raw);
    if (value === '') return undefined;
    if (seg.startsWith('{')) labels[seg.slice(1, -1)] = value;
    else if (value !== seg) return undefined;
  }
  return rest === '' ? labels : undefined;
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return '';
  }
}

function decodePath(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}
