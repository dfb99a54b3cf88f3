import { createHash } from 'node:crypto';

/**
 * The console's only static files, kept as strings so they are inside the one bundle (no files to
 * copy, no CDN). Progressive enhancement only: every page is complete without console.js.
 */
export const CONSOLE_CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --muted: #5b6470; --line: #d7dbe0; --accent: #0b5cad; --ok: #1a7f37; --bad: #b42318; --warn: #9a6700; --code: #f4f6f8; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --bg: #121417; --muted: #9aa3ad; --line: #2e343b; --accent: #6cb0ff; --ok: #4ac26b; --bad: #ff7b72; --warn: #d29922; --code: #1b1f24; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; border-bottom: 1px solid var(--line); }
header.top .brand { font-weight: 700; }
header.top nav a { margin-right: 1rem; }
header.top .who { margin-left: auto; color: var(--muted); display: flex; gap: .8rem; align-items: center; }
main { padding: 1rem 1.2rem; max-width: 1400px; }
a { color: var(--accent); text-decoration: none; }
a:hover, a:focus { text-decoration: underline; }
h1 { font-size: 1.3rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.05rem; margin: 1.2rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: .85rem; }
tr.selected td, tbody tr:focus-within td { background: color-mix(in srgb, var(--accent) 12%, transparent); }
code, pre { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: var(--code); padding: .6rem .8rem; overflow: auto; max-height: 28rem; white-space: pre-wrap; word-break: break-word; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem .8rem; align-items: end; margin-bottom: 1rem; }
form.filters label { display: flex; flex-direction: column; font-size: .8rem; color: var(--muted); }
input, select, textarea, button { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: .3rem .45rem; }
button { cursor: pointer; background: var(--accent); color: #fff; border-color: var(--accent); }
button.deny { background: var(--bad); border-color: var(--bad); }
button.link { background: none; border: none; color: var(--accent); padding: 0; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .78rem; border: 1px solid currentColor; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); }
.pager { margin-top: 1rem; display: flex; gap: 1rem; }
.notice { padding: .6rem .8rem; border: 1px solid var(--line); border-left: 4px solid var(--accent); margin-bottom: 1rem; }
.notice.error { border-left-color: var(--bad); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0 0 1rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.decide { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin-top: 1rem; }
.decide input[name=reason] { min-width: 24rem; }
.keys { position: fixed; right: 1rem; bottom: 1rem; background: var(--bg); border: 1px solid var(--line); padding: .8rem 1rem; box-shadow: 0 4px 16px rgba(0,0,0,.15); }
.keys[hidden] { display: none; }
kbd { border: 1px solid var(--line); border-radius: 3px; padding: 0 .3rem; font-size: .8rem; }
`;

export const CONSOLE_JS = `
// Gatehouse console: progressive enhancement only (live approvals, keyboard keys). Pages work without it.
(function () {
  'use strict';
  var body = document.body;
  // Live approvals: the server sends an event when the pending set changes; the list is re-fetched
  // from the same page and swapped in (no markup is built here).
  var live = body.getAttribute('data-live');
  if (live && window.EventSource) {
    var source = new EventSource(live);
    source.addEventListener('changed', function () {
      var target = document.getElementById('live-region');
      if (!target) return;
      fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (text) {
          var doc = new DOMParser().parseFromString(text, 'text/html');
          var next = doc.getElementById('live-region');
          if (!next) return;
          var active = document.activeElement;
          // Never replace a form someone is typing into.
          if (active && target.contains(active) && (active.tagName === 'INPUT' || active.tagName === 'TEXTAREA')) return;
          target.replaceWith(document.importNode(next, true));
          body.setAttribute('data-live-updated', String(Date.now()));
        })
        .catch(function () {});
    });
  }
  // Keyboard: / search, j/k move, Enter open, g s sessions, g a approvals, ? help.
  var rows = function () { return Array.prototype.slice.call(document.querySelectorAll('[data-row]')); };
  var current = -1;
  var select = function (i) {
    var all = rows();
    if (all.length === 0) return;
    current = Math.max(0, Math.min(all.length - 1, i));
    all.forEach(function (r, n) { r.classList.toggle('selected', n === current); });
    var link = all[current].querySelector('a');
    if (link) link.focus();
  };
  var pendingG = false;
  document.addEventListener('keydown', function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) {
      if (e.key === 'Escape') t.blur();
      return;
    }
    if (pendingG) {
      pendingG = false;
      if (e.key === 's') { location.href = '/console/sessions'; return; }
      if (e.key === 'a') { location.href = '/console/approvals'; return; }
    }
    if (e.key === 'g') { pendingG = true; return; }
    if (e.key === '/') { var q = document.querySelector('[data-search]'); if (q) { e.preventDefault(); q.focus(); } return; }
    if (e.key === 'j') { select(current + 1); return; }
    if (e.key === 'k') { select(current - 1); return; }
    if (e.key === '?') { var help = document.getElementById('keys'); if (help) help.hidden = !help.hidden; return; }
  });
})();
`;

function etagOf(text: string): string {
  return `"${createHash('sha256').update(text).digest('base64url').slice(0, 22)}"`;
}

export interface StaticAsset {
  readonly body: string;
  readonly contentType: string;
  readonly etag: string;
}

export const STATIC_ASSETS: ReadonlyMap<string, StaticAsset> = new Map([
  ['/console/static/console.css', { body: CONSOLE_CSS, contentType: 'text/css; charset=utf-8', etag: etagOf(CONSOLE_CSS) }],
  ['/console/static/console.js', { body: CONSOLE_JS, contentType: 'text/javascript; charset=utf-8', etag: etagOf(CONSOLE_JS) }],
]);
