import type { IncomingMessage } from 'node:http';
import { GatehouseError } from '../../errors';
import type { ClientInfo } from '../../pipeline/types';
import { redactQuery } from './headers';

/** Headers a client may use to declare its session. */
const SESSION_HEADERS = ['x-gatehouse-session', 'x-claude-code-session-id'] as const;

/** The first value of a request header. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `Authorization: Bearer <jwt>`, else `x-api-key: <jwt>` (how Anthropic SDKs send an API key). */
export function bearerToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') {
    const t = auth.slice(7).trim();
    if (t !== '') return t;
  }
  const key = header(req, 'x-api-key')?.trim();
  return key === undefined || key === '' ? undefined : key;
}

export function clientInfo(req: IncomingMessage): ClientInfo {
  let clientSessionId: string | undefined;
  for (const h of SESSION_HEADERS) {
    const v = header(req, h);
    // Bounded: the id becomes part of a map key and is recorded (Node's parser already refused control characters).
    if (v !== undefined && v !== '' && v.length <= 200) {
      clientSessionId = v;
      break;
    }
  }
  return {
    address: req.socket.remoteAddress ?? 'unknown',
    port: req.socket.remotePort,
    userAgent: header(req, 'user-agent'),
    clientSessionId,
  };
}

/** The request body read before judging: forwarded first, as it is, ahead of the rest. */
export interface RequestPrefix {
  readonly chunks: Buffer[];
  readonly bytes: number;
  readonly ended: boolean;
}

export const NO_BODY: RequestPrefix = Object.freeze({ chunks: Object.freeze([]) as unknown as Buffer[], bytes: 0, ended: true });

/**
 * Reads the request body until it ends or more than `cap` bytes arrived (so a body of exactly
 * `cap` bytes is known to be whole), leaving the stream paused so the rest can be piped upstream
 * afterwards.
 */
export function readPrefix(req: IncomingMessage, cap: number): RequestPrefix | Promise<RequestPrefix> {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  // Synchronous when there is nothing to wait for (most GETs): no promise on the hot path.
  if (!hasBody || req.readableEnded) return NO_BODY;
  if (cap <= 0) return { chunks: [], bytes: 0, ended: false };
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const cleanup = (): void => {
      req.pause();
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes > cap) {
        cleanup();
        resolve({ chunks, bytes, ended: false });
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ chunks, bytes, ended: true });
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(new GatehouseError('GH_ERR_REQUEST_INVALID', 'the request body could not be read', { cause: e }));
    };
    const onClose = (): void => {
      if (!req.readableEnded) onError(new Error('client closed the request'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** The prefix as one buffer (no copy for the common single chunk). */
export function prefixBytes(prefix: RequestPrefix): Buffer {
  return prefix.chunks.length === 1 ? prefix.chunks[0]! : Buffer.concat(prefix.chunks, prefix.bytes);
}

/** A path with its query's sensitive values redacted. */
export function redactPathQuery(pathWithQuery: string, sensitive: ReadonlySet<string>): string {
  const q = pathWithQuery.indexOf('?');
  return q === -1 ? pathWithQuery : pathWithQuery.slice(0, q) + redactQuery(pathWithQuery.slice(q), sensitive);
}

/** Whether a response to `method` with `status` has a body. */
export function hasBody(method: string, status: number): boolean {
  return method !== 'HEAD' && status !== 204 && status !== 304 && status >= 200;
}

export function isIdentity(encoding: string | undefined): boolean {
  return encoding === undefined || encoding === '' || encoding.trim().toLowerCase() === 'identity';
}

export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
