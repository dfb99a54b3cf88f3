import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { AwsConnectionConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';
import { DECISION_CODES, type Operation } from '../../policy/decision';
import {
  HttpRefusal,
  type HttpAuthRequest,
  type HttpCaller,
  type HttpDialect,
  type HttpRequestBody,
  type HttpRequestHead,
  type HttpTranscript,
  type HttpUpstreamRequest,
  type HttpUpstreamRewrite,
} from '../kit/http-dialect';
import { authenticateAwsRequest, type AuthenticatedAwsRequest } from './authenticate';
import type { BrokeredCredentials } from './brokered';
import type { GatewayKeyring } from './credentials';
import { sendAwsError, type AwsWireProtocol } from './errors';
import { AWS_SERVICE_MODELS } from './model/services.generated';
import { deriveOperation, type AwsOperation } from './operations';
import { resignChunks, resignRequest, signingKey, type ChunkSigner, type UpstreamSignature } from './resign';
import type { SignedRequest } from './sigv4';
import { AwsCallTranscript } from './transcript';

/**
 * The `aws` connection kind on the HTTP exchange (kit/http-dialect.ts): the caller authenticates
 * with a SigV4 signature made with gateway-issued credentials (`authenticate`), each request is one
 * operation `aws:<service>:<Operation>` derived from the SDK models (`decode`), calls that mint or
 * reveal credentials are refused unless the connection lists them, the forwarded request is
 * re-signed with the brokered credential (`upstreamRequest`, re-framing signed aws-chunked bodies),
 * errors are AWS's own shape (`sendError`), and each call is recorded as `aws.response`.
 */
export interface AwsDialectOptions {
  readonly connection: AwsConnectionConfig;
  /** The caller-credential keyring (from the connection's `callerCredentials.keys` secret). */
  readonly keyring: () => GatewayKeyring | Promise<GatewayKeyring>;
  readonly brokered: BrokeredCredentials;
  /** Bytes of a JSON/query body judged whole (resource hints, `Action=`). */
  readonly bodyCap: number;
  /** Bytes of the response body kept in `aws.response`. */
  readonly recordCap: number;
  /** Milliseconds since epoch. @default Date.now */
  readonly now?: () => number;
}

/** What the dialect keeps about one request between its stages. */
interface AwsCall {
  readonly auth: AuthenticatedAwsRequest;
  operation?: AwsOperation;
}

/** The caller credential's scope: connections sharing one accept each other's credentials. */
export function credentialScopeOf(connection: AwsConnectionConfig): string {
  return connection.callerCredentials.scope ?? connection.name;
}

export function wireProtocolOf(service: string): AwsWireProtocol {
  const p = AWS_SERVICE_MODELS[service]?.protocol;
  return p === 'restXml' || p === undefined ? 'restXml' : p === 'awsQuery' || p === 'ec2Query' ? 'query' : 'json';
}

export function awsDialect(options: AwsDialectOptions): HttpDialect {
  const { connection, brokered } = options;
  const { service, region } = connection;
  const scope = credentialScopeOf(connection);
  const protocol = wireProtocolOf(service);
  const allowed = new Set(connection.allowCredentialOperations);
  const now = options.now ?? Date.now;
  return {
    name: `aws.${service}`,
    sessionProtocol: 'aws',
    // S3 is judged on its head (bucket, key, query); JSON and query protocols on the whole body.
    body: protocol === 'restXml' ? 'none' : 'whole',
    bodyCap: options.bodyCap,

    authenticate(request: HttpAuthRequest): HttpCaller | Promise<HttpCaller> {
      const k = options.keyring();
      return k instanceof Promise ? k.then((keyring) => authenticate(keyring, request)) : authenticate(k, request);
    },

    decode(head: HttpRequestHead, body: HttpRequestBody | undefined): Operation | HttpRefusal {
      const call = head.caller?.context as AwsCall | undefined;
      if (call === undefined) return new HttpRefusal(DECISION_CODES.awsAuthentication, 'GH_ERR_AWS_SIGNATURE_MISSING', 'the request was not authenticated by its AWS signature');
      const derived = deriveOperation(
        { method: head.method, path: head.routedPath, query: head.query ?? '', host: head.host, headers: singleHeaders(head.headers), ...(body?.complete === true ? { body: body.bytes } : {}) },
        { service, region, virtualHostSuffixes: connection.virtualHostSuffixes },
      );
      if ('refusal' in derived) return new HttpRefusal(derived.decision, derived.code, derived.message, plainOperation(head, service, region));
      call.operation = derived;
      const operation = awsOperation(head, derived, call.auth.accessKeyId);
      if (derived.eventStream !== undefined) {
        // Event-stream frames carry their own CRCs: masking could break them and the record would hold
        // binary frames, so these calls are refused until the gateway reads them frame by frame.
        return new HttpRefusal(
          DECISION_CODES.awsEventStream,
          'GH_ERR_AWS_EVENT_STREAM_UNSUPPORTED',
          `${derived.action} streams events (its ${derived.eventStream}), which this gateway does not judge, mask or record frame by frame: refused`,
          operation,
        );
      }
      if (derived.mintsCredentials && !allowed.has(derived.action)) {
        return new HttpRefusal(
          DECISION_CODES.awsMintsCredentials,
          'GH_ERR_POLICY_DENIED',
          `${derived.action} mints or reveals credentials: refused unless connection "${connection.name}" lists it in allowCredentialOperations (and policy allows it)`,
          operation,
        );
      }
      return operation;
    },

    async upstreamRequest(request: HttpUpstreamRequest): Promise<HttpUpstreamRewrite> {
      const call = request.head.caller!.context as AwsCall;
      const c = brokered.get();
      let credentials;
      try {
        credentials = c instanceof Promise ? await c : c;
      } catch (e) {
        throw new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `the brokered AWS credential of connection "${connection.name}" could not be obtained`, { cause: e });
      }
      const signature = call.auth.signature;
      const payload = signature.payload;
      // Without x-amz-content-sha256 the signature covers the body's hash: the whole body, known here (body: 'whole').
      const needsBody = request.headers['x-amz-content-sha256'] === undefined;
      if (needsBody && !request.body.complete) throw new GatehouseError('GH_ERR_MESSAGE_TOO_LARGE', 'a request body without x-amz-content-sha256 must fit the body cap to be re-signed');
      const upstream: UpstreamSignature = await resignRequest(
        { method: request.method, origin: request.origin, path: request.path, headers: request.headers, ...(needsBody ? { body: request.body.bytes } : {}), callerSigned: signature.signedHeaders, service, region },
        credentials,
      );
      if (payload.kind !== 'streaming' || payload.mode === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') return {};
      // Signed trailers: the trailing headers x-amz-trailer declares (a signed header, so the caller's).
      const trailer = request.headers['x-amz-trailer'];
      const trailers = payload.mode === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' ? trailerNames(trailer) : undefined;
      if (trailers !== undefined && trailers.length === 0) throw new GatehouseError('GH_ERR_AWS_PAYLOAD_HASH_MISMATCH', 'a STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER upload must declare its trailing headers in x-amz-trailer');
      // Signed chunks: each is checked in the caller's chain and re-signed in the upstream's.
      const callerSide: ChunkSigner = {
        key: signingKey(call.auth.secret, signature.date, signature.region, signature.service),
        amzDate: signature.amzDate,
        scope: `${signature.date}/${signature.region}/${signature.service}/aws4_request`,
        seed: signature.signature,
      };
      const day = upstream.amzDate.slice(0, 8);
      const upstreamSide: ChunkSigner = { key: signingKey(credentials.secretAccessKey, day, region, service), amzDate: upstream.amzDate, scope: `${day}/${region}/${service}/aws4_request`, seed: upstream.signature };
      return { body: (source) => resignChunks(source, callerSide, () => upstreamSide, trailers === undefined ? {} : { trailers }) };
    },

    transcript(head: HttpRequestHead): HttpTranscript | undefined {
      const call = head.caller?.context as AwsCall | undefined;
      if (call?.operation === undefined) return undefined;
      return new AwsCallTranscript(call.operation, options.recordCap);
    },

    responseBodyCap(head: HttpRequestHead): number | undefined {
      // An answer that carries credentials (an allowed GetSecretValue, AssumeRole) is never recorded.
      const call = head.caller?.context as AwsCall | undefined;
      return call?.operation?.mintsCredentials === true ? 0 : undefined;
    },

    sendError(res, err, extras) {
      sendAwsError(res, err, protocol, extras);
    },
  };

  function authenticate(keyring: GatewayKeyring, { req, body }: HttpAuthRequest): HttpCaller {
    const signed = signedRequestOf(req, body);
    const auth = authenticateAwsRequest(keyring, signed, { now: now(), connection: scope, region, service });
    const call: AwsCall = { auth };
    return { principal: auth.principal, context: call };
  }
}

/** The request as it arrived (raw target, raw header pairs) for the caller's signature. */
function signedRequestOf(req: IncomingMessage, body: HttpRequestBody): SignedRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const headers: [string, string][] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!]);
  return {
    method: req.method ?? 'GET',
    path: q < 0 ? url : url.slice(0, q),
    query: q < 0 ? '' : url.slice(q + 1),
    headers,
    ...(body.complete ? { body: body.bytes } : {}),
  };
}

/** The lower-case names of `x-amz-trailer` (comma-separated), unique. */
function trailerNames(value: string | string[] | number | undefined): string[] {
  const names = String(value ?? '')
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');
  return [...new Set(names)];
}

function singleHeaders(headers: IncomingHttpHeaders): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name in headers) {
    const v = headers[name];
    out[name] = Array.isArray(v) ? v.join(',') : v;
  }
  return out;
}

function awsOperation(head: HttpRequestHead, op: AwsOperation, accessKeyId: string): Operation {
  const attributes = {
    service: op.service,
    region: op.region,
    operation: op.operation,
    // The kind group: `aws:read` / `aws:write` (policy/entities.ts kindGroupOf).
    kind: op.group,
    mintsCredentials: op.mintsCredentials,
    resources: op.resources,
    // DynamoDB: every table the call names (`context.tables.contains("audit")` covers batch and transactional calls).
    ...(op.tables === undefined ? {} : { tables: op.tables }),
    connection: head.connectionName,
    method: head.method,
    path: head.routedPath,
    accessKeyId,
  };
  const hint =
    op.resources.Bucket !== undefined
      ? `${op.resources.Bucket}${op.resources.Key === undefined ? '' : '/' + op.resources.Key}`
      : op.tables !== undefined && op.tables.length > 0
        ? op.tables.join(', ')
        : Object.values(op.resources)[0];
  return {
    protocol: 'aws',
    action: op.action,
    attributes,
    summary: hint === undefined ? op.action : `${op.action} ${hint}`,
    details: () => head.approvalDetails(attributes),
  };
}

/** The operation named in the record of a request no operation could be derived for. */
function plainOperation(head: HttpRequestHead, service: string, region: string): Operation {
  const attributes = { service, region, connection: head.connectionName, method: head.method, path: head.routedPath };
  return { protocol: 'aws', action: `aws:${service}:Unknown`, attributes, summary: `${head.method} ${head.routedPath}`, details: () => head.approvalDetails(attributes) };
}
