import { GatehouseError } from '../../../errors';
import { html, type Html } from '../html';

/**
 * Terminal recordings (ARCHITECTURE.md: SSH and Kubernetes exec record channel bytes as chained
 * events: time, stream, data, resize, exit). No terminal protocol has landed yet, so no terminal
 * event type is registered in the catalog; this module works on the typed shape those events will
 * carry, converts it losslessly to asciicast v2 for the player and the `.cast` export, and renders
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
  readonly frames: readonly TerminalFrame[];
}

function checkSize(cols: number, rows: number, what: string): void {
  if (!Number.isSafeInteger(cols) || !Number.isSafeInteger(rows) || cols < 1 || rows < 1 || cols > 10_000 || rows > 10_000) {
    throw new GatehouseError('GH_ERR_INTERNAL', `${what}: terminal size ${cols}x${rows} is not a valid size`);
  }
}

/**
 * asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then one
 * `[time, code, data]` line per event: `o` output, `i` input, `r` resize (`COLSxROWS`), `m`
 * marker (the exit, which v2 has no event for). Times are seconds, never going backwards.
 */
export function toAsciicast(rec: TerminalRecording): string {
  checkSize(rec.cols, rec.rows, 'recording');
  const started = Date.parse(rec.startedAt);
  const header: Record<string, unknown> = { version: 2, width: rec.cols, height: rec.rows };
  if (Number.isFinite(started)) header.timestamp = Math.floor(started / 1000);
  if (rec.title !== undefined) header.title = rec.title;
  if (rec.env !== undefined) header.env = rec.env;
  const lines = [JSON.stringify(header)];
  let last = 0;
  for (const f of rec.frames) {
    // Clamp: a clock step backwards must not make the player seek into the past.
    const t = Math.round(Math.max(last, f.t) * 1e6) / 1e6;
    last = t;
    if (f.kind === 'data') lines.push(JSON.stringify([t, f.stream === 'input' ? 'i' : 'o', f.data]));
    else if (f.kind === 'resize') {
      checkSize(f.cols, f.rows, `resize at ${t}s`);
      lines.push(JSON.stringify([t, 'r', `${f.cols}x${f.rows}`]));
    } else lines.push(JSON.stringify([t, 'm', `exit ${f.code ?? 'signal'}`]));
  }
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
