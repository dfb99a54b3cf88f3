import type { SessionTranscript } from '../../../recording/reader';
import { transcriptText } from '../../../terminal/transcript';
import { toAsciicast, type AsciicastVersion, type TerminalRecording } from './terminal';

/**
 * Downloads. JSON is byte for byte what `gatehouse sessions export` prints (cli/commands/sessions.ts
 * calls the same function on the same `exportSession` transcript).
 */
export function sessionJsonExport(transcript: SessionTranscript): { filename: string; contentType: string; body: string } {
  return { filename: `session-${safeName(transcript.session.id)}.json`, contentType: 'application/json; charset=utf-8', body: formatTranscriptJson(transcript) };
}

/** The JSON form of a transcript, as `sessions export` prints it. */
export function formatTranscriptJson(transcript: SessionTranscript): string {
  return JSON.stringify(transcript, null, 2);
}

/** asciicast (v2 by default, or v3) of one terminal channel: `session-<id>.cast`, `session-<id>.v3.cast`. */
export function sessionCastExport(sessionId: string, recording: TerminalRecording, version: AsciicastVersion = 2): { filename: string; contentType: string; body: string } {
  return { filename: `session-${safeName(sessionId)}${version === 3 ? '.v3' : ''}.cast`, contentType: 'application/x-asciicast; charset=utf-8', body: toAsciicast(recording, version) };
}

/** The plain-text transcript of one terminal channel (terminal emulation: terminal/transcript.ts). */
export async function sessionTextExport(sessionId: string, channel: number, recording: TerminalRecording): Promise<{ filename: string; contentType: string; body: string }> {
  return { filename: `session-${safeName(sessionId)}-channel-${channel}.txt`, contentType: 'text/plain; charset=utf-8', body: await transcriptText(recording) };
}

/** A session id in a Content-Disposition filename: nothing that could end the quoted string. */
function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}
