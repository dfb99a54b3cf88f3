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
import { EventStreamPassThrough, isEventStream } from './event-stream';
import { AWS_SERVICE_MODELS } from './model/services.generated';
import { answerIsSecret, deriveOperation, type AwsOperation } from './operations';
import { PRESIGN_PARAM, verifyPresignTicket, type PresignTicket } from './presign';
import { resignChunks, resignRequest, signingKey, type ChunkSigner, type UpstreamSignature } from './resign';
import { parseQuery, type SignedRequest } from './sigv4';
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
  /**
   * The connection masks its responses: an event-stream answer then takes the masking path as
   * binary content (the connection's `masking.binary` passes or refuses it), since its frames'
   * CRCs would not survive masking. @default false
   */
  readonly masks?: boolean;
}

/** What the dialect keeps about one request between its stages: a SigV4-authenticated call, or a gateway presigned URL's. */
interface AwsCall {
  readonly auth?: AuthenticatedAwsRequest;
  readonly presign?: PresignTicket;
  operation?: AwsOperation;
  /** An event-stream answer being passed through (its summary goes into `aws.response`). */
  events?: EventStreamPassThrough;
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
      const presign = call.presign;
      const derived = deriveOperation(
        // A presigned URL's only query parameter is its ticket (checked by authenticate): the operation is the URL's without it.
        { method: head.method, path: head.routedPath, query: presign === undefined ? (head.query ?? '') : '', host: head.host, headers: singleHeaders(head.headers), ...(body?.complete === true ? { body: body.bytes } : {}) },
        { service, region, virtualHostSuffixes: connection.virtualHostSuffixes },
      );
      if ('refusal' in derived) return new HttpRefusal(derived.decision, derived.code, derived.message, plainOperation(head, service, region));
      call.operation = derived;
      const operation = awsOperation(head, derived, call.auth?.accessKeyId, presign?.id);
      if (presign !== undefined && (presign.method !== head.method || presign.operation !== derived.operation || presign.bucket !== derived.resources.Bucket || presign.key !== derived.resources.Key)) {
        return new HttpRefusal(
          DECISION_CODES.awsPresigned,
          'GH_ERR_AWS_PRESIGN_INVALID',
          `the presigned URL grants ${presign.method} (${presign.operation}) of ${presign.bucket}/${presign.key}, not ${head.method} (${derived.operation})${derived.resources.Bucket === undefined ? '' : ` of ${derived.resources.Bucket}/${derived.resources.Key ?? ''}`}`,
          operation,
        );
      }
      if (derived.eventStream?.includes('input')) {
        // A request that is itself an event stream (HTTP/2 bidirectional: Transcribe streaming,
        // Bedrock's bidirectional stream): the gateway would forward events it never judged.
        return new HttpRefusal(
          DECISION_CODES.awsEventStream,
          'GH_ERR_AWS_EVENT_STREAM_UNSUPPORTED',
          `${derived.action} sends its input as an event stream (HTTP/2 bidirectional), which this gateway does not judge event by event: refused`,
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
      // An answer that is an event stream passes message by message, each checked (event-stream.ts).
      const response = call.operation?.eventStream?.includes('output') === true && options.masks !== true ? eventStreamResponse(call) : undefined;
      const withResponse = (rewrite: HttpUpstreamRewrite): HttpUpstreamRewrite => (response === undefined ? rewrite : { ...rewrite, response });
      // What is forwarded names the bucket that was judged: a virtual-hosted bucket moves into the path.
      const forwardPath = pathStyle(request.path, request.head.routedPath, call.operation?.hostBucket);
      const withPath = (rewrite: HttpUpstreamRewrite): HttpUpstreamRewrite => withResponse(forwardPath === request.path ? rewrite : { path: forwardPath, ...rewrite });
      if (call.presign !== undefined) {
        // A gateway presigned URL: the ticket leaves with the query (its only parameter); the body of a
        // PUT streams as it comes (UNSIGNED-PAYLOAD, as S3's own presigned uploads).
        const q = forwardPath.indexOf('?');
        const path = q < 0 ? forwardPath : forwardPath.slice(0, q);
        request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        await resignRequest({ method: request.method, origin: request.origin, path, headers: request.headers, callerSigned: ['x-amz-content-sha256'], service, region }, credentials);
        return withResponse({ path });
      }
      const auth = call.auth!;
      const signature = auth.signature;
      const payload = signature.payload;
      // Without x-amz-content-sha256 the signature covers the body's hash: the whole body, known here (body: 'whole').
      const needsBody = request.headers['x-amz-content-sha256'] === undefined;
      if (needsBody && !request.body.complete) throw new GatehouseError('GH_ERR_MESSAGE_TOO_LARGE', 'a request body without x-amz-content-sha256 must fit the body cap to be re-signed');
      const upstream: UpstreamSignature = await resignRequest(
        { method: request.method, origin: request.origin, path: forwardPath, headers: request.headers, ...(needsBody ? { body: request.body.bytes } : {}), callerSigned: signature.signedHeaders, service, region },
        credentials,
      );
      if (payload.kind !== 'streaming' || payload.mode === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') return withPath({});
      // Signed trailers: the trailing headers x-amz-trailer declares (a signed header, so the caller's).
      const trailer = request.headers['x-amz-trailer'];
      const trailers = payload.mode === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' ? trailerNames(trailer) : undefined;
      if (trailers !== undefined && trailers.length === 0) throw new GatehouseError('GH_ERR_AWS_PAYLOAD_HASH_MISMATCH', 'a STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER upload must declare its trailing headers in x-amz-trailer');
      // Signed chunks: each is checked in the caller's chain and re-signed in the upstream's.
      const callerSide: ChunkSigner = {
        key: signingKey(auth.secret, signature.date, signature.region, signature.service),
        amzDate: signature.amzDate,
        scope: `${signature.date}/${signature.region}/${signature.service}/aws4_request`,
        seed: signature.signature,
      };
      const day = upstream.amzDate.slice(0, 8);
      const upstreamSide: ChunkSigner = { key: signingKey(credentials.secretAccessKey, day, region, service), amzDate: upstream.amzDate, scope: `${day}/${region}/${service}/aws4_request`, seed: upstream.signature };
      return withPath({ body: (source) => resignChunks(source, callerSide, () => upstreamSide, trailers === undefined ? {} : { trailers }) });
    },

    transcript(head: HttpRequestHead): HttpTranscript | undefined {
      const call = head.caller?.context as AwsCall | undefined;
      if (call?.operation === undefined) return undefined;
      return new AwsCallTranscript(call.operation, options.recordCap, () => call.events?.summary(), call.presign?.id);
    },

    responseBodyCap(head: HttpRequestHead): number | undefined {
      // An answer that carries credentials (an allowed GetSecretValue, AssumeRole) or plaintext keys (KMS Decrypt) is never recorded.
      const call = head.caller?.context as AwsCall | undefined;
      return call?.operation !== undefined && answerIsSecret(call.operation) ? 0 : undefined;
    },

    sendError(res, err, extras) {
      sendAwsError(res, err, protocol, extras);
    },
  };

  function authenticate(keyring: GatewayKeyring, { req, body }: HttpAuthRequest): HttpCaller {
    const ticket = presignTicketOf(req);
    if (ticket !== undefined) {
      // A gateway presigned URL (presign.ts): the ticket is the whole authentication, for S3 objects only.
      if (service !== 's3') throw new GatehouseError('GH_ERR_AWS_PRESIGN_INVALID', 'gateway presigned URLs are for S3 objects');
      const presign = verifyPresignTicket(keyring, ticket, connection.name, Math.floor(now() / 1000));
      const call: AwsCall = { presign };
      return { principal: presign.principal, context: call };
    }
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

/**
 * The ticket of a gateway presigned URL, when the request carries one: then it must be the query's
 * only parameter and the request must carry no other AWS authentication (the ticket is all it grants).
 */
function presignTicketOf(req: IncomingMessage): string | undefined {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  if (q < 0 || !url.slice(q + 1).toLowerCase().includes(PRESIGN_PARAM.toLowerCase())) return undefined;
  let params: [string, string][];
  try {
    params = parseQuery(url.slice(q + 1));
  } catch {
    throw new GatehouseError('GH_ERR_AWS_PRESIGN_INVALID', 'the presigned URL\'s query does not decode');
  }
  const named = params.filter(([k]) => k.toLowerCase() === PRESIGN_PARAM.toLowerCase());
  if (named.length === 0) return undefined;
  if (params.length !== 1 || named[0]![0] !== PRESIGN_PARAM) throw new GatehouseError('GH_ERR_AWS_PRESIGN_INVALID', `a gateway presigned URL carries ${PRESIGN_PARAM} once and no other query parameter`);
  if (req.headers.authorization !== undefined || Object.keys(req.headers).some((h) => h.startsWith('x-amz-'))) {
    throw new GatehouseError('GH_ERR_AWS_AUTH_AMBIGUOUS', 'a gateway presigned URL is used without Authorization or x-amz-* headers: the ticket is its whole authentication');
  }
  return named[0]![1];
}

/** The response rewrite of an operation whose answer may be an event stream (an error answer is not). */
function eventStreamResponse(call: AwsCall): NonNullable<HttpUpstreamRewrite['response']> {
  return (_status, headers) => {
    if (!isEventStream(headers['content-type'])) return undefined;
    call.events = new EventStreamPassThrough();
    return call.events;
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

function awsOperation(head: HttpRequestHead, op: AwsOperation, accessKeyId: string | undefined, presign: string | undefined): Operation {
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
    ...(accessKeyId === undefined ? {} : { accessKeyId }),
    // A gateway presigned URL's ticket id (recorded when it was issued).
    ...(presign === undefined ? {} : { presign }),
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

/**
 * The upstream path (with its query) of a request whose bucket the Host header named: the bucket
 * becomes the path's first segment, as the path-style endpoint reads it. Unchanged without one.
 */
export function pathStyle(upstreamPath: string, routedPath: string, hostBucket: string | undefined): string {
  if (hostBucket === undefined) return upstreamPath;
  const q = upstreamPath.indexOf('?');
  const path = q < 0 ? upstreamPath : upstreamPath.slice(0, q);
  const routed = routedPath === '' ? '/' : routedPath;
  if (!path.endsWith(routed)) throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'the upstream path does not end with the routed path: the virtual-hosted bucket cannot be placed');
  const base = path.slice(0, path.length - routed.length).replace(/\/$/, '');
  return `${base}/${encodeURIComponent(hostBucket)}${routed === '/' ? '' : routed}${q < 0 ? '' : upstreamPath.slice(q)}`;
}
