import { isGatehouseError } from '../../../errors';
import type { AuditEvent } from '../../../recording/events';
import type { SessionTranscript } from '../../../recording/reader';
import type { LogSink } from '../../../recording/sinks/sink';
import type { TrustedKey } from '../../../recording/verify';
import type { RecordingWitness } from '../../../recording/witness';
import type { Html } from '../html';
import { sessionCastExport, sessionJsonExport, sessionTextExport } from './export';
import { renderSessionPage, type SessionTerminal } from './index';
import type { PriceTable } from './pricing';
import type { AsciicastVersion, TerminalRecording } from './terminal';
import { verifySessionForConsole, type SessionVerification } from './verification-badge';

/** One terminal recording of a session (an SSH shell or exec channel). */
export interface ChannelRecording {
  readonly channel: number;
  readonly label: string;
  readonly recording: TerminalRecording;
}

/** What the session page needs from the running gateway. */
export interface SessionPageServices {
  /** The log store the session is read from and verified against. */
  readonly sink: LogSink;
  /** The recording witness (state database, optional file): the badge checks rollback against it. */
  readonly witness?: Pick<RecordingWitness, 'heads'>;
  /**
   * Keys the badge trusts: the gateway's own signing key, plus any earlier keys still signing
   * digests in the log (after a rotation).
   * @default the keys embedded in the digests (consistency, not origin; the badge says so)
   */
  readonly trustedKeys?: readonly (string | TrustedKey)[];
  /** The session's terminal recordings from its events (protocols that record terminals provide it). @default none */
  readonly terminalsOf?: (events: readonly AuditEvent[]) => readonly ChannelRecording[];
  readonly prices?: PriceTable;
}

export interface SessionPageService {
  verify(sessionId: string): Promise<SessionVerification>;
  render(transcript: SessionTranscript, viewer: { name: string; subject: string }, verification: SessionVerification | undefined): Html;
  json(transcript: SessionTranscript): { filename: string; contentType: string; body: string };
  /** The session's terminal recordings (empty for a session without a terminal). */
  terminals(transcript: SessionTranscript): readonly ChannelRecording[];
  /** The `.cast` of one channel (asciicast v2 unless `version` is 3); undefined when the session has no such terminal recording. */
  cast(transcript: SessionTranscript, channel: number, version?: AsciicastVersion): { filename: string; contentType: string; body: string } | undefined;
  /** The plain-text transcript of one channel (terminal emulation); undefined as for `cast`. */
  text(transcript: SessionTranscript, channel: number): Promise<{ filename: string; contentType: string; body: string } | undefined>;
}

/** URLs of a session's page and downloads under /console/sessions/. */
export function sessionUrls(sessionId: string): { self: string; exportJson: string; cast: (channel: number, version?: AsciicastVersion) => string; text: (channel: number) => string } {
  const self = `/console/sessions/${encodeURIComponent(sessionId)}`;
  return {
    self,
    exportJson: `${self}/export.json`,
    cast: (channel, version = 2) => `${self}/export.cast?channel=${channel}${version === 3 ? '&version=3' : ''}`,
    text: (channel) => `${self}/export.txt?channel=${channel}`,
  };
}

export function createSessionPageService(services: SessionPageServices): SessionPageService {
  const terminalsOf = services.terminalsOf ?? (() => []);
  return {
    async verify(sessionId) {
      try {
        return await verifySessionForConsole(services.sink, sessionId, {
          ...(services.trustedKeys ? { trustedKeys: services.trustedKeys } : {}),
          ...(services.witness ? { witness: await services.witness.heads() } : {}),
        });
      } catch (e) {
        // The log store or the witness could not be read: not verified, and the page says why.
        const reason = isGatehouseError(e) ? `${e.code}: ${e.message}` : 'the log store or the witness could not be read';
        return { status: 'broken', ok: false, firstBroken: { code: 'VERIFY_UNAVAILABLE', reason }, witnessed: services.witness !== undefined, warnings: [] };
      }
    },
    render(transcript, viewer, verification) {
      const urls = sessionUrls(transcript.session.id);
      const terminals: SessionTerminal[] = terminalsOf(transcript.events).map((t) => ({
        label: t.label,
        recording: t.recording,
        castUrl: urls.cast(t.channel, 3),
        castV2Url: urls.cast(t.channel, 2),
        textUrl: urls.text(t.channel),
      }));
      return renderSessionPage({
        session: transcript.session,
        events: transcript.events,
        verification,
        viewer,
        links: { self: urls.self, exportJson: urls.exportJson },
        terminals,
        prices: services.prices,
      });
    },
    json: sessionJsonExport,
    terminals: (transcript) => terminalsOf(transcript.events),
    cast(transcript, channel, version = 2) {
      const t = terminalsOf(transcript.events).find((c) => c.channel === channel);
      return t === undefined ? undefined : sessionCastExport(transcript.session.id, t.recording, version);
    },
    async text(transcript, channel) {
      const t = terminalsOf(transcript.events).find((c) => c.channel === channel);
      return t === undefined ? undefined : sessionTextExport(transcript.session.id, channel, t.recording);
    },
  };
}
