import type { MaskingConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';
import type { MaskingPolicy } from '../../masking/masking-policy';
import { addCounts, type MaskCounts } from '../../masking/redact';
import { T, type Column } from './messages';

/**
 * Masking of PostgreSQL results for one connection: DataRow values (decoded with the statement's
 * RowDescription and result formats) and COPY TO STDOUT data, re-encoded with their new lengths.
 *
 * - text format: `columns` listed in the masking block are replaced whole; other values are
 *   masked by the detectors (json/jsonb by path and value).
 * - binary format: listed columns are replaced whole (a text-like type gets the replacement text,
 *   any other type NULL, since a replacement string is no valid binary value of that type);
 *   text-like types (text, varchar, bpchar, name, json, jsonb, xml) are masked as text; other types
 *   pass, or fail with `binary: refuse`.
 * - COPY TO STDOUT in text/csv format is masked line by line by the detectors; binary COPY, and any
 *   COPY when column rules are configured (COPY data carries no column names), fail.
 *
 * Everything that cannot be masked throws GH_ERR_MASKING_FAILED: the caller must not deliver it.
 */
export interface ResultShape {
  /** The statement's columns (RowDescription), if known. */
  readonly columns: readonly Column[] | undefined;
  /** Bind's result format codes (empty: all text; one: all; else per column); undefined in the simple protocol. */
  readonly formats: readonly number[] | undefined;
}

export interface MaskedMessage {
  /** The whole message (type, length, body) to send instead of the original. */
  readonly message: Buffer;
  /** Its body (what the record decodes). */
  readonly body: Buffer;
  readonly counts: MaskCounts;
}

export interface RowMasker {
  /** Masks one DataRow body; the result is a complete message. Throws GH_ERR_MASKING_FAILED. */
  maskDataRow(body: Buffer, shape: ResultShape | undefined): MaskedMessage;
  /** Checks a CopyOutResponse body: throws GH_ERR_MASKING_FAILED when this COPY cannot be masked. */
  startCopyOut(body: Buffer): void;
  /** Masks one CopyData body of a COPY TO STDOUT (text or csv). */
  maskCopyData(body: Buffer): MaskedMessage;
  /**
   * Masks the free-text fields of an ErrorResponse or NoticeResponse (message, detail, hint,
   * context, internal query): a unique violation's detail quotes the duplicate value, a cast error
   * the input it could not read.
   */
  maskNotice(type: number, body: Buffer): MaskedMessage;
}

/**
 * ErrorResponse/NoticeResponse fields that can quote data: M message, D detail, H hint, W where
 * (context, with the statement text of a function), q internal query. Severity, SQLSTATE,
 * positions, schema/table/column/constraint names and source locations cannot, and stay as sent.
 */
const NOTICE_TEXT_FIELDS = new Set([0x4d /* M */, 0x44 /* D */, 0x48 /* H */, 0x57 /* W */, 0x71 /* q */]);

/** Type oids whose binary form is their text (UTF-8 in the client's encoding). */
const TEXT_LIKE = new Set([25 /* text */, 1043 /* varchar */, 1042 /* bpchar */, 19 /* name */, 114 /* json */, 142 /* xml */, 3802 /* jsonb */]);
const JSON_TYPES = new Set([114, 3802]);
const JSONB = 3802;

function failed(message: string, details?: Record<string, unknown>): GatehouseError {
  return new GatehouseError('GH_ERR_MASKING_FAILED', message, details === undefined ? {} : { details });
}

function asMaskingError(e: unknown): GatehouseError {
  // A detector's own error text could quote the value: only our own messages pass through.
  if (e instanceof GatehouseError && e.code === 'GH_ERR_MASKING_FAILED') return e;
  return failed('masking a result value failed', { cause: e instanceof RangeError ? 'malformed message' : e instanceof GatehouseError ? e.code : 'error' });
}

function hasCounts(counts: MaskCounts): boolean {
  for (const _type in counts) return true;
  return false;
}

export function createRowMasker(policy: MaskingPolicy, config: MaskingConfig): RowMasker {
  const listed = new Set(config.columns.map((c) => (typeof c === 'string' ? c : c.name).toLowerCase()));
  const refuseBinary = config.binary === 'refuse';

  function formatOf(shape: ResultShape | undefined, i: number): number {
    const f = shape?.formats;
    if (f !== undefined) return f.length === 0 ? 0 : f.length === 1 ? f[0]! : (f[i] ?? 0);
    return shape?.columns?.[i]?.format ?? 0;
  }

  /** One value: returns the new bytes, null for SQL NULL, or undefined when unchanged. */
  function maskValue(raw: Buffer, column: Column | undefined, format: number, counts: MaskCounts): Buffer | null | undefined {
    const name = column?.name;
    const isListed = name !== undefined && listed.size > 0 && listed.has(name.toLowerCase());
    if (format === 1) {
      const oid = column?.typeOid;
      if (oid === undefined) throw failed('a binary result value of unknown type cannot be masked (no row description)');
      if (!TEXT_LIKE.has(oid)) {
        if (isListed) {
          addCounts(counts, policy.maskCell(name, '').counts);
          return null;
        }
        if (refuseBinary) throw failed('a binary result value of a non-text type is refused by this connection (masking.binary: refuse)', { typeOid: oid });
        return undefined;
      }
      // jsonb's binary form is a version byte, then the JSON text.
      const prefix = oid === JSONB ? 1 : 0;
      if (prefix === 1 && (raw.length === 0 || raw[0] !== 1)) throw failed('unknown jsonb binary version', { typeOid: oid });
      const masked = maskText(raw.subarray(prefix), name, isListed, JSON_TYPES.has(oid), counts);
      if (masked === undefined) return undefined;
      return prefix === 0 ? masked : Buffer.concat([raw.subarray(0, 1), masked]);
    }
    return maskText(raw, name, isListed, column !== undefined && JSON_TYPES.has(column.typeOid), counts);
  }

  function maskText(raw: Buffer, name: string | undefined, isListed: boolean, json: boolean, counts: MaskCounts): Buffer | undefined {
    const text = raw.toString('utf8');
    let out: string;
    if (isListed) {
      const r = policy.maskCell(name!, text);
      addCounts(counts, r.counts);
      out = r.value!;
    } else {
      const r = json ? policy.maskJson(text) : policy.maskText(text);
      addCounts(counts, r.counts);
      out = r.text;
    }
    // Unchanged values keep their exact bytes (whatever the client encoding).
    return out === text ? undefined : Buffer.from(out, 'utf8');
  }

  return {
    maskDataRow(body, shape) {
      try {
        const columns = shape?.columns;
        if (columns === undefined && listed.size > 0) throw failed('the result has no row description, so column rules cannot be applied');
        const n = body.readInt16BE(0);
        let pos = 2;
        const counts: MaskCounts = {};
        let replaced: (Buffer | null | undefined)[] | undefined;
        const starts: number[] = [];
        for (let i = 0; i < n; i++) {
          const len = body.readInt32BE(pos);
          starts.push(pos);
          pos += 4;
          if (len < 0) continue;
          if (pos + len > body.length) throw new RangeError('value beyond message');
          const v = maskValue(body.subarray(pos, pos + len), columns?.[i], formatOf(shape, i), counts);
          if (v !== undefined) (replaced ??= new Array<Buffer | null | undefined>(n))[i] = v;
          pos += len;
        }
        if (replaced === undefined) return { message: withHeader(T.DataRow, body), body, counts };
        starts.push(pos);
        const out = rebuildRow(body, n, starts, replaced);
        return { message: out, body: out.subarray(5), counts };
      } catch (e) {
        throw asMaskingError(e);
      }
    },
    startCopyOut(body) {
      const format = body.length > 0 ? body[0] : 0;
      if (format !== 0) throw failed('binary COPY TO STDOUT cannot be masked; use text or csv format');
      if (listed.size > 0) throw failed('COPY TO STDOUT carries no column names, so this connection\'s column rules cannot be applied; use SELECT');
    },
    maskNotice(type, body) {
      try {
        const counts: MaskCounts = {};
        const fields: { code: number; value: Buffer }[] = [];
        let changed = false;
        let pos = 0;
        while (pos < body.length && body[pos] !== 0) {
          const code = body[pos]!;
          const end = body.indexOf(0, pos + 1);
          if (end < 0) throw new RangeError('unterminated field');
          let value = body.subarray(pos + 1, end);
          if (NOTICE_TEXT_FIELDS.has(code)) {
            const masked = maskText(value, undefined, false, false, counts);
            if (masked !== undefined) {
              // A NUL inside a field would end it early on the client: replacements never hold one.
              if (masked.includes(0)) throw failed('a masked server message field would hold a NUL byte');
              value = masked;
              changed = true;
            }
          }
          fields.push({ code, value });
          pos = end + 1;
        }
        if (!changed) return { message: withHeader(type, body), body, counts };
        const parts: Buffer[] = [];
        for (const f of fields) parts.push(Buffer.from([f.code]), f.value, Buffer.from([0]));
        parts.push(Buffer.from([0]));
        const out = withHeader(type, Buffer.concat(parts));
        return { message: out, body: out.subarray(5), counts };
      } catch (e) {
        throw asMaskingError(e);
      }
    },
    maskCopyData(body) {
      try {
        const text = body.toString('utf8');
        const r = policy.maskText(text);
        if (r.text === text) return { message: withHeader(T.CopyData, body), body, counts: r.counts };
        const out = withHeader(T.CopyData, Buffer.from(r.text, 'utf8'));
        return { message: out, body: out.subarray(5), counts: r.counts };
      } catch (e) {
        throw asMaskingError(e);
      }
    },
  };
}

function withHeader(type: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type;
  out.writeInt32BE(body.length + 4, 1);
  body.copy(out, 5);
  return out;
}

/** A DataRow with some values replaced; `starts[i]` is where value i's length field begins, `starts[n]` the end. */
function rebuildRow(body: Buffer, n: number, starts: readonly number[], replaced: readonly (Buffer | null | undefined)[]): Buffer {
  let size = 2;
  for (let i = 0; i < n; i++) {
    const r = replaced[i];
    size += r === undefined ? starts[i + 1]! - starts[i]! : 4 + (r === null ? 0 : r.length);
  }
  const out = Buffer.allocUnsafe(5 + size);
  out[0] = T.DataRow;
  out.writeInt32BE(size + 4, 1);
  out.writeInt16BE(n, 5);
  let at = 7;
  for (let i = 0; i < n; i++) {
    const r = replaced[i];
    if (r === undefined) {
      at += body.copy(out, at, starts[i]!, starts[i + 1]!);
    } else if (r === null) {
      out.writeInt32BE(-1, at);
      at += 4;
    } else {
      out.writeInt32BE(r.length, at);
      at += 4;
      at += r.copy(out, at);
    }
  }
  return out;
}

export interface MaskedStreamHooks {
  /** Whole server messages, in order, for the connection's usual processing (and the client). */
  forward(bytes: Buffer): void;
  /** The shape of the statement whose rows come next, after everything forwarded so far. */
  shape(): ResultShape | undefined;
  /** Masked counts (per DataRow or CopyData that masked something). */
  counted(counts: MaskCounts): void;
  /** Masking failed: nothing more is forwarded, ever; the connection must end. */
  failed(err: GatehouseError): void;
  /** True once the connection is closed (stop work). */
  closed(): boolean;
}

const COPY_OUT_RESPONSE = 0x48; // H
const COPY_BOTH_RESPONSE = 0x57; // W
const COPY_DONE = 0x63; // c

/**
 * Sits between the upstream socket and the connection's server-side framer when the connection
 * masks: re-frames the server's stream into whole messages, replaces DataRow/CopyData with their
 * masked versions and forwards the rest as bytes. The connection's state is brought up to date
 * (forward) before each row is masked, so the row is read with its own statement's description.
 */
export class MaskedServerStream {
  private pending: Buffer | null = null;
  private copyOut = false;
  private dead = false;

  constructor(
    private readonly masker: RowMasker,
    private readonly hooks: MaskedStreamHooks,
    /** Largest server message accepted for masking; beyond it masking fails (fail closed). */
    private readonly maxMessageBytes: number,
  ) {}

  push(chunk: Buffer): void {
    if (this.dead || this.hooks.closed()) return;
    const buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    const n = buf.length;
    let pos = 0;
    /** Start of the bytes not yet forwarded (whole messages only). */
    let from = 0;
    /** Whether [from, pos) holds a message that can change what the next row is read with. */
    let stateful = false;
    const out: Buffer[] = [];
    const flush = (): void => {
      if (from < pos) out.push(buf.subarray(from, pos));
      from = pos;
      if (out.length > 0) {
        const bytes = out.length === 1 ? out[0]! : Buffer.concat(out);
        out.length = 0;
        this.hooks.forward(bytes);
      }
      stateful = false;
    };
    try {
      while (n - pos >= 5) {
        const type = buf[pos]!;
        const len = buf.readInt32BE(pos + 1);
        if (len < 4) {
          // Malformed: let the connection's framer see it and refuse the upstream.
          pos = n;
          break;
        }
        if (len + 1 > this.maxMessageBytes) throw failed(`a server message of ${len} bytes exceeds the size the gateway masks`);
        if (n - pos < len + 1) break;
        const end = pos + len + 1;
        if (type === T.ErrorResponse || type === T.NoticeResponse) {
          // Rewritten in place like a row, and stateful like any other message: it ends a COPY
          // and a statement, so the connection must see it before the next row is read.
          if (from < pos) out.push(buf.subarray(from, pos));
          const m = this.masker.maskNotice(type, buf.subarray(pos + 5, end));
          out.push(m.message);
          if (hasCounts(m.counts)) this.hooks.counted(m.counts);
          from = end;
          if (type === T.ErrorResponse) this.copyOut = false;
          stateful = true;
        } else if (type === T.DataRow || (this.copyOut && type === T.CopyData)) {
          if (stateful) flush();
          if (from < pos) out.push(buf.subarray(from, pos));
          if (this.hooks.closed()) return;
          const body = buf.subarray(pos + 5, end);
          const m = type === T.DataRow ? this.masker.maskDataRow(body, this.hooks.shape()) : this.masker.maskCopyData(body);
          out.push(m.message);
          if (hasCounts(m.counts)) this.hooks.counted(m.counts);
          from = end;
        } else {
          if (type === COPY_OUT_RESPONSE) {
            this.masker.startCopyOut(buf.subarray(pos + 5, end));
            this.copyOut = true;
          } else if (type === COPY_BOTH_RESPONSE) {
            throw failed('COPY BOTH (replication) cannot be masked');
          } else if (type === COPY_DONE || type === T.ReadyForQuery) {
            this.copyOut = false;
          }
          stateful = true;
        }
        pos = end;
      }
    } catch (e) {
      this.dead = true;
      this.pending = null;
      this.hooks.failed(asMaskingError(e));
      return;
    }
    flush();
    this.pending = pos < n ? Buffer.from(buf.subarray(pos)) : null;
  }
}
