import type { Approval } from '../../approvals/types';
import type { Principal } from '../../identity/principal';
import type { SessionRow } from '../../state/session-index';
import { SESSION_DECISIONS, type SessionSearchFilterKey } from '../../state/session-search';
import { html, type Html } from './html';

/** Pure page renderers: data in, escaped Html out. The router decides who may see the data. */

export interface PageChrome {
  readonly title: string;
  readonly principal?: Principal;
  readonly csrf?: string;
  readonly nav?: 'sessions' | 'approvals';
  /** Server-sent events URL for live updates (console.js). */
  readonly live?: string;
}

export function layout(chrome: PageChrome, content: Html): Html {
  const p = chrome.principal;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${chrome.title} · Gatehouse</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/static/console.css">
<script src="/console/static/console.js" defer></script>
</head><body${chrome.live === undefined ? '' : html` data-live="${chrome.live}"`}>
<header class="top"><span class="brand">Gatehouse</span>
${p === undefined ? '' : html`<nav><a href="/console/sessions"${chrome.nav === 'sessions' ? html` aria-current="page"` : ''}>Sessions</a><a href="/console/approvals"${chrome.nav === 'approvals' ? html` aria-current="page"` : ''}>Approvals</a></nav>
<span class="who"><span title="${p.issuer}">${p.name}</span>
<form method="post" action="/console/logout"><input type="hidden" name="csrf" value="${chrome.csrf ?? ''}"><button class="link" type="submit">Log out</button></form></span>`}
</header>
<main>${content}</main>
<aside id="keys" class="keys" hidden><strong>Keys</strong><br><kbd>/</kbd> search · <kbd>j</kbd>/<kbd>k</kbd> move · <kbd>Enter</kbd> open · <kbd>g</kbd> <kbd>s</kbd> sessions · <kbd>g</kbd> <kbd>a</kbd> approvals · <kbd>?</kbd> this help</aside>
</body></html>`;
}

export function loginPage(error?: string): Html {
  return layout(
    { title: 'Log in' },
    html`<h1>Gatehouse console</h1>${error === undefined ? '' : html`<p class="notice error" role="alert">${error}</p>`}
<p>Log in with your organization's identity provider.</p>
<p><a class="button" href="/console/login">Log in</a></p>`,
  );
}

/**
 * The development issuer's login form (console.issuer: dev): who to be and in which groups. The
 * groups start as the admin groups, so the person running `gatehouse dev` sees every session.
 */
export function devLoginPage(input: { readonly state: string; readonly groups: string; readonly error?: string }): Html {
  return layout(
    { title: 'Log in (development)' },
    html`<h1>Gatehouse console</h1>${input.error === undefined ? '' : html`<p class="notice error" role="alert">${input.error}</p>`}
<p class="notice">Development login: the gateway signs you in with its local development issuer, as whoever you name. Production refuses it.</p>
<form class="dev-login" method="post" action="/console/login"><input type="hidden" name="state" value="${input.state}">
<label>User<input type="text" name="subject" required maxlength="64" autocomplete="username" autofocus></label>
<label>Groups<input type="text" name="groups" value="${input.groups}" maxlength="1300"></label>
<button type="submit">Log in</button></form>`,
  );
}

export function errorPage(chrome: Omit<PageChrome, 'title'>, status: number, code: string, message: string): Html {
  return layout({ ...chrome, title: `Error ${status}` }, html`<h1>${status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : 'Something went wrong'}</h1>
<p class="notice error" role="alert"><code>${code}</code> ${message}</p><p><a href="/console/sessions">Back to sessions</a></p>`);
}

export interface SessionsPageInput {
  readonly chrome: PageChrome;
  /** The raw query values to show back in the form. */
  readonly query: Readonly<Record<string, string>>;
  readonly rows: readonly SessionRow[];
  readonly nextUrl: string | null;
  readonly supports: ReadonlySet<SessionSearchFilterKey>;
  readonly scope: 'all' | 'own';
  readonly error?: string;
}

export function sessionsPage(input: SessionsPageInput): Html {
  const q = input.query;
  const field = (key: SessionSearchFilterKey, param: string, label: string, type = 'text'): Html | '' =>
    input.supports.has(key) ? html`<label>${label}<input type="${type}" name="${param}" value="${q[param] ?? ''}"${param === 'q' ? html` data-search` : ''}></label>` : '';
  const rows = input.rows.map(
    (r) => html`<tr data-row><td><a href="/console/sessions/${encodeURIComponent(r.id)}">${r.id}</a></td><td>${r.userName ?? r.subject ?? html`<span class="muted">unauthenticated</span>`}</td>
<td>${r.protocol}</td><td>${r.connection ?? ''}</td><td><time datetime="${r.startedAt.toISOString()}">${fmtTime(r.startedAt)}</time></td>
<td>${statusBadge(r.status)}</td><td>${r.requestCount}</td><td>${r.deniedCount > 0 ? html`<span class="bad">${r.deniedCount}</span>` : '0'}</td></tr>`,
  );
  return layout(
    input.chrome,
    html`<h1>Sessions</h1>
${input.scope === 'own' ? html`<p class="muted">You see your own sessions.</p>` : ''}
<form class="filters" method="get" action="/console/sessions" role="search">
${field('q', 'q', 'Text')}${field('user', 'user', 'User')}${field('connection', 'connection', 'Connection')}${field('protocol', 'protocol', 'Protocol')}
${field('from', 'from', 'From (UTC)', 'datetime-local')}${field('to', 'to', 'To (UTC)', 'datetime-local')}${field('requestId', 'request_id', 'Request id')}${field('claudeSessionId', 'claude_session_id', 'Claude Code session')}
${input.supports.has('decision') ? html`<label>Decision<select name="decision"><option value="">any</option>${SESSION_DECISIONS.map((d) => html`<option value="${d}"${q.decision === d ? html` selected` : ''}>${d}</option>`)}</select></label>` : ''}
<button type="submit">Search</button> <a href="/console/sessions">Clear</a></form>
${input.error === undefined ? '' : html`<p class="notice error" role="alert">${input.error}</p>`}
<table><thead><tr><th>Session</th><th>User</th><th>Protocol</th><th>Connection</th><th>Started</th><th>Status</th><th>Requests</th><th>Denied</th></tr></thead>
<tbody>${rows.length === 0 ? html`<tr><td colspan="8" class="muted">No sessions match.</td></tr>` : rows}</tbody></table>
<p class="pager">${input.nextUrl === null ? '' : html`<a href="${input.nextUrl}" rel="next">Older sessions →</a>`}</p>`,
  );
}

export interface SessionPageInput {
  readonly chrome: PageChrome;
  readonly row: SessionRow;
  /** The transcript's events, or why they could not be read. */
  readonly events: readonly { seq: number; time: string; type: string; code?: string; payload?: unknown }[] | { readonly error: string };
}

/** The minimal session page (the timeline renderer of console/session-page/ replaces the body). */
export function sessionPage(input: SessionPageInput, body?: Html): Html {
  const r = input.row;
  const id = encodeURIComponent(r.id);
  const events = input.events;
  return layout(
    input.chrome,
    html`<h1>Session <code>${r.id}</code></h1>
<dl class="facts"><dt>User</dt><dd>${r.userName ?? r.subject ?? 'unauthenticated'}</dd><dt>Issuer</dt><dd>${r.issuer ?? ''}</dd>
<dt>Protocol</dt><dd>${r.protocol}</dd><dt>Connection</dt><dd>${r.connection ?? ''}</dd>
<dt>Started</dt><dd>${fmtTime(r.startedAt)}</dd><dt>Ended</dt><dd>${r.endedAt === null ? 'open' : fmtTime(r.endedAt)}</dd>
<dt>Status</dt><dd>${statusBadge(r.status)}</dd><dt>Requests</dt><dd>${r.requestCount} (${r.deniedCount} denied)</dd></dl>
<p><a href="/console/sessions/${id}/export.json" download>Export JSON</a></p>
${
  body ??
  ('error' in events
    ? html`<p class="notice error">${events.error}</p>`
    : html`<h2>Events</h2><table><thead><tr><th>#</th><th>Time</th><th>Type</th><th>Code</th><th>Payload</th></tr></thead><tbody>${events.map(
        (e) => html`<tr id="e${e.seq}" data-row><td><a href="#e${e.seq}">${e.seq}</a></td><td>${e.time}</td><td>${e.type}</td><td>${e.code ?? ''}</td><td><pre>${JSON.stringify(e.payload ?? {}, null, 2)}</pre></td></tr>`,
      )}</tbody></table>`)
}`,
  );
}

export interface ApprovalsPageInput {
  readonly chrome: PageChrome;
  readonly pending: readonly Approval[];
  readonly recent: readonly Approval[];
  readonly now: Date;
  readonly canDecide: boolean;
  readonly notice?: string;
}

export function approvalsPage(input: ApprovalsPageInput): Html {
  return layout(
    input.chrome,
    html`<h1>Approvals</h1>${input.notice === undefined ? '' : html`<p class="notice" role="status">${input.notice}</p>`}
<div id="live-region"><h2>Waiting (${input.pending.length})</h2>
${input.pending.length === 0 ? html`<p class="muted">Nothing is waiting for a decision.</p>` : html`<table><thead><tr><th>Requested by</th><th>What</th><th>Why</th><th>Connection</th><th>Time left</th></tr></thead><tbody>${input.pending.map(
      (a) => html`<tr data-row><td>${a.requester.name}</td><td><a href="/console/approvals/${encodeURIComponent(a.id)}">${a.summary}</a></td><td>${a.reasons.join(', ')}</td><td>${a.connection}</td><td>${timeLeft(a.expiresAt, input.now)}</td></tr>`,
    )}</tbody></table>`}
<h2>Recently decided</h2>
${input.recent.length === 0 ? html`<p class="muted">None.</p>` : html`<table><thead><tr><th>Requested by</th><th>What</th><th>Status</th><th>Decided</th><th>Reason</th></tr></thead><tbody>${input.recent.map(
      (a) => html`<tr data-row><td>${a.requester.name}</td><td><a href="/console/approvals/${encodeURIComponent(a.id)}">${a.summary}</a></td><td>${approvalBadge(a.status)}</td><td>${a.decidedAt === null ? '' : fmtTime(a.decidedAt)}</td><td>${a.reason ?? ''}</td></tr>`,
    )}</tbody></table>`}</div>`,
  );
}

export interface ApprovalPageInput {
  readonly chrome: PageChrome;
  readonly approval: Approval;
  readonly now: Date;
  readonly canDecide: boolean;
  /** Why this viewer cannot decide (self-approval, already voted, not an approver). */
  readonly cannotDecide?: string;
  readonly notice?: string;
}

export function approvalPage(input: ApprovalPageInput): Html {
  const a = input.approval;
  const id = encodeURIComponent(a.id);
  const pending = a.status === 'pending';
  return layout(
    input.chrome,
    html`<h1>Approval <code>${a.id}</code> ${approvalBadge(a.status)}</h1>
${input.notice === undefined ? '' : html`<p class="notice" role="status">${input.notice}</p>`}
<div id="live-region"><dl class="facts"><dt>Requested by</dt><dd>${a.requester.name} <span class="muted">(${a.requester.subject}, ${a.requester.issuer})</span></dd>
<dt>What</dt><dd>${a.summary}</dd><dt>Action</dt><dd><code>${a.action}</code></dd><dt>Why</dt><dd>${a.reasons.join(', ')}</dd>
<dt>Connection</dt><dd>${a.connection} (${a.protocol})</dd><dt>Session</dt><dd><a href="/console/sessions/${encodeURIComponent(a.sessionId)}">${a.sessionId}</a></dd>
<dt>Request id</dt><dd><code>${a.requestId}</code></dd><dt>Requested</dt><dd>${fmtTime(a.createdAt)}</dd>
<dt>${pending ? 'Time left' : 'Decided'}</dt><dd>${pending ? timeLeft(a.expiresAt, input.now) : a.decidedAt === null ? '' : fmtTime(a.decidedAt)}</dd>
<dt>Approvals</dt><dd>${a.votes.filter((v) => v.verdict === 'approve').length} of ${a.minApprovals}</dd>
${a.reason === null ? '' : html`<dt>Reason</dt><dd>${a.reason}</dd>`}</dl>
<h2>Request</h2><pre>${JSON.stringify({ attributes: a.attributes, ...(a.details ? { details: a.details } : {}) }, null, 2)}</pre>
${a.votes.length === 0 ? '' : html`<h2>Votes</h2><ul>${a.votes.map((v) => html`<li>${v.name}: ${v.verdict}${v.reason === null ? '' : html` — ${v.reason}`} <span class="muted">${fmtTime(v.at)}</span></li>`)}</ul>`}
${
  pending && input.canDecide
    ? html`<form class="decide" method="post" action="/console/approvals/${id}/decide"><input type="hidden" name="csrf" value="${input.chrome.csrf ?? ''}">
<label>Reason <input name="reason" maxlength="2000" autocomplete="off"></label>
<button type="submit" name="verdict" value="approve">Approve</button><button class="deny" type="submit" name="verdict" value="deny">Deny</button></form>`
    : pending && input.cannotDecide !== undefined
      ? html`<p class="muted">${input.cannotDecide}</p>`
      : ''
}</div>`,
  );
}

function statusBadge(status: string): Html {
  const cls = status === 'closed' ? 'ok' : status === 'open' ? 'warn' : 'bad';
  return html`<span class="badge ${cls}">${status}</span>`;
}

function approvalBadge(status: string): Html {
  const cls = status === 'granted' ? 'ok' : status === 'pending' ? 'warn' : 'bad';
  return html`<span class="badge ${cls}">${status}</span>`;
}

export function fmtTime(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function timeLeft(expiresAt: Date, now: Date): string {
  const s = Math.max(0, Math.round((expiresAt.getTime() - now.getTime()) / 1000));
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}
