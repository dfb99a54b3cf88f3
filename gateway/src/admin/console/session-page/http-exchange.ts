import { html, type Html } from '../html';
import { codeBlock, isRecord, maskCounts, ms, num, str } from './common';

/**
 * HTTP events (protocols/http/exchange-recording.ts): the request with method, canonical path
 * and query, headers and body; the response with status, timings, headers and body; errors. Bodies
 * are the recorded (masked) captures; JSON is pretty-printed.
 */
export function renderHttpEvent(type: string, payload: Record<string, unknown>): Html {
  switch (type) {
    case 'http.request':
      return request(payload);
    case 'http.response':
      return response(payload);
    case 'http.error':
      return html`<div class="gh-http gh-error"><p><span class="gh-status gh-status-5">${num(payload.status) ?? ''}</span> <code>${str(payload.code) ?? ''}</code> ${str(payload.reason) ?? ''}: ${str(payload.message) ?? ''}${
        isRecord(payload.timings) ? html` · ${ms(payload.timings.totalMs)}` : ''
      }</p></div>`;
    case 'http.request.body':
      return html`<p class="gh-http">request body: ${num(payload.size) ?? '?'} bytes, SHA-256 <code>${str(payload.sha256) ?? 'n/a'}</code> (captured in the request event up to ${num(payload.capturedInRequest) ?? '?'} bytes)</p>`;
    default:
      return html``;
  }
}

function request(p: Record<string, unknown>): Html {
  const query = str(p.query) ?? '';
  const target = `${str(p.path) ?? ''}${query === '' ? '' : query.startsWith('?') ? query : `?${query}`}`;
  return html`<div class="gh-http gh-http-request">
<p class="gh-request-line"><span class="gh-method">${str(p.method) ?? '?'}</span> <code class="gh-path">${target}</code> <span class="gh-muted">HTTP/${str(p.httpVersion) ?? '?'} → ${str(p.upstream) ?? ''}</span></p>
${str(p.rawTarget) ? html`<p class="gh-muted">as sent: <code>${str(p.rawTarget)}</code></p>` : ''}
${headers(p.headers)}
${body(p.body)}
</div>`;
}

function response(p: Record<string, unknown>): Html {
  const status = num(p.status);
  const t = isRecord(p.timings) ? p.timings : {};
  return html`<div class="gh-http gh-http-response">
<p class="gh-status-line"><span class="gh-status gh-status-${status === undefined ? 'x' : String(Math.floor(status / 100))}">${status ?? 'no status'}</span> <span class="gh-timings">first byte ${ms(t.ttfbMs)} · total ${ms(t.totalMs)} · gateway ${ms(t.gatewayMs)}</span></p>
${headers(p.headers)}
${body(p.body)}
</div>`;
}

function headers(h: unknown): Html {
  if (!isRecord(h)) return html``;
  const rows = Object.entries(h);
  if (rows.length === 0) return html``;
  return html`<details class="gh-headers"><summary>headers (${rows.length})</summary><table class="gh-table"><tbody>${rows.map(
    ([name, value]) => html`<tr><th scope="row">${name}</th><td>${Array.isArray(value) ? value.map(String).join(', ') : String(value)}</td></tr>`,
  )}</tbody></table></details>`;
}

function body(b: unknown): Html {
  if (!isRecord(b)) return html``;
  const size = num(b.size) ?? 0;
  if (size === 0) return html`<p class="gh-muted">no body</p>`;
  const meta = html`<p class="gh-body-meta">body: ${size} bytes${b.truncated === true ? html` <span class="gh-warn">(first ${num(b.captured) ?? '?'} bytes recorded)</span>` : ''} ${maskCounts(b.masked)}${
    b.maskedPrefixOnly === true ? html` <span class="gh-muted">(masked as a stream)</span>` : ''
  }${b.decodeError !== undefined ? html` <span class="gh-warn">could not decode: ${String(b.decodeError)}</span>` : ''}</p>`;
  if (typeof b.text === 'string') return html`${meta}${codeBlock(b.text)}`;
  if (typeof b.base64 === 'string') return html`${meta}<p class="gh-muted">binary body (${b.base64.length} base64 characters recorded; in the JSON export)</p>`;
  if (typeof b.omitted === 'string') return html`${meta}<p class="gh-muted">${b.omitted}</p>`;
  return meta;
}
