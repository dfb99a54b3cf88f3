/**
 * From a session's recorded SSH events to the terminal recording the console plays and exports
 * (admin/console/session-page/terminal.ts: `TerminalRecording`, converted to asciicast v2 there).
 * The shape is restated here, structurally, so a protocol does not import the console; the test
 * feeds this function's output to the console's `toAsciicast`.
 */
export type ReplayFrame =
  | { readonly kind: 'data'; readonly t: number; readonly stream: 'output' | 'input'; readonly data: string }
  | { readonly kind: 'resize'; readonly t: number; readonly cols: number; readonly rows: number }
  | { readonly kind: 'exit'; readonly t: number; readonly code: number | null };

export interface ReplayRecording {
  readonly cols: number;
  readonly rows: number;
  readonly startedAt: string;
  readonly title?: string;
  readonly env?: { readonly TERM?: string };
  /** False for a channel without a pty: its newlines are bare (a transcript then returns the carriage). */
  readonly pty: boolean;
  readonly frames: readonly ReplayFrame[];
}

/** What is read of a stored event (AuditEvent is a superset). */
export interface StoredEventLike {
  readonly type: string;
  readonly time: string;
  readonly payload: Record<string, unknown>;
}

/** The size a player uses for a channel without a pty (exec without `-t`): the common default. */
export const DEFAULT_TERMINAL = { cols: 80, rows: 24 } as const;

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The channel numbers that have a recorded `ssh.channel.open`, in order. */
export function recordedChannels(events: readonly StoredEventLike[]): number[] {
  const out: number[] = [];
  for (const e of events) {
    const ch = num(e.payload.channel);
    if (e.type === 'ssh.channel.open' && ch !== undefined && !out.includes(ch)) out.push(ch);
  }
  return out;
}

/**
 * One channel's recording: its pty size (else 80x24), title (the exec command or `shell`), every
 * `ssh.data` (stdout and stderr as output, stdin as input), `ssh.resize` and `ssh.exit` at its
 * recorded `t`. Undefined when the channel was never opened (refused channels record no open).
 */
export function terminalRecording(events: readonly StoredEventLike[], channel: number): ReplayRecording | undefined {
  const open = events.find((e) => e.type === 'ssh.channel.open' && e.payload.channel === channel);
  if (open === undefined) return undefined;
  const pty = open.payload.pty as { term?: unknown; cols?: unknown; rows?: unknown } | null | undefined;
  const cols = num(pty?.cols) ?? DEFAULT_TERMINAL.cols;
  const rows = num(pty?.rows) ?? DEFAULT_TERMINAL.rows;
  const command = typeof open.payload.command === 'string' ? open.payload.command : null;
  const frames: ReplayFrame[] = [];
  for (const e of events) {
    if (e.payload.channel !== channel) continue;
    const t = (num(e.payload.t) ?? 0) / 1000;
    if (e.type === 'ssh.data' && typeof e.payload.text === 'string') {
      if (e.payload.text.length === 0) continue;
      frames.push({ kind: 'data', t, stream: e.payload.stream === 'stdin' ? 'input' : 'output', data: e.payload.text });
    } else if (e.type === 'ssh.resize') {
      const c = num(e.payload.cols);
      const r = num(e.payload.rows);
      if (c !== undefined && r !== undefined) frames.push({ kind: 'resize', t, cols: c, rows: r });
    } else if (e.type === 'ssh.exit') {
      frames.push({ kind: 'exit', t, code: num(e.payload.code) ?? null });
    }
  }
  const term = typeof pty?.term === 'string' ? pty.term : undefined;
  return { cols, rows, startedAt: open.time, title: command ?? 'shell', ...(term !== undefined ? { env: { TERM: term } } : {}), pty: pty !== null && pty !== undefined, frames };
}

/** Every recorded channel of a session as a terminal recording, labelled by what it ran (the console's player and exports, `sessions export`). */
export function terminalChannels(events: readonly StoredEventLike[]): { channel: number; label: string; recording: ReplayRecording }[] {
  const out: { channel: number; label: string; recording: ReplayRecording }[] = [];
  for (const channel of recordedChannels(events)) {
    const recording = terminalRecording(events, channel);
    if (recording !== undefined) out.push({ channel, label: recording.title ?? `channel ${channel}`, recording });
  }
  return out;
}
