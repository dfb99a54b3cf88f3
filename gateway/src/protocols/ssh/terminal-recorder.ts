import { StringDecoder } from 'node:string_decoder';
import type { StreamRedactor } from '../../masking';
import type { SshDataPayload, SshExitPayload, SshPtySize, SshResizePayload, SshTranscriptPayload } from '../../pipeline/types';
import { ChannelTranscript } from './channel-transcript';
import { DEFAULT_TERMINAL } from './terminal-replay';

export type SshStream = SshDataPayload['stream'];

/** What the recorder needs of a connection's masking: one stream redactor per stream. */
export interface TerminalMasking {
  createStreamRedactor(): StreamRedactor;
}

/** One event a channel produced, ready for `session.recordOutcome`. */
export type TerminalEvent =
  | { readonly type: 'ssh.data'; readonly payload: SshDataPayload }
  | { readonly type: 'ssh.resize'; readonly payload: SshResizePayload }
  | { readonly type: 'ssh.exit'; readonly payload: SshExitPayload }
  | { readonly type: 'ssh.transcript'; readonly payload: SshTranscriptPayload };

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
 *
 * The output as recorded (masked) also feeds the channel's transcript (channel-transcript.ts,
 * terminal emulation at the pty's size and its window changes), recorded as `ssh.transcript` at
 * the end so the session index finds the channel by its commands and output.
 */
export class TerminalRecorder {
  private readonly streams = new Map<SshStream, StreamState>();
  private readonly openedAt: number;
  private ended = false;
  private readonly transcript: ChannelTranscript;

  constructor(
    readonly channel: number,
    private readonly now: () => number,
    /** The connection's masking (masking-policy.ts `MaskingPolicy`), or undefined when the record is kept in the clear. */
    private readonly masking: TerminalMasking | undefined,
    /** The pty the client asked for; null or undefined without one (the transcript then assumes 80x24, bare newlines). */
    pty?: SshPtySize | null,
  ) {
    this.openedAt = now();
    this.transcript = new ChannelTranscript(pty?.cols ?? DEFAULT_TERMINAL.cols, pty?.rows ?? DEFAULT_TERMINAL.rows, pty !== null && pty !== undefined);
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
    if (stream !== 'stdin') this.transcript.write(text);
    if (text.length === 0 && chunk.length === 0) return undefined;
    return { type: 'ssh.data', payload: { channel: this.channel, stream, t: this.t(), text, bytes: chunk.length } };
  }

  resize(cols: number, rows: number): TerminalEvent {
    this.transcript.resize(cols, rows);
    return { type: 'ssh.resize', payload: { channel: this.channel, t: this.t(), cols, rows } };
  }

  exit(code: number | null, signal?: string): TerminalEvent {
    const payload: SshExitPayload = signal === undefined ? { channel: this.channel, t: this.t(), code } : { channel: this.channel, t: this.t(), code, signal };
    return { type: 'ssh.exit', payload };
  }

  /**
   * The channel closed: what each stream's decoder and redactor still held (an incomplete UTF-8
   * sequence becomes U+FFFD), one event per stream that had any, with `bytes` 0; then the
   * channel's transcript, when its output had any text.
   */
  end(): TerminalEvent[] {
    if (this.ended) return [];
    this.ended = true;
    const out: TerminalEvent[] = [];
    for (const [stream, s] of this.streams) {
      const tail = s.decoder.end();
      const text = s.redactor === undefined ? tail : s.redactor.push(tail) + s.redactor.end();
      if (text.length > 0) out.push({ type: 'ssh.data', payload: { channel: this.channel, stream, t: this.t(), text, bytes: 0 } });
      if (stream !== 'stdin') this.transcript.write(text);
    }
    const transcript = this.transcript.finish();
    if (transcript !== undefined && transcript.text !== '') out.push({ type: 'ssh.transcript', payload: { channel: this.channel, t: this.t(), text: transcript.text, truncated: transcript.truncated } });
    return out;
  }

  /** Masked items so far, by type, over all streams. */
  maskedCounts(): Record<string, number> {
    const total: Record<string, number> = {};
    for (const s of this.streams.values()) for (const [k, v] of Object.entries(s.redactor?.counts ?? {})) total[k] = (total[k] ?? 0) + v;
    return total;
  }
}
