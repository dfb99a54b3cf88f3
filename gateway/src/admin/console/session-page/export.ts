import type { SessionTranscript } from '../../../recording/reader';
import { toAsciicast, type TerminalRecording } from './terminal';

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

/** asciicast v2 of a terminal session. */
export function sessionCastExport(sessionId: string, recording: TerminalRecording): { filename: string; contentType: string; body: string } {
  return { filename: `session-${safeName(sessionId)}.cast`, contentType: 'application/x-asciicast; charset=utf-8', body: toAsciicast(recording) };
}

/** A session id in a Content-Disposition filename: nothing that could end the quoted string. */
function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}
