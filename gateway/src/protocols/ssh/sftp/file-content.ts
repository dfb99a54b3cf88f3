import type { SshFileContentPayload } from '../../../pipeline/types';

/** What FileContent records; the caller says which protocol carried the file. */
export type FileContentRecord = Omit<SshFileContentPayload, 'via'>;
import type { TerminalMasking } from '../terminal-recorder';

/**
 * Bytes of file content held, over all of a channel's open handles, before they are recorded:
 * past it a handle keeps counting and hashing but stops collecting (its record says `truncated`),
 * so a client holding many handles open cannot make the gateway hold cap × handles.
 */
export const CHANNEL_CONTENT_BUDGET = 8 * 1024 * 1024;

/** Shared by a channel's handles: what they hold together. */
export class ContentBudget {
  held = 0;
}

/**
 * The first `cap` bytes of one file's content in one direction (read or written), as they passed
 * in order from offset 0. Only contiguous bytes are kept: a gap (a client reading or writing out
 * of order) stops the collection where it was.
 */
export class FileContent {
  private readonly parts: Buffer[] = [];
  private kept = 0;
  private stopped = false;

  constructor(
    private readonly cap: number,
    private readonly budget: ContentBudget,
  ) {}

  /** Bytes at the next in-order offset. */
  add(data: Buffer): void {
    if (this.stopped || this.kept >= this.cap || data.length === 0) return;
    const room = Math.min(this.cap - this.kept, CHANNEL_CONTENT_BUDGET - this.budget.held);
    if (room <= 0) {
      this.stopped = true;
      return;
    }
    const part = data.length > room ? Buffer.from(data.subarray(0, room)) : Buffer.from(data);
    this.parts.push(part);
    this.kept += part.length;
    this.budget.held += part.length;
  }

  /** Bytes arrived out of order: nothing after them is contiguous. */
  stop(): void {
    this.stopped = true;
  }

  /**
   * The record of what was kept, and the budget given back. Text (valid UTF-8 without NUL) is
   * masked with a fresh stream masker when the connection masks; binary is base64 when the
   * connection records in the clear, and left out when it masks (binary cannot be masked, and
   * what the configuration says to mask is never stored in the clear). Undefined when the file
   * passed no byte in this direction, or the cap is 0 (contents not recorded).
   */
  toPayload(base: Pick<SshFileContentPayload, 'channel' | 'path' | 'direction'>, size: number, masking: TerminalMasking | undefined): FileContentRecord | undefined {
    const data = Buffer.concat(this.parts);
    this.budget.held -= this.kept;
    this.parts.length = 0;
    if (size === 0 || this.cap === 0) return undefined;
    const base2 = { ...base, size };
    // `truncated`: the record holds less than the whole transfer (also when it holds nothing).
    const none = (reason: string): FileContentRecord => ({ ...base2, truncated: true, recorded: 0, encoding: 'none', reason });
    const some = { ...base2, truncated: size > data.length, recorded: data.length };
    const text = utf8Text(data);
    if (text !== undefined) {
      if (masking === undefined) return { ...some, encoding: 'text', text };
      try {
        const redactor = masking.createStreamRedactor();
        const masked = redactor.push(text) + redactor.end();
        const counts = redactor.counts;
        return { ...some, encoding: 'text', text: masked, ...(Object.keys(counts).length > 0 ? { masked: { ...counts } } : {}) };
      } catch {
        return none('masking_failed');
      }
    }
    if (masking !== undefined) return none('binary_masked');
    return { ...some, encoding: 'base64', base64: data.toString('base64') };
  }
}

/**
 * The bytes as text when they are UTF-8 without NUL (a character cut by the cap at the end is
 * left out, not mangled); undefined for binary.
 */
function utf8Text(data: Buffer): string | undefined {
  if (data.includes(0)) return undefined;
  try {
    // stream: true holds back an incomplete final sequence (the cap may cut a character) instead of failing.
    return new TextDecoder('utf-8', { fatal: true }).decode(data, { stream: true });
  } catch {
    return undefined;
  }
}
