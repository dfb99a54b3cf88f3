import { GatehouseError } from '../../../errors';
import { html, type Html } from '../html';

/**
 * Terminal recordings (ARCHITECTURE.md: SSH and Kubernetes exec record channel bytes as chained
 * events: time, stream, data, resize, exit). This module works on the typed shape of a channel's
 * recording (protocols/ssh/terminal-replay.ts builds it from SSH events), converts it losslessly to
 * asciicast v2 and v3 for the player and the `.cast` exports, and renders
 * the player slot at the recording's own size (a replay drawn at the wrong size is the complaint
 * the issue quotes).
 */
export type TerminalFrame =
  /** Bytes on a stream, `t` seconds after the recording started. `data` is UTF-8 text. */
  | { readonly kind: 'data'; readonly t: number; readonly stream: 'output' | 'input'; readonly data: string }
  /** The client's window changed size. */
  | { readonly kind: 'resize'; readonly t: number; readonly cols: number; readonly rows: number }
  /** The remote command ended. */
  | { readonly kind: 'exit'; readonly t: number; readonly code: number | null };

export interface TerminalRecording {
  /** The initial terminal size the client requested (pty-req / the exec's TTY size). */
  readonly cols: number;
  readonly rows: number;
  /** When the recording started (the first frame's t = 0), RFC 3339. */
  readonly startedAt: string;
  readonly title?: string;
  readonly env?: { readonly TERM?: string; readonly SHELL?: string };
  /** False for a channel without a pseudo-terminal (exec without `-t`): its newlines are bare. @default true */
  readonly pty?: boolean;
  readonly frames: readonly TerminalFrame[];
}

/** The asciicast versions the console and `gatehouse sessions export` write. */
export type AsciicastVersion = 2 | 3;

function checkSize(cols: number, rows: number, what: string): void {
  if (!Number.isSafeInteger(cols) || !Number.isSafeInteger(rows) || cols < 1 || rows < 1 || cols > 10_000 || rows > 10_000) {
    throw new GatehouseError('GH_ERR_INTERNAL', `${what}: terminal size ${cols}x${rows} is not a valid size`);
  }
}

/**
 * The frames with every character whole. A recorded chunk holds whole characters (the recorder
 * decodes UTF-8 across chunk boundaries and the masker never splits a surrogate pair), but a
 * frame ending in the first half of a surrogate pair (an astral character such as an emoji split
 * by whatever wrote the frames) would be written as a lone surrogate, which a player decodes as
 * U+FFFD: the half is carried into the next frame of the same stream. Pure; times are kept.
 */
export function wholeCharacters(frames: readonly TerminalFrame[]): TerminalFrame[] {
  const carry: Record<'output' | 'input', string> = { output: '', input: '' };
  const out: TerminalFrame[] = [];
  for (const f of frames) {
    if (f.kind !== 'data') {
      out.push(f);
      continue;
    }
    let data = carry[f.stream] + f.data;
    carry[f.stream] = '';
    const last = data.charCodeAt(data.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      carry[f.stream] = data.slice(-1);
      data = data.slice(0, -1);
    }
    if (data.length > 0) out.push({ ...f, data });
  }
  // A half never completed stays a half: written as is, it shows as U+FFFD, as it must.
  for (const stream of ['output', 'input'] as const) {
    if (carry[stream] !== '') out.push({ kind: 'data', t: out.length > 0 ? out[out.length - 1]!.t : 0, stream, data: carry[stream] });
  }
  return out;
}

/** Seconds with microsecond precision, never going backwards (a clock step must not make the player seek into the past). */
function monotonicTimes(frames: readonly TerminalFrame[]): number[] {
  let last = 0;
  return frames.map((f) => {
    const t = Math.round(Math.max(last, f.t) * 1e6) / 1e6;
    last = t;
    return t;
  });
}

/**
 * asciicast (https://docs.asciinema.org/manual/asciicast/v2/ and /v3/): a header line, then one
 * `[time, code, data]` line per event: `o` output, `i` input, `r` resize (`COLSxROWS`).
 *
 * - v2: `width`/`height` and `env.TERM` in the header; `time` is seconds since the start; the exit
 *   is a marker (`m`, `exit N`), v2 having no event for it.
 * - v3: `term: {cols, rows, type}` in the header; `time` is the interval since the previous event;
 *   the exit is an `x` event with the numeric status; an exit by signal (no status) is a marker.
 */
export function toAsciicast(rec: TerminalRecording, version: AsciicastVersion = 2): string {
  checkSize(rec.cols, rec.rows, 'recording');
  const started = Date.parse(rec.startedAt);
  // The exit goes last: output the masker held back is recorded after it, at the channel's close,
  // though it was sent before (v3's `x` is the recording's last event).
  const frames = wholeCharacters([...rec.frames.filter((f) => f.kind !== 'exit'), ...rec.frames.filter((f) => f.kind === 'exit')]);
  const times = monotonicTimes(frames);
  const lines: string[] = [];
  if (version === 2) {
    const header: Record<string, unknown> = { version: 2, width: rec.cols, height: rec.rows };
    if (Number.isFinite(started)) header.timestamp = Math.floor(started / 1000);
    if (rec.title !== undefined) header.title = rec.title;
    if (rec.env !== undefined) header.env = rec.env;
    lines.push(JSON.stringify(header));
  } else {
    const { TERM, ...env }: { readonly TERM?: string; readonly SHELL?: string } = rec.env ?? {};
    const header: Record<string, unknown> = { version: 3, term: { cols: rec.cols, rows: rec.rows, ...(TERM !== undefined ? { type: TERM } : {}) } };
    if (Number.isFinite(started)) header.timestamp = Math.floor(started / 1000);
    if (rec.title !== undefined) header.title = rec.title;
    if (Object.keys(env).length > 0) header.env = env;
    lines.push(JSON.stringify(header));
  }
  let previous = 0;
  frames.forEach((f, i) => {
    const at = times[i]!;
    // v3 intervals come from the rounded absolute times, so they add up to them without drift.
    const time = version === 2 ? at : Math.round((at - previous) * 1e6) / 1e6;
    previous = at;
    if (f.kind === 'data') lines.push(JSON.stringify([time, f.stream === 'input' ? 'i' : 'o', f.data]));
    else if (f.kind === 'resize') {
      checkSize(f.cols, f.rows, `resize at ${at}s`);
      lines.push(JSON.stringify([time, 'r', `${f.cols}x${f.rows}`]));
    } else if (version === 3 && f.code !== null) lines.push(JSON.stringify([time, 'x', String(f.code)]));
    else lines.push(JSON.stringify([time, 'm', `exit ${f.code ?? 'signal'}`]));
  });
  return lines.join('\n') + '\n';
}

/**
 * The player slot: a container the loader script (assets.ts) turns into an asciinema player at
 * the recorded size. Without JavaScript it stays a link to the `.cast` download.
 */
export function renderPlayerSlot(rec: Pick<TerminalRecording, 'cols' | 'rows'>, castUrl: string, label = 'terminal'): Html {
  checkSize(rec.cols, rec.rows, 'player');
  return html`<section class="gh-terminal" aria-label="terminal replay: ${label}">
<h2 class="gh-terminal-title">${label}</h2>
<div class="gh-player" data-cast="${castUrl}" data-cols="${rec.cols}" data-rows="${rec.rows}"><p class="gh-muted">Terminal ${rec.cols}×${rec.rows}. <a href="${castUrl}" download>Download the recording (.cast)</a> to replay it with asciinema; the player needs JavaScript.</p></div>
</section>`;
}

/** ANSI control sequences (CSI, OSC) stripped for the text view; the player shows them as drawn. */
const ANSI = /\u001b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;

function n(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Terminal protocol events in the timeline (SSH: `ssh.channel.open`, `ssh.data`, `ssh.resize`,
 * `ssh.exit`), as text: the player above replays them; this shows what was typed and printed,
 * with masking markers marked. Undefined for a type this module does not know.
 */
export function renderTerminalEvent(type: string, payload: Record<string, unknown>, marks: (text: string) => Html): Html | undefined {
  const channel = n(payload.channel);
  const at = n(payload.t);
  const where = html`<span class="gh-muted">channel ${channel ?? '?'}${at !== undefined ? ` · ${(at / 1000).toFixed(3)} s` : ''}</span>`;
  switch (type) {
    case 'ssh.channel.open': {
      const pty = typeof payload.pty === 'object' && payload.pty !== null ? (payload.pty as Record<string, unknown>) : undefined;
      return html`<p>${where} <span class="gh-tag">${String(payload.kind ?? '?')}</span>${typeof payload.command === 'string' ? html` <code>${marks(payload.command)}</code>` : ''}${
        pty ? html` <span class="gh-muted">pty ${n(pty.cols) ?? '?'}×${n(pty.rows) ?? '?'}${typeof pty.term === 'string' ? ` ${pty.term}` : ''}</span>` : html` <span class="gh-muted">no pty</span>`
      }</p>`;
    }
    case 'ssh.data': {
      const text = typeof payload.text === 'string' ? payload.text.replace(ANSI, '') : '';
      return html`<div class="gh-term-data gh-term-${String(payload.stream ?? 'stdout')}"><p>${where} <span class="gh-tag">${String(payload.stream ?? '?')}</span> <span class="gh-muted">${n(payload.bytes) ?? '?'} bytes</span></p><pre class="gh-code"><code>${marks(text)}</code></pre></div>`;
    }
    case 'ssh.resize':
      return html`<p>${where} resized to ${n(payload.cols) ?? '?'}×${n(payload.rows) ?? '?'}</p>`;
    case 'ssh.exit':
      return html`<p>${where} exited ${payload.code === null || payload.code === undefined ? html`by signal ${String(payload.signal ?? '?')}` : html`with status <code>${String(payload.code)}</code>`}</p>`;
    default:
      return undefined;
  }
}
