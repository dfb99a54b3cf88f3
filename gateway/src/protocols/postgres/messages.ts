/**
 * PostgreSQL protocol v3 message builders and the few body decoders the gateway needs. Only the
 * messages that judgment and the record read are decoded; every other frame is forwarded as bytes.
 */

export const PROTOCOL_3_0 = 196608;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;

/** Byte values of message types (client and server share one letter space per direction). */
export const T = {
  // client
  Query: 0x51, // Q
  Parse: 0x50, // P
  Bind: 0x42, // B
  Describe: 0x44, // D (client) / DataRow (server)
  Execute: 0x45, // E (client) / ErrorResponse (server)
  Close: 0x43, // C (client) / CommandComplete (server)
  Sync: 0x53, // S (client) / ParameterStatus (server)
  Flush: 0x48, // H (client) / CopyOutResponse (server)
  Terminate: 0x58, // X
  FunctionCall: 0x46, // F
  Password: 0x70, // p
  CopyData: 0x64, // d
  CopyDone: 0x63, // c
  CopyFail: 0x66, // f
  // server
  Authentication: 0x52, // R
  BackendKeyData: 0x4b, // K
  ReadyForQuery: 0x5a, // Z
  RowDescription: 0x54, // T
  DataRow: 0x44, // D
  CommandComplete: 0x43, // C
  ErrorResponse: 0x45, // E
  NoticeResponse: 0x4e, // N
  EmptyQueryResponse: 0x49, // I
  PortalSuspended: 0x73, // s
  ParseComplete: 0x31, // 1
  BindComplete: 0x32, // 2
  CloseComplete: 0x33, // 3
  NoData: 0x6e, // n
  ParameterDescription: 0x74, // t
  ParameterStatus: 0x53, // S
  NegotiateProtocolVersion: 0x76, // v
} as const;

/** A typed message: type byte, int32 length (self-inclusive), body. */
export function message(type: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type;
  out.writeInt32BE(body.length + 4, 1);
  body.copy(out, 5);
  return out;
}

function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf8');
}

export type Severity = 'ERROR' | 'FATAL';

/** An ErrorResponse with severity, SQLSTATE, message and optional detail/hint. */
export function errorResponse(severity: Severity, sqlstate: string, text: string, extra: { detail?: string; hint?: string } = {}): Buffer {
  const parts = [Buffer.from('S'), cstr(severity), Buffer.from('V'), cstr(severity), Buffer.from('C'), cstr(sqlstate), Buffer.from('M'), cstr(text)];
  if (extra.detail) parts.push(Buffer.from('D'), cstr(extra.detail));
  if (extra.hint) parts.push(Buffer.from('H'), cstr(extra.hint));
  parts.push(Buffer.from([0]));
  return message(T.ErrorResponse, Buffer.concat(parts));
}

const READY: Record<number, Buffer> = {};
/** ReadyForQuery with the transaction status byte (`I`, `T` or `E`). */
export function readyForQuery(status: number): Buffer {
  return (READY[status] ??= message(T.ReadyForQuery, Buffer.from([status])));
}

export function authRequest(code: number, extra?: Buffer): Buffer {
  const body = Buffer.alloc(4 + (extra?.length ?? 0));
  body.writeInt32BE(code, 0);
  extra?.copy(body, 4);
  return message(T.Authentication, body);
}

export function backendKeyData(pid: number, secret: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeInt32BE(pid, 0);
  body.writeInt32BE(secret, 4);
  return message(T.BackendKeyData, body);
}

/** An untyped startup-phase packet: int32 length, int32 code, then the body. */
export function startupPacket(code: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(8 + body.length);
  out.writeInt32BE(8 + body.length, 0);
  out.writeInt32BE(code, 4);
  body.copy(out, 8);
  return out;
}

export function startupMessage(params: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(params)) parts.push(cstr(k), cstr(v));
  parts.push(Buffer.from([0]));
  return startupPacket(PROTOCOL_3_0, Buffer.concat(parts));
}

export function cancelRequest(pid: number, secret: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeInt32BE(pid, 0);
  body.writeInt32BE(secret, 4);
  return startupPacket(CANCEL_REQUEST, body);
}

export function passwordMessage(body: Buffer): Buffer {
  return message(T.Password, body);
}

/** Reads a NUL-terminated string; throws on a missing terminator (a malformed message). */
export function readCString(buf: Buffer, offset: number): { value: string; next: number } {
  const end = buf.indexOf(0, offset);
  if (end < 0) throw new RangeError('unterminated string');
  return { value: buf.toString('utf8', offset, end), next: end + 1 };
}

/** Startup parameters (user, database, application_name, ...). */
export function parseStartupParams(body: Buffer): Record<string, string> {
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const k = readCString(body, pos);
    const v = readCString(body, k.next);
    params[k.value] = v.value;
    pos = v.next;
  }
  return params;
}

export function parseQuery(body: Buffer): string {
  return readCString(body, 0).value;
}

export interface ParseMessage {
  readonly name: string;
  readonly text: string;
}

export function parseParse(body: Buffer): ParseMessage {
  const name = readCString(body, 0);
  const text = readCString(body, name.next);
  return { name: name.value, text: text.value };
}

export interface BindMessage {
  readonly portal: string;
  readonly statement: string;
  /** Per parameter: 0 text, 1 binary. */
  readonly paramFormats: readonly number[];
  readonly params: readonly (Buffer | null)[];
  /** As sent: empty = all text, one code = all columns, else per column. */
  readonly resultFormats: readonly number[];
}

export function parseBind(body: Buffer): BindMessage {
  const portal = readCString(body, 0);
  const statement = readCString(body, portal.next);
  let pos = statement.next;
  const nFormats = body.readInt16BE(pos);
  pos += 2;
  const formats: number[] = [];
  for (let i = 0; i < nFormats; i++, pos += 2) formats.push(body.readInt16BE(pos));
  const nParams = body.readInt16BE(pos);
  pos += 2;
  const params: (Buffer | null)[] = [];
  for (let i = 0; i < nParams; i++) {
    const len = body.readInt32BE(pos);
    pos += 4;
    if (len < 0) params.push(null);
    else {
      if (pos + len > body.length) throw new RangeError('parameter beyond message');
      params.push(body.subarray(pos, pos + len));
      pos += len;
    }
  }
  const nResult = body.readInt16BE(pos);
  pos += 2;
  const resultFormats: number[] = [];
  for (let i = 0; i < nResult; i++, pos += 2) resultFormats.push(body.readInt16BE(pos));
  const paramFormats = params.map((_, i) => (nFormats === 0 ? 0 : nFormats === 1 ? formats[0]! : (formats[i] ?? 0)));
  return { portal: portal.value, statement: statement.value, paramFormats, params, resultFormats };
}

/** Describe and Close: `S` (statement) or `P` (portal) and a name. */
export function parseTarget(body: Buffer): { kind: number; name: string } {
  return { kind: body[0] ?? 0, name: readCString(body, 1).value };
}

export function parseExecute(body: Buffer): { portal: string; maxRows: number } {
  const portal = readCString(body, 0);
  return { portal: portal.value, maxRows: body.readInt32BE(portal.next) };
}

export interface Column {
  readonly name: string;
  readonly typeOid: number;
  readonly format: number;
}

export function parseRowDescription(body: Buffer): Column[] {
  const n = body.readInt16BE(0);
  let pos = 2;
  const cols: Column[] = [];
  for (let i = 0; i < n; i++) {
    const name = readCString(body, pos);
    pos = name.next;
    const typeOid = body.readUInt32BE(pos + 6);
    const format = body.readInt16BE(pos + 16);
    pos += 18;
    cols.push({ name: name.value, typeOid, format });
  }
  return cols;
}

/** DataRow values, each at most `valueCap` bytes (text, or base64 when `binary[i]`). */
export function parseDataRow(body: Buffer, valueCap: number, binary: (i: number) => boolean): { values: (string | null)[]; truncated: boolean } {
  const n = body.readInt16BE(0);
  let pos = 2;
  let truncated = false;
  const values: (string | null)[] = [];
  for (let i = 0; i < n; i++) {
    const len = body.readInt32BE(pos);
    pos += 4;
    if (len < 0) {
      values.push(null);
      continue;
    }
    const take = Math.min(len, valueCap);
    if (take < len) truncated = true;
    values.push(body.toString(binary(i) ? 'base64' : 'utf8', pos, pos + take));
    pos += len;
  }
  return { values, truncated };
}

export interface ErrorFields {
  readonly severity: string;
  readonly sqlstate: string;
  readonly message: string;
}

export function parseErrorFields(body: Buffer): ErrorFields {
  let severity = '';
  let sqlstate = '';
  let text = '';
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const code = body[pos]!;
    const v = readCString(body, pos + 1);
    if (code === 0x56 /* V */ || (code === 0x53 /* S */ && severity === '')) severity = v.value;
    else if (code === 0x43 /* C */) sqlstate = v.value;
    else if (code === 0x4d /* M */) text = v.value;
    pos = v.next;
  }
  return { severity, sqlstate, message: text };
}

/** Rows affected from a command tag (`INSERT 0 5`, `UPDATE 2`, `SELECT 3`, `COPY 10`); null when the tag has none. */
export function rowsFromTag(tag: string): number | null {
  const space = tag.lastIndexOf(' ');
  if (space < 0) return null;
  const n = Number(tag.slice(space + 1));
  return Number.isInteger(n) ? n : null;
}

/**
 * What goes upstream in place of a refused simple Query statement (or FunctionCall): a fixed
 * statement that fails in the server at that place, so PostgreSQL aborts the transaction block or
 * the implicit transaction exactly as the refused statement's own error would. It carries no caller
 * data (neither the refused text nor the reason reaches the server or its log), needs no extension
 * or PL/pgSQL, and resolves nothing through `search_path`: a literal cast to a schema-qualified
 * built-in type fails in the type's input function. The gateway replaces the server's error with its own.
 */
export const REFUSED_STATEMENT = "SELECT 'gatehouse: statement refused by the gateway'::pg_catalog.int4";

/** A Parse of `name` whose text fails in the server's parser, so the server errors at this place. */
export function failingParse(name: string): Buffer {
  return message(T.Parse, Buffer.concat([cstr(name), cstr('gatehouse refused this statement'), Buffer.from([0, 0])]));
}
