import { createHash, type Hash } from 'node:crypto';
import type { ClientChannel, ServerChannel } from 'ssh2';
import { toGatehouseError } from '../../../errors';
import type { GatewaySession, SshSftpRequestPayload } from '../../../pipeline/types';
import { DECISION_CODES, refusalErrorCode, type Decision, type Operation } from '../../../policy/decision';
import { body, FX, FXF, FXP, header, PacketFramer, SftpProtocolError, statusName, statusPacket, versionReply, type Attrs, type Reader } from './packets';
import type { TerminalMasking } from '../terminal-recorder';
import { ContentBudget, FileContent } from './file-content';
import { canonicalPath, decodePath, isCwdQuery } from './paths';

/** How a channel records file contents: the cap per file and direction, and the connection's masking. */
export interface SftpContentOptions {
  /** Bytes recorded of each file read or written (its first ones); 0 records none. */
  readonly capBytes: number;
  readonly masking: TerminalMasking | undefined;
}

/** A handle the server gave for an OPEN or OPENDIR the gateway let through. */
interface Handle {
  readonly path: string;
  readonly kind: 'file' | 'directory';
  readonly read: boolean;
  readonly write: boolean;
  readonly requestId: string;
  bytesRead: number;
  bytesWritten: number;
  reads: number;
  writes: number;
  entries: number;
  /** In-order hashes: null once bytes arrived out of order (a gap, an overlap). */
  hashRead: Hash | null;
  nextRead: number;
  hashWritten: Hash | null;
  nextWritten: number;
  /** The first bytes, up to the cap (file-content.ts). */
  contentRead: FileContent;
  contentWritten: FileContent;
}

/** What the gateway remembers of a forwarded request until its reply. */
type Pending =
  | { readonly kind: 'judged'; readonly op: string; readonly requestId: string; readonly opens?: Omit<Handle, 'bytesRead' | 'bytesWritten' | 'reads' | 'writes' | 'entries' | 'hashRead' | 'nextRead' | 'hashWritten' | 'nextWritten' | 'contentRead' | 'contentWritten'>; readonly cwdQuery?: boolean }
  | { readonly kind: 'read'; readonly handle: Handle; readonly offset: number }
  | { readonly kind: 'readdir'; readonly handle: Handle }
  | { readonly kind: 'close'; readonly handle: Handle; readonly key: string }
  | { readonly kind: 'other' };

/** Outstanding requests a client may have: far above what OpenSSH pipelines (64 reads). */
const MAX_PENDING = 4096;
/** Open handles a client may hold (OpenSSH's sftp-server allows 512... per its fd limit). */
const MAX_HANDLES = 1024;

const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [FXF.READ, 'read'],
  [FXF.WRITE, 'write'],
  [FXF.APPEND, 'append'],
  [FXF.CREAT, 'create'],
  [FXF.TRUNC, 'truncate'],
  [FXF.EXCL, 'exclusive'],
];

/** Extensions that act on a path or handle, mapped to the operation they are (OpenSSH's PROTOCOL). */
type Decoded = { op: string; path: Buffer; newPath?: Buffer; target?: Buffer; attrs?: Attrs; name?: string; lookup?: boolean } | { handleOp: Buffer; judgeAs?: string; attrs?: Attrs; name?: string } | { info: string } | { unsupported: string };

function attrsRecord(a: Attrs): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(a)) if (typeof v === 'number') out[k] = v;
  return out;
}

/**
 * The SFTP channel between a client and the upstream (docs/ssh.md, "SFTP"): every packet is
 * framed (at most one incomplete packet held per direction, each at most 256 KiB); each request
 * that names a path is decoded into an `ssh:sftp:<op>` operation on its canonical path and judged
 * by `session.admit` in arrival order (its `ssh.sftp.request` recorded before it is forwarded); a
 * refused one is answered SSH_FX_PERMISSION_DENIED by the gateway and never reaches the server.
 * Allowed packets are forwarded unchanged. READ, WRITE, READDIR, FSTAT and CLOSE act on a handle
 * the gateway saw opened and are governed by that open's decision (a WRITE on a handle opened for
 * reading is refused); their bytes are counted and hashed, summed up in `ssh.sftp.close` per
 * handle and `ssh.sftp.end` per channel, and the first ones of each file, up to the cap, are
 * recorded in `ssh.file.content` when its handle closes (file-content.ts).
 */
export class SftpBridge {
  private readonly fromClient = new PacketFramer();
  private readonly fromServer = new PacketFramer();
  private readonly queue: Buffer[] = [];
  private busy = false;
  private broken = false;
  private readonly pending = new Map<number, Pending>();
  private readonly handles = new Map<string, Handle>();
  /** The server's working directory, from its answer to REALPATH ".". */
  private cwd: string | undefined;
  /** OpenSSH's sftp-server takes SYMLINK's arguments in reverse order (its PROTOCOL, section 4.1). */
  private opensshSymlinkOrder = false;
  private readonly openedAt: number;
  private requests = 0;
  private refused = 0;
  private bytesRead = 0;
  private bytesWritten = 0;
  private readonly budget = new ContentBudget();

  constructor(
    private readonly session: GatewaySession,
    private readonly channel: number,
    private readonly client: ServerChannel,
    private readonly upstream: ClientChannel,
    private readonly now: () => number,
    /** @default nothing recorded of file contents */
    private readonly content: SftpContentOptions = { capBytes: 0, masking: undefined },
  ) {
    this.openedAt = now();
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('data', (d: Buffer) => this.onClient(d));
    upstream.on('data', (d: Buffer) => this.onServer(d));
    upstream.stderr.on('data', () => undefined);
    client.on('end', () => upstream.end());
    client.on('close', () => upstream.close());
    upstream.on('exit', (code: number | null) => {
      if (typeof code === 'number' && !this.broken) client.exit(code);
    });
    upstream.on('close', () => {
      this.finish();
      client.end();
    });
  }

  // ---- client → server ----------------------------------------------------------------------------

  private onClient(chunk: Buffer): void {
    if (this.broken) return;
    let packets: Buffer[];
    try {
      packets = this.fromClient.push(chunk);
    } catch (e) {
      return this.protocolError('client', e);
    }
    for (const p of packets) this.queue.push(p);
    this.pump();
  }

  /** Handles queued packets in order; a request that waits (strict recording, an approval) holds the rest. */
  private pump(): void {
    while (!this.busy && !this.broken && this.queue.length > 0) {
      const packet = this.queue.shift()!;
      let waiting: Promise<void> | undefined;
      try {
        waiting = this.request(packet);
      } catch (e) {
        return this.protocolError('client', e);
      }
      if (waiting !== undefined) {
        this.busy = true;
        this.client.pause();
        waiting.then(
          () => {
            this.busy = false;
            if (this.broken) return;
            if (!this.serverFull) this.client.resume();
            this.pump();
          },
          (e: unknown) => this.protocolError('client', e),
        );
      }
    }
  }

  // Backpressure: a side that cannot take more pauses the other (one drain listener at a time).
  private serverFull = false;
  private clientFull = false;

  private toServer(packet: Buffer): void {
    if (!this.upstream.write(packet) && !this.serverFull) {
      this.serverFull = true;
      this.client.pause();
      this.upstream.once('drain', () => {
        this.serverFull = false;
        if (!this.busy) this.client.resume();
      });
    }
  }

  private toClient(packet: Buffer): void {
    if (!this.client.write(packet) && !this.clientFull) {
      this.clientFull = true;
      this.upstream.pause();
      this.client.once('drain', () => {
        this.clientFull = false;
        this.upstream.resume();
      });
    }
  }

  private remember(id: number, p: Pending): void {
    if (this.pending.has(id)) throw new SftpProtocolError(`request id ${id} reused while outstanding`);
    if (this.pending.size >= MAX_PENDING) throw new SftpProtocolError(`more than ${MAX_PENDING} outstanding requests`);
    this.pending.set(id, p);
  }

  private handleOf(raw: Buffer): Handle | undefined {
    return this.handles.get(raw.toString('latin1'));
  }

  /** One client packet; a promise when it must wait to be judged or recorded. */
  private request(packet: Buffer): Promise<void> | undefined {
    const { type, id } = header(packet);
    if (type === FXP.INIT) {
      this.toServer(packet);
      return undefined;
    }
    const r = body(packet);
    const rid = id!;
    switch (type) {
      case FXP.READ: {
        const h = this.handleOf(r.bytes());
        const offset = r.u64();
        if (h === undefined || h.kind !== 'file') return this.refuseHandle(rid, 'read', 'a handle the gateway did not see opened');
        if (!h.read) return this.refuseHandle(rid, 'read', `${h.path} was not opened for reading`);
        this.remember(rid, { kind: 'read', handle: h, offset });
        this.toServer(packet);
        return undefined;
      }
      case FXP.WRITE: {
        const h = this.handleOf(r.bytes());
        const offset = r.u64();
        const data = r.bytes();
        if (h === undefined || h.kind !== 'file') return this.refuseHandle(rid, 'write', 'a handle the gateway did not see opened');
        if (!h.write) return this.refuseHandle(rid, 'write', `${h.path} was not opened for writing`);
        h.writes++;
        h.bytesWritten += data.length;
        this.bytesWritten += data.length;
        if (h.hashWritten !== null) {
          if (offset === h.nextWritten) {
            h.hashWritten.update(data);
            h.contentWritten.add(data);
            h.nextWritten += data.length;
          } else {
            h.hashWritten = null;
            h.contentWritten.stop();
          }
        }
        this.remember(rid, { kind: 'other' });
        this.toServer(packet);
        return undefined;
      }
      case FXP.READDIR:
      case FXP.FSTAT:
      case FXP.CLOSE: {
        const raw = r.bytes();
        const h = this.handleOf(raw);
        if (h === undefined || (type === FXP.READDIR && h.kind !== 'directory')) return this.refuseHandle(rid, type === FXP.CLOSE ? 'close' : type === FXP.READDIR ? 'readdir' : 'fstat', 'a handle the gateway did not see opened');
        this.remember(rid, type === FXP.CLOSE ? { kind: 'close', handle: h, key: raw.toString('latin1') } : type === FXP.READDIR ? { kind: 'readdir', handle: h } : { kind: 'other' });
        this.toServer(packet);
        return undefined;
      }
      default:
        return this.judged(rid, packet, this.decode(type, r));
    }
  }

  /** What a path-naming request is, for judging. */
  private decode(type: number, r: Reader): Decoded {
    switch (type) {
      case FXP.OPEN: {
        const path = r.bytes();
        const pflags = r.u32();
        return { op: 'open', path, attrs: r.attrs(), name: String(pflags) };
      }
      case FXP.OPENDIR:
        return { op: 'opendir', path: r.bytes() };
      case FXP.STAT:
        return { op: 'stat', path: r.bytes() };
      case FXP.LSTAT:
        return { op: 'lstat', path: r.bytes() };
      case FXP.SETSTAT:
        return { op: 'setstat', path: r.bytes(), attrs: r.attrs() };
      case FXP.FSETSTAT:
        return { handleOp: r.bytes(), judgeAs: 'setstat', attrs: r.attrs() };
      case FXP.REMOVE:
        return { op: 'remove', path: r.bytes() };
      case FXP.MKDIR:
        return { op: 'mkdir', path: r.bytes(), attrs: r.attrs() };
      case FXP.RMDIR:
        return { op: 'rmdir', path: r.bytes() };
      case FXP.REALPATH:
        return { op: 'realpath', path: r.bytes(), lookup: true };
      case FXP.READLINK:
        return { op: 'readlink', path: r.bytes() };
      case FXP.RENAME:
        return { op: 'rename', path: r.bytes(), newPath: r.bytes() };
      case FXP.SYMLINK: {
        const a = r.bytes();
        const b = r.bytes();
        // The link is what is created (judged); the target is only text stored in it.
        return this.opensshSymlinkOrder ? { op: 'symlink', path: b, target: a } : { op: 'symlink', path: a, target: b };
      }
      case FXP.EXTENDED: {
        const name = r.bytes().toString('latin1');
        switch (name) {
          case 'posix-rename@openssh.com':
            return { op: 'rename', path: r.bytes(), newPath: r.bytes(), name };
          case 'hardlink@openssh.com': {
            const oldPath = r.bytes();
            return { op: 'link', path: r.bytes(), target: oldPath, name };
          }
          case 'statvfs@openssh.com':
            return { op: 'stat', path: r.bytes(), name };
          case 'lsetstat@openssh.com':
            return { op: 'setstat', path: r.bytes(), attrs: r.attrs(), name };
          case 'expand-path@openssh.com':
            return { op: 'realpath', path: r.bytes(), name, lookup: true };
          case 'fsync@openssh.com':
          case 'fstatvfs@openssh.com':
            return { handleOp: r.bytes(), name };
          case 'limits@openssh.com':
            // The server's packet and handle limits: names nothing, changes nothing.
            return { info: name };
          default:
            return { op: 'extended', path: Buffer.alloc(0), name };
        }
      }
      default:
        return { unsupported: `SFTP request type ${type}` };
    }
  }

  private judged(rid: number, packet: Buffer, d: Decoded): Promise<void> | undefined {
    if ('unsupported' in d) {
      this.toClient(statusPacket(rid, FX.OP_UNSUPPORTED, `gatehouse: ${d.unsupported} is not supported`));
      return undefined;
    }
    if ('info' in d) {
      this.remember(rid, { kind: 'other' });
      this.toServer(packet);
      return undefined;
    }
    this.requests++;
    const requestId = this.session.newRequestId();
    let payload: SshSftpRequestPayload;
    let attributes: Record<string, string | number | boolean>;
    let opens: Extract<Pending, { kind: 'judged' }>['opens'];
    let cwdQuery = false;
    if ('handleOp' in d) {
      const h = this.handleOf(d.handleOp);
      if (h === undefined) return this.refuseHandle(rid, d.judgeAs ?? d.name ?? 'handle', 'a handle the gateway did not see opened', requestId);
      if (d.judgeAs === undefined) {
        // fsync, fstatvfs: governed by the open, like READ and WRITE.
        this.remember(rid, { kind: 'other' });
        this.toServer(packet);
        return undefined;
      }
      payload = { channel: this.channel, request: rid, op: d.judgeAs, path: h.path, ...(d.attrs ? { attrs: attrsRecord(d.attrs) } : {}) };
      attributes = { path: h.path, handle: true };
    } else {
      let path: string;
      if (d.op === 'extended') path = '';
      else if (d.lookup === true) {
        // A lookup changes nothing: judged on the text as sent (a client learns its working
        // directory and resolves `..` this way), resolved against the working directory when known.
        const text = decodePath(d.path);
        if (!text.ok) return this.refusePath(rid, d.op, text.reason, requestId);
        cwdQuery = isCwdQuery(text.text) && d.name === undefined;
        path = text.text.startsWith('/') || this.cwd === undefined ? text.text : `${this.cwd}/${text.text}`;
      } else {
        const c = canonicalPath(d.path, this.cwd);
        if (!c.ok) return this.refusePath(rid, d.op, c.reason, requestId);
        path = c.path;
      }
      payload = { channel: this.channel, request: rid, op: d.op, path };
      attributes = { path };
      if (d.newPath !== undefined) {
        const c = canonicalPath(d.newPath, this.cwd);
        if (!c.ok) return this.refusePath(rid, d.op, c.reason, requestId);
        payload = { ...payload, newPath: c.path };
        attributes.newPath = c.path;
      }
      if (d.target !== undefined) {
        const t = decodePath(d.target);
        if (!t.ok) return this.refusePath(rid, d.op, t.reason, requestId);
        payload = { ...payload, target: t.text };
        attributes.target = t.text;
      }
      if (d.attrs !== undefined) payload = { ...payload, attrs: attrsRecord(d.attrs) };
      if (d.op === 'open') {
        const pflags = Number(d.name);
        const flags = FLAG_NAMES.filter(([bit]) => (pflags & bit) !== 0).map(([, n]) => n);
        payload = { ...payload, flags };
        const write = (pflags & (FXF.WRITE | FXF.APPEND | FXF.CREAT | FXF.TRUNC)) !== 0;
        attributes = { ...attributes, read: (pflags & FXF.READ) !== 0, write, create: (pflags & FXF.CREAT) !== 0, truncate: (pflags & FXF.TRUNC) !== 0, append: (pflags & FXF.APPEND) !== 0, exclusive: (pflags & FXF.EXCL) !== 0 };
        opens = { path, kind: 'file', read: (pflags & FXF.READ) !== 0, write, requestId };
      } else if (d.op === 'opendir') {
        opens = { path, kind: 'directory', read: true, write: false, requestId };
      } else if (d.name !== undefined) {
        payload = { ...payload, name: d.name };
        attributes.name = d.name;
      }
    }
    if (this.handles.size >= MAX_HANDLES && opens !== undefined) return this.refuseHandle(rid, payload.op, `more than ${MAX_HANDLES} open handles`, requestId);
    const summary = `sftp ${payload.op}${payload.name !== undefined && payload.op === 'extended' ? ` ${payload.name}` : ''} ${payload.path}${payload.newPath !== undefined ? ` -> ${payload.newPath}` : ''}`.trimEnd();
    const op: Operation = { protocol: 'ssh', action: `ssh:sftp:${payload.op}`, attributes, summary };
    const pending: Pending = { kind: 'judged', op: payload.op, requestId, ...(opens ? { opens } : {}), ...(cwdQuery ? { cwdQuery } : {}) };
    const decided = (decision: Decision): void => {
      if (this.broken) return;
      if (decision.effect !== 'allow') {
        this.refused++;
        this.toClient(statusPacket(rid, FX.PERMISSION_DENIED, `gatehouse: ${refusalErrorCode(decision.code)} (${decision.code}): ${decision.message}`));
        return;
      }
      this.remember(rid, pending);
      this.toServer(packet);
    };
    const failed = (e: unknown): void => {
      const err = toGatehouseError(e, 'GH_ERR_POLICY_FAILED', 'the SFTP request could not be judged or recorded');
      this.refused++;
      this.toClient(statusPacket(rid, FX.FAILURE, `gatehouse: ${err.code}: ${err.message}`));
    };
    let result: Decision | Promise<Decision>;
    try {
      result = this.session.admit(op, requestId, { type: 'ssh.sftp.request', payload });
    } catch (e) {
      failed(e);
      return undefined;
    }
    if (!(result instanceof Promise)) {
      decided(result);
      return undefined;
    }
    return result.then(decided, failed);
  }

  /** A request on a handle the gateway does not know or that its open does not cover: refused by the gateway. */
  private refuseHandle(rid: number, op: string, reason: string, requestId = this.session.newRequestId()): Promise<void> | undefined {
    return this.refusePath(rid, op, reason, requestId);
  }

  /** A request the gateway cannot judge: recorded as policy.denied (`ssh.sftp_path`), answered PERMISSION_DENIED. */
  private refusePath(rid: number, op: string, reason: string, requestId: string): Promise<void> | undefined {
    this.refused++;
    const operation: Operation = { protocol: 'ssh', action: `ssh:sftp:${op}`, attributes: {}, summary: `sftp ${op}: ${reason}` };
    const answer = (): void => {
      if (!this.broken) this.toClient(statusPacket(rid, FX.PERMISSION_DENIED, `gatehouse: GH_ERR_POLICY_DENIED (${DECISION_CODES.sshSftpPath}): ${reason}`));
    };
    const fail = (e: unknown): void => {
      const err = toGatehouseError(e, 'GH_ERR_RECORDING_FAILED', 'the refusal could not be recorded');
      if (!this.broken) this.toClient(statusPacket(rid, FX.FAILURE, `gatehouse: ${err.code}: ${err.message}`));
    };
    let p: Promise<void> | undefined;
    try {
      p = this.session.refuse(operation, DECISION_CODES.sshSftpPath, reason, requestId);
    } catch (e) {
      fail(e);
      return undefined;
    }
    if (p === undefined) {
      answer();
      return undefined;
    }
    return p.then(answer, fail);
  }

  // ---- server → client ----------------------------------------------------------------------------

  private onServer(chunk: Buffer): void {
    if (this.broken) return;
    let packets: Buffer[];
    try {
      packets = this.fromServer.push(chunk);
      for (const p of packets) this.reply(p);
    } catch (e) {
      this.protocolError('server', e);
    }
  }

  private reply(packet: Buffer): void {
    const { type, id } = header(packet);
    if (type === FXP.VERSION) {
      const v = versionReply(packet);
      if (v.version !== 3) throw new SftpProtocolError(`the server speaks SFTP version ${v.version}; the gateway judges version 3 only`);
      this.opensshSymlinkOrder = v.extensions.some((e) => e.endsWith('@openssh.com'));
      this.toClient(packet);
      return;
    }
    const p = this.pending.get(id!);
    if (p === undefined) throw new SftpProtocolError(`a reply to request ${id}, which is not outstanding`);
    this.pending.delete(id!);
    switch (p.kind) {
      case 'read':
        if (type === FXP.DATA) {
          const data = body(packet).bytes();
          const h = p.handle;
          h.reads++;
          h.bytesRead += data.length;
          this.bytesRead += data.length;
          if (h.hashRead !== null) {
            if (p.offset === h.nextRead) {
              h.hashRead.update(data);
              h.contentRead.add(data);
              h.nextRead += data.length;
            } else {
              h.hashRead = null;
              h.contentRead.stop();
            }
          }
        }
        break;
      case 'readdir':
        if (type === FXP.NAME) p.handle.entries += body(packet).u32();
        break;
      case 'close':
        this.handles.delete(p.key);
        this.closed(p.handle, true);
        break;
      case 'judged': {
        let status = 'ok';
        let message: string | undefined;
        if (type === FXP.STATUS) {
          const r = body(packet);
          status = statusName(r.u32());
          message = r.bytes().toString('utf8');
        } else if (type === FXP.HANDLE && p.opens !== undefined) {
          const raw = body(packet).bytes();
          this.handles.set(raw.toString('latin1'), { ...p.opens, bytesRead: 0, bytesWritten: 0, reads: 0, writes: 0, entries: 0, hashRead: createHash('sha256'), nextRead: 0, hashWritten: createHash('sha256'), nextWritten: 0, contentRead: new FileContent(this.content.capBytes, this.budget), contentWritten: new FileContent(this.content.capBytes, this.budget) });
        } else if (type === FXP.NAME && p.cwdQuery === true) {
          const r = body(packet);
          if (r.u32() >= 1) {
            const name = decodePath(r.bytes());
            if (name.ok && name.text.startsWith('/')) this.cwd = name.text;
          }
        }
        this.session.recordOutcome('ssh.sftp.result', { channel: this.channel, request: id!, op: p.op, status, ...(message !== undefined && message !== '' ? { message } : {}) }, p.requestId);
        break;
      }
      case 'other':
        break;
    }
    this.toClient(packet);
  }

  // ---- end ----------------------------------------------------------------------------------------

  private closed(h: Handle, closed: boolean): void {
    if (h.kind === 'file') {
      for (const [direction, content, size] of [['read', h.contentRead, h.bytesRead], ['write', h.contentWritten, h.bytesWritten]] as const) {
        const payload = content.toPayload({ channel: this.channel, path: h.path, direction }, size, this.content.masking);
        if (payload !== undefined) this.session.recordOutcome('ssh.file.content', { ...payload, via: 'sftp' }, h.requestId);
      }
    }
    const ordered = (hash: Hash | null, bytes: number, next: number): string | null => (hash !== null && next === bytes ? hash.digest('hex') : null);
    this.session.recordOutcome(
      'ssh.sftp.close',
      {
        channel: this.channel,
        path: h.path,
        kind: h.kind,
        bytesRead: h.bytesRead,
        bytesWritten: h.bytesWritten,
        reads: h.reads,
        writes: h.writes,
        sha256Read: ordered(h.hashRead, h.bytesRead, h.nextRead),
        sha256Written: ordered(h.hashWritten, h.bytesWritten, h.nextWritten),
        ...(h.kind === 'directory' ? { entries: h.entries } : {}),
        closed,
      },
      h.requestId,
    );
  }

  private ended = false;

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    for (const h of this.handles.values()) this.closed(h, false);
    this.handles.clear();
    this.pending.clear();
    this.session.recordOutcome('ssh.sftp.end', { channel: this.channel, t: Math.max(0, this.now() - this.openedAt), requests: this.requests, refused: this.refused, bytesRead: this.bytesRead, bytesWritten: this.bytesWritten });
  }

  private protocolError(from: 'client' | 'server', e: unknown): void {
    if (this.broken) return;
    this.broken = true;
    const message = e instanceof Error ? e.message : String(e);
    this.session.recordOutcome('ssh.sftp.error', { channel: this.channel, from, message });
    this.queue.length = 0;
    this.client.stderr.write(`gatehouse: GH_ERR_REQUEST_INVALID: ${message}; the SFTP channel is closed\r\n`);
    this.client.exit(1);
    this.client.end();
    this.upstream.close();
    this.finish();
  }
}
