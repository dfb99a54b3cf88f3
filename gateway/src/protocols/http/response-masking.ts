import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { GatehouseError, toGatehouseError } from '../../errors';
import type { MaskingPolicy } from '../../masking/masking-policy';
import { addCounts, type MaskCounts } from '../../masking/redact';
import type { StreamRedactor } from '../../masking/stream-redactor';
import { isTextual } from './capture';
import { stitchersFor } from './llm/delta-stitchers';
import { SseMasker } from './llm/sse-masker';

/**
 * The masking branch of the HTTP proxy, kept apart from the unmasked hot path: a connection
 * without masking never reaches this file. Given a response's content type it builds the
 * Transform that turns decoded upstream bytes into masked bytes for the client:
 *
 * - `sse`  (text/event-stream): event by event, framing kept, LLM deltas stitched (SseMasker);
 * - `json` (application/json, +json): buffered up to `jsonBufferBytes` and masked whole by path
 *   and value; a longer body continues as a text stream (values only, still split-safe);
 * - `text` (every other textual type): a stream redactor that holds back the longest possible
 *   match, so a secret split across chunks is still masked;
 * - `binary`: not masked (the connection's `binary` setting passes or refuses it).
 */
export type ResponseMaskMode = 'sse' | 'json' | 'text' | 'binary';

export function responseMaskMode(contentType: string | undefined): ResponseMaskMode {
  const ct = contentType?.trim().toLowerCase() ?? '';
  if (ct.startsWith('text/event-stream')) return 'sse';
  if (/^application\/(json|[^;]*\+json)\b/.test(ct) || ct === '') return 'json';
  return isTextual(contentType) ? 'text' : 'binary';
}

/** A masking Transform: decoded bytes in, masked UTF-8 bytes out. */
export interface ResponseMasker extends Transform {
  /** Masked items by type so far. */
  readonly counts: MaskCounts;
  /** True when the output is the whole body in one piece (its length is known before sending). */
  readonly whole: boolean;
}

function maskingError(e: unknown): GatehouseError {
  return toGatehouseError(e, 'GH_ERR_MASKING_FAILED', 'masking the response failed');
}

class SseMaskingTransform extends Transform implements ResponseMasker {
  readonly whole = false;
  private readonly masker: SseMasker;
  constructor(policy: MaskingPolicy, llm: string) {
    super();
    this.masker = new SseMasker(policy, stitchersFor(llm));
  }
  get counts(): MaskCounts {
    return this.masker.counts;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    let out: string;
    try {
      out = this.masker.push(chunk);
    } catch (e) {
      callback(maskingError(e));
      return;
    }
    if (out !== '') this.push(Buffer.from(out, 'utf8'));
    callback();
  }
  override _flush(callback: TransformCallback): void {
    let out: string;
    try {
      out = this.masker.end();
    } catch (e) {
      callback(maskingError(e));
      return;
    }
    if (out !== '') this.push(Buffer.from(out, 'utf8'));
    callback();
  }
}

/** Text of any size, split-safe; optionally starts as a bounded JSON buffer. */
class BodyMaskingTransform extends Transform implements ResponseMasker {
  whole = false;
  private readonly decoder = new StringDecoder('utf8');
  private buffered: Buffer[] | undefined;
  private bufferedBytes = 0;
  private redactor: StreamRedactor | undefined;
  private readonly total: MaskCounts = {};

  constructor(private readonly policy: MaskingPolicy, json: boolean) {
    super();
    if (json) this.buffered = [];
    else this.redactor = policy.createStreamRedactor();
  }

  get counts(): MaskCounts {
    return this.redactor === undefined ? { ...this.total } : addCounts({ ...this.total }, this.redactor.counts);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      if (this.buffered !== undefined) {
        this.bufferedBytes += chunk.length;
        this.buffered.push(chunk);
        if (this.bufferedBytes <= this.policy.jsonBufferBytes) {
          callback();
          return;
        }
        // Too large to mask whole: continue as a text stream (values only, split-safe).
        const all = Buffer.concat(this.buffered, this.bufferedBytes);
        this.buffered = undefined;
        this.redactor = this.policy.createStreamRedactor();
        chunk = all;
      }
      const out = this.redactor!.push(this.decoder.write(chunk));
      if (out !== '') this.push(Buffer.from(out, 'utf8'));
      callback();
    } catch (e) {
      callback(maskingError(e));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.buffered !== undefined) {
        const text = Buffer.concat(this.buffered, this.bufferedBytes).toString('utf8');
        this.buffered = undefined;
        const r = this.policy.maskJson(text);
        addCounts(this.total, r.counts);
        this.whole = true;
        if (r.text !== '') this.push(Buffer.from(r.text, 'utf8'));
      } else {
        const out = this.redactor!.push(this.decoder.end()) + this.redactor!.end();
        if (out !== '') this.push(Buffer.from(out, 'utf8'));
      }
      callback();
    } catch (e) {
      callback(maskingError(e));
    }
  }
}

export function createResponseMasker(mode: Exclude<ResponseMaskMode, 'binary'>, policy: MaskingPolicy, llm: string): ResponseMasker {
  if (mode === 'sse') return new SseMaskingTransform(policy, llm);
  return new BodyMaskingTransform(policy, mode === 'json');
}

/**
 * A decompressor for the body's Content-Encoding, or null for identity. An encoding the gateway
 * cannot decode cannot be masked: GH_ERR_MASKING_FAILED (the proxy narrows Accept-Encoding, but
 * an upstream may ignore it).
 */
export function decompressorFor(contentEncoding: string | undefined): Transform | null {
  const enc = contentEncoding?.trim().toLowerCase();
  if (enc === undefined || enc === '' || enc === 'identity') return null;
  if (enc === 'gzip' || enc === 'x-gzip') return zlib.createGunzip();
  if (enc === 'deflate') return zlib.createInflate();
  if (enc === 'br') return zlib.createBrotliDecompress();
  throw new GatehouseError('GH_ERR_MASKING_FAILED', `a response encoded as "${enc.slice(0, 40)}" cannot be decoded for masking`);
}

/** Response headers that describe the upstream's bytes and are wrong for the masked body. */
export const HEADERS_INVALIDATED_BY_MASKING = ['content-length', 'content-encoding', 'content-md5', 'digest', 'repr-digest', 'content-digest', 'etag', 'accept-ranges'] as const;
