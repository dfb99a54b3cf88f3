import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { GatehouseError } from '../../errors';
import type { HttpResponseRewrite } from '../kit/http-dialect';

/**
 * Event-stream answers passed through (issue 20, point 4): `application/vnd.amazon.eventstream`,
 * AWS's binary framing (S3 SelectObjectContent, Bedrock's and Lambda's streaming responses). Each
 * message is `total length (4) | headers length (4) | prelude CRC32 (4) | headers | payload |
 * message CRC32 (4)`, big-endian
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTSelectObjectAppendix.html).
 *
 * The gateway forwards whole messages only, each after its framing and both CRCs are checked; a
 * malformed or truncated stream fails the exchange (the client's connection is cut, the failure
 * recorded) rather than passing bytes the gateway could not read. Memory holds at most one message
 * (AWS caps them at 16 MiB). What the record keeps is metadata (decision, docs/aws-apis.md):
 * messages, bytes, the SHA-256 of the stream as delivered, the count of each event type, and the
 * exceptions a stream ended with; not the payloads, which are the data itself (an object's rows, a
 * model's tokens) in binary frames, kept whole by no other part of the record either.
 */
export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';

/** The largest message accepted (AWS's own limit for event-stream messages). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const PRELUDE = 12;
/** Prelude + message CRC: the smallest message (no headers, no payload). */
const MIN_MESSAGE = 16;
/** Exceptions kept in the record, and characters of each message. */
const MAX_EXCEPTIONS = 8;
const MAX_EXCEPTION_TEXT = 1024;

export interface EventStreamSummary {
  /** Complete messages forwarded. */
  readonly messages: number;
  /** Bytes forwarded. */
  readonly bytes: number;
  /** SHA-256 (hex) of the bytes forwarded. */
  readonly sha256: string;
  /** Messages per `:event-type` (`Records`, `Stats`, `End`, `chunk`, ...). */
  readonly events: Readonly<Record<string, number>>;
  /** `exception` and `error` messages: their type and message text (truncated). */
  readonly exceptions?: readonly { readonly type: string; readonly message: string }[];
}

export function isEventStream(contentType: string | string[] | undefined): boolean {
  const ct = Array.isArray(contentType) ? contentType[0] : contentType;
  return ct !== undefined && ct.split(';')[0]!.trim().toLowerCase() === EVENT_STREAM_CONTENT_TYPE;
}

/** Reads an event stream as it passes: whole checked messages out, a summary for the record. */
export class EventStreamPassThrough implements HttpResponseRewrite {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Pending bytes needed before a drain can make progress: a prelude, then the whole message it declares. */
  private needed = PRELUDE;
  /** Bytes copied joining pending chunks (a seam for the test that joining stays linear in the stream). */
  private joined = 0;
  private messages = 0;
  private bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private readonly events: Record<string, number> = Object.create(null) as Record<string, number>;
  private readonly exceptions: { type: string; message: string }[] = [];
  private digest: string | undefined;

  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    return this.drain();
  }

  end(): Buffer {
    const out = this.drain();
    if (this.pendingBytes !== 0) throw malformed(`the stream ended inside a message (${this.pendingBytes} bytes left over)`);
    return out;
  }

  /** Bytes copied so far joining chunks (test seam). */
  get joinedBytes(): number {
    return this.joined;
  }

  summary(): EventStreamSummary {
    this.digest ??= this.hash.copy().digest('hex');
    return {
      messages: this.messages,
      bytes: this.bytes,
      sha256: this.digest,
      events: { ...this.events },
      ...(this.exceptions.length === 0 ? {} : { exceptions: [...this.exceptions] }),
    };
  }

  /** Every complete message in the buffer, checked, concatenated; the incomplete rest stays. */
  private drain(): Buffer {
    // Joined only once a message is whole (its prelude checked as soon as it arrived): re-joining the
    // pending bytes on every chunk would copy a large message over and over (quadratic).
    if (this.pendingBytes < this.needed) return EMPTY;
    if (this.pending.length > 1) this.joined += this.pendingBytes;
    let buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.needed = PRELUDE;
    let at = 0;
    while (buf.length - at >= PRELUDE) {
      const total = buf.readUInt32BE(at);
      const headersLength = buf.readUInt32BE(at + 4);
      if (crc32(buf.subarray(at, at + 8)) >>> 0 !== buf.readUInt32BE(at + 8)) throw malformed('a message prelude fails its CRC');
      if (total < MIN_MESSAGE || total > MAX_MESSAGE_BYTES) throw malformed(`a message declares ${total} bytes`);
      if (headersLength > total - MIN_MESSAGE) throw malformed('a message declares more header bytes than it holds');
      if (buf.length - at < total) {
        this.needed = total;
        break;
      }
      const message = buf.subarray(at, at + total);
      if (crc32(message.subarray(0, total - 4)) >>> 0 !== message.readUInt32BE(total - 4)) throw malformed('a message fails its CRC');
      this.note(readHeaders(message.subarray(PRELUDE, PRELUDE + headersLength)), message.subarray(PRELUDE + headersLength, total - 4));
      at += total;
    }
    const out = buf.subarray(0, at);
    buf = buf.subarray(at);
    this.pending = buf.length === 0 ? [] : [buf];
    this.pendingBytes = buf.length;
    if (out.length > 0) {
      this.hash.update(out);
      this.bytes += out.length;
    }
    return out;
  }

  private note(headers: ReadonlyMap<string, string>, payload: Buffer): void {
    this.messages++;
    const kind = headers.get(':message-type') ?? 'event';
    if (kind === 'event') {
      const type = (headers.get(':event-type') ?? '(none)').slice(0, 100);
      this.events[type] = (this.events[type] ?? 0) + 1;
      return;
    }
    if (this.exceptions.length >= MAX_EXCEPTIONS) return;
    // `exception` (a modeled error: :exception-type, the message in the payload) or `error` (:error-code, :error-message).
    const type = headers.get(':exception-type') ?? headers.get(':error-code') ?? kind;
    const message = headers.get(':error-message') ?? payload.toString('utf8');
    this.exceptions.push({ type: type.slice(0, 200), message: message.slice(0, MAX_EXCEPTION_TEXT) });
  }
}

const EMPTY = Buffer.alloc(0);

function malformed(why: string): GatehouseError {
  return new GatehouseError('GH_ERR_AWS_EVENT_STREAM_MALFORMED', `the upstream's event stream is malformed: ${why}; the stream was cut`);
}

/** Header value sizes by type (0, 1: booleans without a value; 6, 7: a 2-byte length first). */
const FIXED: Readonly<Record<number, number>> = { 0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16 };

/** The string-valued headers of a message (others are checked for framing and skipped). */
function readHeaders(raw: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < raw.length) {
    const nameLength = raw[at]!;
    at += 1;
    if (nameLength === 0 || at + nameLength + 1 > raw.length) throw malformed('a header name does not fit its message');
    const name = raw.toString('utf8', at, at + nameLength);
    at += nameLength;
    const type = raw[at]!;
    at += 1;
    let size = FIXED[type];
    if (size === undefined) {
      if (type !== 6 && type !== 7) throw malformed(`a header has unknown type ${type}`);
      if (at + 2 > raw.length) throw malformed('a header value does not fit its message');
      size = raw.readUInt16BE(at);
      at += 2;
    }
    if (at + size > raw.length) throw malformed('a header value does not fit its message');
    if (type === 7) out.set(name, raw.toString('utf8', at, at + size));
    at += size;
  }
  return out;
}
