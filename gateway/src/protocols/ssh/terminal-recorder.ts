import { StringDecoder } from 'node:string_decoder';
import type { StreamRedactor } from '../../masking';
import type { SshDataPayload, SshExitPayload, SshResizePayload } from '../../pipeline/types';

export type SshStream = SshDataPayload['stream'];

/** What the recorder needs of a connection's masking: one stream redactor per stream. */
export interface TerminalMasking {
  createStreamRedactor(): StreamRedactor;
}

/** One event a channel produced, ready for `session.recordOutcome`. */
export type TerminalEvent =
  | { readonly type: 'ssh.data'; readonly payload: SshDataPayload }
  | { readonly type: 'ssh.resize'; readonly payload: SshResizePayload }
  | { readonly type: 'ssh.exit'; readonly payload: SshExitPayload };

interface StreamState {
  readonly decoder: StringDecoder;
  readonly redactor: StreamRedactor | undefined;
}

/**
 * Turns one SSH channel's traffic into recorded events (pure: no I/O, the clock is an input).
 *
 * Each stream (stdin, stdout, stderr) has its own UTF-8 decoder, so a character split between two
 * chunks is decoded whole in the later event (the chunk-boundary rule), and, when masking is
 * configured, its own stream redactor, so a secret split across chunks is still masked; what the
 * redactor holds back is released by a later chunk or by `end`. `bytes` is what arrived on the
 * wire in that chunk, so the byte count of a channel is the sum of its events' `bytes`.
 *
 * Masking applies to the record: the client receives the upstream's bytes as sent (an interactive
 * terminal cannot wait for the redactor's window; docs/ssh.md).
 */
export class TerminalRecorder {
  private readonly streams = new Map<SshStream, StreamState>();
  private readonly openedAt: number;
  private ended = false;

  constructor(
    readonly channel: number,
    private readonly now: () => number,
    /** The connection's masking (masking-policy.ts `MaskingPolicy`), or undefined when the record is kept in the clear. */
    private readonly masking: TerminalMasking | undefined,
  ) {
    this.openedAt = now();
  }

  private t(): number {
    return Math.max(0, this.now() - this.openedAt);
  }

  private state(stream: SshStream): StreamState {
    let s = this.streams.get(stream);
    if (s === undefined) {
      s = { decoder: new StringDecoder('utf8'), redactor: this.masking?.createStreamRedactor() };
      this.streams.set(stream, s);
    }
    return s;
  }

  /**
   * The event for one chunk; undefined when nothing is releasable and no byte arrived. Throws
   * GH_ERR_MASKING_FAILED when masking fails (then the chunk must not be recorded in the clear).
   */
  data(stream: SshStream, chunk: Buffer): TerminalEvent | undefined {
    if (this.ended) return undefined;
    const s = this.state(stream);
    const decoded = s.decoder.write(chunk);
    const text = s.redactor === undefined ? decoded : s.redactor.push(decoded);
    if (text.length === 0 && chunk.length === 0) return undefined;
    return { type: 'ssh.data', payload: { channel: this.channel, stream, t: this.t(), text, bytes: chunk.length } };
  }

  resize(cols: number, rows: number): TerminalEvent {
    return { type: 'ssh.resize', payload: { channel: this.channel, t: this.t(), cols, rows } };
  }

  exit(code: number | null, signal?: string): TerminalEvent {
    const payload: SshExitPayload = signal === undefined ? { channel: this.channel, t: this.t(), code } : { channel: this.channel, t: this.t(), code, signal };
    return { type: 'ssh.exit', payload };
  }

  /**
   * The channel closed: what each stream's decoder and redactor still held (an incomplete UTF-8
   * sequence becomes U+FFFD), one event per stream that had any, with `bytes` 0.
   */
  end(): TerminalEvent[] {
    if (this.ended) return [];
    this.ended = true;
    const out: TerminalEvent[] = [];
    for (const [stream, s] of this.streams) {
      const tail = s.decoder.end();
      const text = s.redactor === undefined ? tail : s.redactor.push(tail) + s.redactor.end();
      if (text.length > 0) out.push({ type: 'ssh.data', payload: { channel: this.channel, stream, t: this.t(), text, bytes: 0 } });
    }
    return out;
  }

  /** Masked items so far, by type, over all streams. */
  maskedCounts(): Record<string, number> {
    const total: Record<string, number> = {};
    for (const s of this.streams.values()) for (const [k, v] of Object.entries(s.redactor?.counts ?? {})) total[k] = (total[k] ?? 0) + v;
    return total;
  }
}
