import { loadScreenText, ScreenText } from './screen-text';

/** What a transcript is made of: the console's TerminalRecording (admin/console/session-page/terminal.ts) is one. */
export interface TranscriptSource {
  readonly cols: number;
  readonly rows: number;
  /** False for a channel without a pty (bare newlines). @default true */
  readonly pty?: boolean;
  readonly frames: readonly (
    | { readonly kind: 'data'; readonly stream: 'output' | 'input'; readonly data: string }
    | { readonly kind: 'resize'; readonly cols: number; readonly rows: number }
    | { readonly kind: 'exit' }
  )[];
}

/**
 * Lines as a transcript shows them: runs of blank lines become one, no blank line at either end,
 * and no control character left but tab (an emulated screen holds none; this is belt and braces
 * for text written around the emulator).
 */
export function tidyLines(lines: readonly string[]): string {
  const out: string[] = [];
  for (const raw of lines) {
    const line = raw.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '').trimEnd();
    if (line === '' && (out.length === 0 || out[out.length - 1] === '')) continue;
    out.push(line);
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out.join('\n');
}

/**
 * The plain-text transcript of one terminal recording: its output emulated at the recorded size,
 * following every window change (screen-text.ts). Input is not replayed: what was typed shows as
 * the terminal echoed it, so a command line corrected with backspace reads as it was run.
 */
export async function transcriptText(source: TranscriptSource): Promise<string> {
  await loadScreenText();
  const lines: string[] = [];
  const screen = new ScreenText({ cols: source.cols, rows: source.rows, convertEol: source.pty === false }, (l) => lines.push(l));
  for (const f of source.frames) {
    if (f.kind === 'data' && f.stream === 'output') screen.write(f.data);
    else if (f.kind === 'resize') screen.resize(f.cols, f.rows);
  }
  screen.finish();
  const text = tidyLines(lines);
  return text === '' ? '' : `${text}\n`;
}
