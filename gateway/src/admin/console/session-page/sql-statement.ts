import { html, type Html } from '../html';
import { isRecord, jsonBlock, maskCounts, ms, num, str, textWithMarks } from './common';

/**
 * PostgreSQL events (protocols/postgres): the statement as recorded before it was forwarded, its
 * outcome (command tag, the result table as recorded, masked when the connection masks columns,
 * or the server's error) and timings; the upstream session; protocol-level errors.
 */
export function renderSqlEvent(type: string, payload: Record<string, unknown>): Html {
  switch (type) {
    case 'pg.query':
      return query(payload);
    case 'pg.result':
      return result(payload);
    case 'pg.error':
    case 'pg.upstream_error':
      return html`<div class="gh-sql gh-error"><p>${str(payload.phase) ? html`<span class="gh-tag">${str(payload.phase)}</span> ` : ''}${str(payload.sqlstate) ? html`<code>${str(payload.sqlstate)}</code> ` : ''}${str(payload.code) ? html`<code>${str(payload.code)}</code> ` : ''}${textWithMarks(str(payload.message) ?? '')}</p></div>`;
    case 'pg.session':
      return html`<p class="gh-sql">upstream <code>${str(payload.upstream) ?? ''}</code> as <code>${str(payload.upstreamUser) ?? ''}</code>${payload.readOnly === true ? html` <span class="gh-tag">read-only</span>` : ''} · TLS client ${payload.clientTls === true ? 'yes' : 'no'}, upstream ${payload.upstreamTls === true ? 'yes' : 'no'} · backend pid ${num(payload.backendPid) ?? '?'}</p>`;
    default:
      return html``;
  }
}

function query(p: Record<string, unknown>): Html {
  const tables = Array.isArray(p.tables) ? p.tables.map(String) : [];
  return html`<div class="gh-sql gh-sql-query">
<pre class="gh-code gh-sql-text"><code>${textWithMarks(str(p.text) ?? '(no text: bound portal)')}</code></pre>
<p class="gh-muted">${str(p.protocol) ?? ''} protocol${str(p.command) ? html` · ${str(p.command)}` : ''}${str(p.kind) ? html` · ${str(p.kind)}` : ''}${tables.length ? html` · tables ${tables.join(', ')}` : ''}${
    str(p.statement) ? html` · statement <code>${str(p.statement)}</code>` : ''
  }${p.executed === false ? html` <span class="gh-warn">not executed${str(p.reason) ? `: ${str(p.reason)}` : ''}</span>` : ''}</p>
${Array.isArray(p.parameters) && p.parameters.length > 0 ? html`<details class="gh-params"><summary>parameters (${p.parameters.length})</summary>${jsonBlock(p.parameters)}</details>` : ''}
</div>`;
}

function result(p: Record<string, unknown>): Html {
  const error = isRecord(p.error) ? p.error : undefined;
  const head = html`<p class="gh-sql-outcome">${str(p.tag) ? html`<code class="gh-tag">${str(p.tag)}</code> ` : ''}${num(p.rowsAffected) !== undefined ? `${num(p.rowsAffected)} rows · ` : ''}${ms(p.ms)}${
    p.skipped === true ? html` <span class="gh-muted">skipped</span>` : ''
  }${p.suspended === true ? html` <span class="gh-muted">portal suspended</span>` : ''} ${maskCounts(p.masked)}</p>`;
  const errorLine = error
    ? html`<div class="gh-error"><code>${str(error.sqlstate) ?? ''}</code> ${str(error.severity) ?? 'ERROR'}: ${textWithMarks(str(error.message) ?? '')}</div>`
    : html``;
  return html`<div class="gh-sql gh-sql-result">${head}${errorLine}${table(p)}</div>`;
}

function table(p: Record<string, unknown>): Html {
  if (!Array.isArray(p.columns) || p.columns.length === 0) return html``;
  const columns = p.columns.map((c) => (isRecord(c) ? (str(c.name) ?? '?') : String(c)));
  const rows = Array.isArray(p.rows) ? p.rows : [];
  const count = num(p.rowCount) ?? rows.length;
  return html`<table class="gh-table gh-result"><thead><tr>${columns.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead><tbody>${rows.map(
    (r) => html`<tr>${(Array.isArray(r) ? r : isRecord(r) ? columns.map((c) => r[c]) : [r]).map((v) => html`<td>${cell(v)}</td>`)}</tr>`,
  )}</tbody></table>
<p class="gh-muted">${count} row${count === 1 ? '' : 's'}${p.truncated === true ? html` <span class="gh-warn">(the first ${rows.length} recorded)</span>` : ''}</p>`;
}

function cell(v: unknown): Html {
  if (v === null || v === undefined) return html`<span class="gh-null">NULL</span>`;
  return textWithMarks(typeof v === 'string' ? v : JSON.stringify(v));
}
