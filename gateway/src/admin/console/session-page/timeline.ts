import { EVENT_CATALOG, isEventType } from '../../../recording/event-catalog';
import type { AuditEvent } from '../../../recording/events';
import { html, type Html } from '../html';
import { countMarks, decisionBadge, decisionOf, isRecord, jsonBlock, maskCounts, str, textWithMarks } from './common';
import { renderHttpEvent } from './http-exchange';
import { renderLlmConversation } from './llm-conversation';
import type { PriceTable } from './pricing';
import { renderSqlEvent } from './sql-statement';
import { renderTerminalEvent } from './terminal';

/** The id of one event's anchor: `#e-<seq>` links to it (shareable with any authorized user). */
export function eventAnchor(seq: number): string {
  return `e-${seq}`;
}

/**
 * The session's events in order, one item each, with its anchor, time, type and code, request id,
 * the decision it carries and what it masked, and its body rendered by its family.
 */
export function renderTimeline(events: readonly AuditEvent[], prices: PriceTable): Html {
  return html`<ol class="gh-timeline">${events.map((e) => renderEvent(e, prices))}</ol>`;
}

function renderEvent(e: AuditEvent, prices: PriceTable): Html {
  const payload = isRecord(e.payload) ? e.payload : {};
  const severity = isEventType(e.type) ? EVENT_CATALOG[e.type].severity : 'unknown';
  const anchor = eventAnchor(e.seq);
  const marks = countMarks(JSON.stringify(payload));
  return html`<li class="gh-event gh-sev-${severity} gh-family-${e.type.split('.')[0]!}" id="${anchor}">
<div class="gh-event-head"><a class="gh-seq" href="#${anchor}" title="link to this event">#${e.seq}</a> <time datetime="${e.time}">${e.time}</time> <span class="gh-type">${e.type}</span> <code class="gh-code-id">${e.code}</code>${
    e.requestId ? html` <span class="gh-request-id">request ${e.requestId}</span>` : ''
  } ${decisionBadge(decisionOf(e.type, payload))}${marks > 0 ? html` <span class="gh-masking" title="masked values in this event">${marks} masked</span>` : ''}${
    e.type === 'masking.failed' ? html` <span class="gh-deny">masking failed: nothing recorded or delivered</span>` : ''
  }</div>
<div class="gh-event-body">${body(e.type, payload, prices)}</div>
</li>`;
}

function body(type: string, payload: Record<string, unknown>, prices: PriceTable): Html {
  if (type === 'llm.exchange') return renderLlmConversation(payload, prices);
  if (type.startsWith('http.')) return renderHttpEvent(type, payload);
  if (type.startsWith('pg.')) return renderSqlEvent(type, payload);
  const terminal = renderTerminalEvent(type, payload, textWithMarks);
  if (terminal !== undefined) return terminal;
  switch (type) {
    case 'session.start':
      return html`<p>protocol <strong>${str(payload.protocol) ?? '?'}</strong></p>${isRecord(payload.client) ? html`<details><summary>client</summary>${jsonBlock(payload.client)}</details>` : ''}`;
    case 'session.end':
      return html`<p>ended: ${str(payload.reason) ?? '?'}${typeof payload.requests === 'number' ? ` · ${payload.requests} requests` : ''}${typeof payload.denied === 'number' ? ` · ${payload.denied} denied` : ''} ${maskCounts(isRecord(payload.counters) ? maskedCounters(payload.counters) : undefined)}</p>`;
    case 'policy.denied':
    case 'policy.decision': {
      const reasons = Array.isArray(payload.reasons) ? payload.reasons.map(String) : [];
      return html`<p><code>${str(payload.action) ?? ''}</code> ${str(payload.operation) ?? ''}${str(payload.message) ? html`: ${str(payload.message)}` : ''}</p>${reasons.length ? html`<ul class="gh-reasons">${reasons.map((r) => html`<li>${r}</li>`)}</ul>` : ''}`;
    }
    default:
      return html`<details><summary>payload</summary>${jsonBlock(payload)}</details>`;
  }
}

/** `masked.email` style session counters → `{email: n}` (the session's masking totals). */
function maskedCounters(counters: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counters)) if (k.startsWith('masked.') && typeof v === 'number') out[k.slice('masked.'.length)] = v;
  return out;
}
