import type { AuditEvent } from '../../../recording/events';
import type { SessionTranscript } from '../../../recording/reader';
import { html, type Html } from '../html';
import { CONSOLE_ASSET_PATHS } from './assets';
import { DEFAULT_PRICES, type PriceTable } from './pricing';
import { renderPlayerSlot, type TerminalRecording } from './terminal';
import { eventAnchor, renderTimeline } from './timeline';
import { renderVerificationBadge, type SessionVerification } from './verification-badge';

export { consoleAssets, CONSOLE_ASSET_PATHS, type ConsoleAsset } from './assets';
export { sessionCastExport, sessionJsonExport, sessionTextExport } from './export';
export { DEFAULT_PRICES, pricesWith, type ModelPrice, type PriceTable } from './pricing';
export { toAsciicast, type AsciicastVersion, type TerminalFrame, type TerminalRecording } from './terminal';
export { eventAnchor } from './timeline';
export { summarizeVerification, verifySessionForConsole, type SessionVerification } from './verification-badge';

export interface SessionPageLinks {
  /** The page's own URL (`/console/sessions/<id>`): event links are `<self>#e-<seq>`. */
  readonly self: string;
  readonly exportJson: string;
  /** Where `consoleAssets()` are mounted. @default '' (the paths are absolute) */
  readonly assetBase?: string;
}

export interface SessionTerminal {
  /** What the channel ran: `shell`, or the exec command line. */
  readonly label: string;
  readonly recording: TerminalRecording;
  /** The asciicast v3 export of this recording (the player loads it; without JavaScript it is a download). */
  readonly castUrl: string;
  /** The asciicast v2 export, for players and tools that read only v2. @default none (no link) */
  readonly castV2Url?: string;
  /** The plain-text transcript (terminal emulation), shown in the browser or downloaded. @default none (no link) */
  readonly textUrl?: string;
}

export interface SessionPageInput {
  /** The session's summary as `sessions export` gives it (recording/reader.ts). */
  readonly session: SessionTranscript['session'];
  readonly events: readonly AuditEvent[];
  readonly verification?: SessionVerification;
  /** Who is looking (shown; authorization is the router's job). */
  readonly viewer: { readonly name: string; readonly subject: string };
  readonly links: SessionPageLinks;
  /** The session's terminal recordings (one per SSH channel / exec), each with its `.cast` URL. */
  readonly terminals?: readonly SessionTerminal[];
  /** @default DEFAULT_PRICES */
  readonly prices?: PriceTable;
}

/**
 * The session page's content: summary, verification badge, exports, terminal player (when the
 * session has a terminal recording) and the timeline. Pure: the caller reads the session, verifies
 * it and authorizes the viewer. Readable without JavaScript; no inline script or style.
 */
export function renderSessionPage(input: SessionPageInput): Html {
  const s = input.session;
  const base = input.links.assetBase ?? '';
  const p = s.principal;
  const terminals = input.terminals ?? [];
  return html`<link rel="stylesheet" href="${base}${CONSOLE_ASSET_PATHS.sessionCss}">
<article class="gh-session" aria-labelledby="gh-session-title">
<header class="gh-session-head">
<h1 id="gh-session-title">Session <code>${s.id}</code></h1>
<dl class="gh-session-facts">
<dt>protocol</dt><dd>${s.protocol ?? '?'}</dd>
<dt>principal</dt><dd>${p ? html`${p.name} <span class="gh-muted">&lt;${p.subject}&gt; via ${p.issuer} [${p.kind}]${p.groups.length ? ` groups: ${p.groups.join(', ')}` : ''}</span>` : '?'}</dd>
<dt>connection</dt><dd>${s.connection ?? '—'}</dd>
<dt>started</dt><dd><time datetime="${s.startedAt ?? ''}">${s.startedAt ?? '?'}</time></dd>
<dt>ended</dt><dd>${s.endedAt ? html`<time datetime="${s.endedAt}">${s.endedAt}</time> (${String(s.endReason ?? '')})` : 'open'}</dd>
<dt>events</dt><dd>${s.eventCount}</dd>
</dl>
${renderVerificationBadge(input.verification, (seq) => `${input.links.self}#${eventAnchor(seq)}`)}
<p class="gh-exports"><a href="${input.links.exportJson}" download>Export JSON</a>${terminals.map(
  (t) =>
    html` · <a href="${t.castUrl}" download>Export .cast v3 (${t.label})</a>${t.castV2Url !== undefined ? html` · <a href="${t.castV2Url}" download>.cast v2</a>` : ''}${
      t.textUrl !== undefined ? html` · <a href="${t.textUrl}&amp;view=1">Transcript</a> (<a href="${t.textUrl}" download>download</a>)` : ''
    }`,
)} · <a href="${input.links.self}">Link to this session</a> <span class="gh-muted">(each event's # links to that event; links open for any authorized user)</span></p>
<p class="gh-muted">Viewed by ${input.viewer.name}</p>
</header>
${terminals.length > 0 ? html`${terminals.map((t) => renderPlayerSlot(t.recording, t.castUrl, t.label))}<link rel="stylesheet" href="${base}${CONSOLE_ASSET_PATHS.playerCss}"><script src="${base}${CONSOLE_ASSET_PATHS.playerJs}" defer></script><script src="${base}${CONSOLE_ASSET_PATHS.loaderJs}" defer></script>` : ''}
${renderTimeline(input.events, input.prices ?? DEFAULT_PRICES)}
</article>`;
}
export { createSessionPageService, sessionUrls, type ChannelRecording, type SessionPageService, type SessionPageServices } from './service';
