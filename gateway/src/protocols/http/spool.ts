import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatehouseError } from '../../errors';
import type { SpooledBody } from '../kit/http-dialect';
import { prefixBytes, type RequestPrefix } from './request';

/**
 * The whole request body for a `spool` dialect (kit/http-dialect.ts): the prefix already read
 * stays in memory; a body longer than it is written, prefix first, to a temporary file while the
 * rest arrives, with the stream's backpressure (memory stays bounded by the prefix and the file
 * stream's buffer). `too_large` when more than `cap` bytes arrive: the file is removed and the
 * rest of the body is left unread (the connection must close).
 */
export async function spoolBody(req: IncomingMessage, prefix: RequestPrefix, cap: number, dir: string | undefined): Promise<SpooledBody | 'too_large'> {
  const hash = createHash('sha256');
  for (const c of prefix.chunks) hash.update(c);
  if (prefix.bytes > cap) return 'too_large';
  if (prefix.ended) return { prefix: prefixBytes(prefix), file: undefined, size: prefix.bytes, sha256: hash.digest('hex') };
  // The dialect's folder (e.g. a git connection's dataDir) need not exist before its first large
  // body: made here, private, rather than failing that request.
  if (dir !== undefined) await mkdir(dir, { recursive: true, mode: 0o700 });
  const folder = await mkdtemp(join(dir ?? tmpdir(), 'gatehouse-spool-'));
  const file = join(folder, 'body');
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  let size = prefix.bytes;
  try {
    for (const c of prefix.chunks) if (!out.write(c)) await drained(out);
    const result = await new Promise<'ok' | 'too_large'>((resolve, reject) => {
      const cleanup = (): void => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('close', onClose);
      };
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > cap) {
          cleanup();
          req.pause();
          resolve('too_large');
          return;
        }
        hash.update(chunk);
        if (!out.write(chunk)) {
          req.pause();
          out.once('drain', () => req.resume());
        }
      };
      const onEnd = (): void => {
        cleanup();
        resolve('ok');
      };
      const onError = (e: Error): void => {
        cleanup();
        reject(new GatehouseError('GH_ERR_REQUEST_INVALID', 'the request body could not be read', { cause: e }));
      };
      const onClose = (): void => {
        if (!req.readableEnded) onError(new Error('client closed the request'));
      };
      out.on('error', (e) => {
        cleanup();
        reject(new GatehouseError('GH_ERR_INTERNAL', 'the request body could not be spooled', { cause: e }));
      });
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', onError);
      req.on('close', onClose);
      req.resume();
    });
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    if (result === 'too_large') {
      await removeSpool(file);
      return 'too_large';
    }
    return { prefix: prefixBytes(prefix), file, size, sha256: hash.digest('hex') };
  } catch (e) {
    out.destroy();
    await removeSpool(file);
    throw e;
  }
}

/** Removes a spooled body (its private folder); never throws. */
export async function removeSpool(file: string): Promise<void> {
  await rm(join(file, '..'), { recursive: true, force: true }).catch(() => undefined);
}

function drained(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => out.once('drain', resolve));
}
