import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Transform } from 'node:stream';
import { GatehouseError, toGatehouseError } from '../../errors';
import type { MaskingPolicy } from '../../masking/masking-policy';
import type { MaskCounts } from '../../masking/redact';
import { BodyCapture } from './capture';
import type { CredentialScrubber } from './credential-scrubber';
import type { LlmExchange } from './llm/exchange';
import {
  createResponseMasker,
  decompressorFor,
  HEADERS_INVALIDATED_BY_MASKING,
  responseMaskMode,
  type ResponseMasker,
} from './response-masking';

/**
 * The masking side of one HTTP exchange, driven by the proxy through a few calls so the unmasked
 * hot path stays as it is: `startMaskedResponse` when upstream headers arrive, then `data` per
 * upstream chunk, `complete` at the end, `abort` on failure. The client gets only masked bytes;
 * any masking error goes to `onFailure` and nothing more is written (the proxy answers 502
 * GH_ERR_MASKING_FAILED if headers were not sent yet, otherwise cuts the connection).
 */
export interface MaskedResponseContext {
  readonly policy: MaskingPolicy;
  readonly res: ServerResponse;
  readonly method: string;
  readonly status: number;
  /** The client's response headers as the unmasked path would send them (request id included). */
  readonly headers: OutgoingHttpHeaders;
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  /** The connection's `llm` kind: selects how streamed deltas are stitched. */
  readonly llmKind: string;
  /** Receives the masked bytes, so the transcript holds masked content. */
  readonly llm: LlmExchange | undefined;
  readonly bodyCap: number;
  /** Where a sealed original belongs (bound into its encryption). */
  readonly originalsContext: string;
  readonly onFailure: (err: GatehouseError) => void;
  /** Called when the masker can take more input again after `data` returned false. */
  readonly onResume: () => void;
  /** Keeps the brokered credential out of the masked output (credential-scrubber.ts). */
  readonly scrubber?: CredentialScrubber;
}

export class MaskedResponse {
  private readonly head: Transform;
  private readonly masker: ResponseMasker;
  private readonly decompressor: Transform | null;
  private readonly capture: BodyCapture;
  private readonly original: BodyCapture | undefined;
  private wireBytes = 0;
  private failed = false;
  private readonly headers: OutgoingHttpHeaders;
  private originalTap: ((c: Buffer) => void) | undefined;

  constructor(private readonly ctx: MaskedResponseContext, mode: 'sse' | 'json' | 'text') {
    this.decompressor = decompressorFor(ctx.contentEncoding);
    this.masker = createResponseMasker(mode, ctx.policy, ctx.llmKind);
    this.head = this.decompressor ?? this.masker;
    this.capture = new BodyCapture(ctx.bodyCap);
    if (ctx.policy.originals !== undefined) this.original = new BodyCapture(ctx.bodyCap);
    const headers: OutgoingHttpHeaders = { ...ctx.headers };
    for (const h of HEADERS_INVALIDATED_BY_MASKING) delete headers[h];
    this.headers = headers;

    if (this.decompressor !== null) {
      this.decompressor.on('error', this.onError);
      if (this.original !== undefined) this.decompressor.on('data', (c: Buffer) => this.original!.push(c));
      this.decompressor.pipe(this.masker);
    } else if (this.original !== undefined) {
      const original = this.original;
      // Identity body: the original is exactly what goes into the masker.
      this.originalTap = (c: Buffer) => original.push(c);
    }
    this.masker.on('data', this.onMasked);
    this.masker.on('end', this.onMaskedEnd);
    this.masker.on('error', this.onError);
    this.head.on('drain', ctx.onResume);
    if (mode === 'sse') {
      // An event stream's headers go out now: clients wait for them before reading events.
      ctx.res.writeHead(ctx.status, this.headers);
      ctx.res.flushHeaders();
    }
  }

  /** An upstream chunk (still encoded). False asks the caller to pause until `onResume`. */
  data(chunk: Buffer): boolean {
    if (this.failed) return false;
    this.wireBytes += chunk.length;
    this.originalTap?.(chunk);
    return this.head.write(chunk);
  }

  complete(): void {
    if (!this.failed) this.head.end();
  }

  /** Stops everything; nothing more reaches the client. */
  abort(): void {
    this.failed = true;
    this.masker.off('data', this.onMasked);
    this.masker.off('end', this.onMaskedEnd);
    this.head.off('drain', this.ctx.onResume);
    this.masker.on('error', () => undefined);
    this.decompressor?.on('error', () => undefined);
    this.decompressor?.destroy();
    this.masker.destroy();
  }

  get counts(): MaskCounts {
    return this.masker.counts;
  }

  /** The record's body block: the masked bytes, counts, and (opt-in) the sealed original. */
  describeBody(): Record<string, unknown> {
    const body = this.capture.describe(this.ctx.contentType);
    const counts = this.counts;
    body.masked = counts;
    if (this.ctx.contentEncoding !== undefined) {
      body.contentEncoding = this.ctx.contentEncoding;
      body.wireSize = this.wireBytes;
      body.sentAs = 'identity';
    }
    if (this.original !== undefined && this.original.total > 0) {
      body.original = this.ctx.policy.originals!.seal(this.original.bytes(), this.ctx.originalsContext);
      if (this.original.total > this.original.cap) body.originalTruncated = true;
    }
    return body;
  }

  private readonly onMasked = (out: Buffer): void => {
    const { res, scrubber } = this.ctx;
    if (this.failed || res.destroyed) return;
    if (scrubber !== undefined) {
      try {
        // A whole body goes out in one piece with its length: nothing may be held back.
        out = this.masker.whole ? Buffer.concat([scrubber.push(out), scrubber.end()]) : scrubber.push(out);
      } catch (e) {
        this.reflected(e);
        return;
      }
      if (out.length === 0) return;
    }
    if (!res.headersSent) {
      if (this.masker.whole) this.headers['content-length'] = out.length;
      res.writeHead(this.ctx.status, this.headers);
    }
    this.capture.push(out);
    this.ctx.llm?.responseData(out);
    if (!res.write(out)) {
      this.masker.pause();
      res.once('drain', () => this.masker.resume());
    }
  };

  private reflected(e: unknown): void {
    this.abort();
    this.ctx.onFailure(toGatehouseError(e, 'GH_ERR_CREDENTIAL_REFLECTED'));
  }

  private readonly onMaskedEnd = (): void => {
    const { res, scrubber } = this.ctx;
    if (this.failed || res.destroyed) return;
    const tail = scrubber?.end();
    if (tail !== undefined && tail.length > 0) {
      if (!res.headersSent) res.writeHead(this.ctx.status, this.headers);
      this.capture.push(tail);
      this.ctx.llm?.responseData(tail);
      res.write(tail);
    }
    if (!res.headersSent) {
      this.headers['content-length'] = 0;
      res.writeHead(this.ctx.status, this.headers);
    }
    res.end();
  };

  private readonly onError = (e: unknown): void => {
    if (this.failed) return;
    this.abort();
    // A decoding error is a masking failure too: what cannot be read cannot be masked.
    const err = toGatehouseError(e, 'GH_ERR_MASKING_FAILED', 'the response could not be decoded for masking');
    this.ctx.onFailure(err.code === 'GH_ERR_MASKING_FAILED' ? err : new GatehouseError('GH_ERR_MASKING_FAILED', 'masking the response failed'));
  };
}

/**
 * Starts masking a response, or returns undefined when masking does not apply to it (HEAD, no
 * body, a binary type passed by configuration). Throws GH_ERR_MASKING_FAILED when the response
 * must be refused (binary refused by configuration, an encoding the gateway cannot decode).
 */
export function startMaskedResponse(ctx: MaskedResponseContext): MaskedResponse | undefined {
  const { status, method } = ctx;
  if (method === 'HEAD' || status === 204 || status === 304 || status < 200) return undefined;
  const mode = responseMaskMode(ctx.contentType);
  if (mode === 'binary') {
    if (ctx.policy.binary === 'pass') return undefined;
    throw new GatehouseError('GH_ERR_MASKING_FAILED', 'the response has a binary content type, which this connection refuses to pass unmasked');
  }
  return new MaskedResponse(ctx, mode);
}

/**
 * The recorded request body, masked: JSON by path and value when it is whole, otherwise as text;
 * a body cut at the cap keeps back its last `holdBack - 1` characters (a secret cut in half at
 * the cap would not be recognised). Adds the sealed original when the connection stores them.
 * Throws GH_ERR_MASKING_FAILED.
 */
export function maskRequestBody(
  policy: MaskingPolicy,
  capture: BodyCapture,
  contentType: string | undefined,
  complete: boolean,
  originalsContext: string,
): { block: Record<string, unknown>; counts: MaskCounts } {
  const block = capture.describe(contentType);
  let counts: MaskCounts = {};
  if (typeof block.text === 'string') {
    const text = block.text;
    if (complete && block.truncated !== true) {
      const r = responseMaskMode(contentType) === 'json' ? policy.maskJson(text) : policy.maskText(text);
      block.text = r.text;
      counts = r.counts;
    } else {
      const redactor = policy.createStreamRedactor();
      block.text = redactor.push(text);
      counts = redactor.counts;
      block.maskedPrefixOnly = true;
    }
    block.masked = counts;
  } else if (block.base64 !== undefined && policy.binary === 'refuse') {
    delete block.base64;
    block.omitted = 'binary content is not stored by this connection';
  }
  if (policy.originals !== undefined && capture.total > 0) block.original = policy.originals.seal(capture.bytes(), originalsContext);
  return { block, counts };
}

/** The transcript's view of the request body, masked by path and value. Throws GH_ERR_MASKING_FAILED. */
export function maskTranscriptRequest(policy: MaskingPolicy, body: Buffer): { body: Buffer; counts: MaskCounts } {
  if (body.length === 0) return { body, counts: {} };
  const r = policy.maskJson(body.toString('utf8'));
  return { body: Buffer.from(r.text, 'utf8'), counts: r.counts };
}
