/**
 * SFTP version 3 (draft-ietf-secsh-filexfer-02, what OpenSSH speaks; its extensions are in
 * OpenSSH's PROTOCOL file) as far as the gateway must read it: the framing, the requests a client
 * sends and the replies that tell the gateway what a request became (a handle, a name, data).
 * Pure: no I/O.
 */

export const FXP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

export const FX = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

const STATUS_NAMES: Record<number, string> = {
  0: 'ok',
  1: 'eof',
  2: 'no_such_file',
  3: 'permission_denied',
  4: 'failure',
  5: 'bad_message',
  6: 'no_connection',
  7: 'connection_lost',
  8: 'op_unsupported',
};

export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? `status_${code}`;
}

/** SSH_FXF_* open flags. */
export const FXF = { READ: 0x01, WRITE: 0x02, APPEND: 0x04, CREAT: 0x08, TRUNC: 0x10, EXCL: 0x20 } as const;

/**
 * The largest packet the gateway takes (length field, excluding itself): OpenSSH's
 * SFTP_MAX_MSG_LENGTH (256 KiB), which every OpenSSH client and server keeps to. A longer one is a
 * protocol error: refused, never buffered.
 */
export const MAX_PACKET = 256 * 1024;

export class SftpProtocolError extends Error {}

/**
 * Splits a byte stream into whole packets (each with its 4-byte length prefix), holding at most
 * one incomplete packet. Throws SftpProtocolError on a length beyond MAX_PACKET (or zero).
 */
export class PacketFramer {
  private chunks: Buffer[] = [];
  private held = 0;

  /** The whole packets completed by this chunk, in order. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    if (this.held === 0) {
      // The common case: packets aligned with chunks; no copy.
      let off = 0;
      while (chunk.length - off >= 4) {
        const len = this.length(chunk.readUInt32BE(off));
        if (chunk.length - off < 4 + len) break;
        out.push(chunk.subarray(off, off + 4 + len));
        off += 4 + len;
      }
      if (off < chunk.length) this.hold(chunk.subarray(off));
      return out;
    }
    this.hold(chunk);
    for (;;) {
      if (this.held < 4) return out;
      const head = this.chunks[0]!.length >= 4 ? this.chunks[0]! : Buffer.concat(this.chunks);
      const len = this.length(head.readUInt32BE(0));
      if (this.held < 4 + len) return out;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.held);
      out.push(all.subarray(0, 4 + len));
      const rest = all.subarray(4 + len);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.held = rest.length;
    }
  }

  private length(len: number): number {
    if (len === 0 || len > MAX_PACKET) throw new SftpProtocolError(`an SFTP packet of ${len} bytes (the limit is ${MAX_PACKET})`);
    return len;
  }

  private hold(b: Buffer): void {
    this.chunks.push(b);
    this.held += b.length;
  }
}

/** Reads SSH wire types from one packet; throws SftpProtocolError past its end. */
export class Reader {
  private off: number;
  constructor(
    private readonly buf: Buffer,
    offset: number,
  ) {
    this.off = offset;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.off);
    this.off += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new SftpProtocolError('an offset beyond 2^53');
    return Number(v);
  }

  bytes(): Buffer {
    const len = this.u32();
    this.need(len);
    const b = this.buf.subarray(this.off, this.off + len);
    this.off += len;
    return b;
  }

  /** Skips an ATTRS structure, returning the fields policy may read. */
  attrs(): Attrs {
    const flags = this.u32();
    const a: { size?: number; uid?: number; gid?: number; permissions?: number; atime?: number; mtime?: number } = {};
    if (flags & 0x1) a.size = this.u64();
    if (flags & 0x2) {
      a.uid = this.u32();
      a.gid = this.u32();
    }
    if (flags & 0x4) a.permissions = this.u32();
    if (flags & 0x8) {
      a.atime = this.u32();
      a.mtime = this.u32();
    }
    if (flags & 0x80000000) {
      const n = this.u32();
      for (let i = 0; i < n; i++) {
        this.bytes();
        this.bytes();
      }
    }
    return a;
  }

  get remaining(): number {
    return this.buf.length - this.off;
  }

  private need(n: number): void {
    if (this.off + n > this.buf.length) throw new SftpProtocolError('a truncated SFTP packet');
  }
}

export interface Attrs {
  readonly size?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly permissions?: number;
  readonly atime?: number;
  readonly mtime?: number;
}

/** A packet's type and (for all but INIT/VERSION) request id. */
export function header(packet: Buffer): { type: number; id: number | undefined } {
  if (packet.length < 5) throw new SftpProtocolError('an SFTP packet without a type');
  const type = packet[4]!;
  if (type === FXP.INIT || type === FXP.VERSION) return { type, id: undefined };
  if (packet.length < 9) throw new SftpProtocolError('an SFTP packet without a request id');
  return { type, id: packet.readUInt32BE(5) };
}

/** A reader positioned after the type and the request id. */
export function body(packet: Buffer): Reader {
  return new Reader(packet, 9);
}

/** SSH_FXP_STATUS for request `id` (what the gateway answers a refused request with). */
export function statusPacket(id: number, code: number, message: string): Buffer {
  const msg = Buffer.from(message, 'utf8');
  const len = 1 + 4 + 4 + 4 + msg.length + 4;
  const b = Buffer.alloc(4 + len);
  let o = b.writeUInt32BE(len, 0);
  o = b.writeUInt8(FXP.STATUS, o);
  o = b.writeUInt32BE(id, o);
  o = b.writeUInt32BE(code, o);
  o = b.writeUInt32BE(msg.length, o);
  o += msg.copy(b, o);
  b.writeUInt32BE(0, o); // language tag: empty
  return b;
}

/** The extension names a VERSION reply advertises. */
export function versionReply(packet: Buffer): { version: number; extensions: string[] } {
  const r = new Reader(packet, 5);
  const version = r.u32();
  const extensions: string[] = [];
  while (r.remaining > 0) {
    extensions.push(r.bytes().toString('latin1'));
    r.bytes();
  }
  return { version, extensions };
}
