import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { GatehouseError } from '../../../errors';

/**
 * The session page's static files, served by the gateway itself (no CDN): its stylesheet, the
 * asciinema player (asciinema-player 3.18.0's browser bundle and stylesheet, copied beside the
 * gateway bundle by gateway/assets.mjs) and a small loader that turns each player slot into a
 * player. The console's router mounts them (`consoleAssets()`), with long-lived caching.
 *
 * CSP note: the player's bundle compiles WebAssembly (its terminal emulator), so the session
 * page's Content-Security-Policy needs `script-src 'self' 'wasm-unsafe-eval'`; no inline script
 * or style is used.
 */
export interface ConsoleAsset {
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
}

export const CONSOLE_ASSET_PATHS = {
  sessionCss: '/console/assets/session-page.css',
  playerJs: '/console/assets/asciinema-player.min.js',
  playerCss: '/console/assets/asciinema-player.css',
  loaderJs: '/console/assets/player-loader.js',
} as const;

/** Files from asciinema-player: [name beside the bundle (gateway/assets.mjs), path in the package]. */
const PLAYER_FILES = {
  js: ['console-asciinema-player.min.js', 'asciinema-player/dist/bundle/asciinema-player.min.js'],
  css: ['console-asciinema-player.css', 'asciinema-player/dist/bundle/asciinema-player.css'],
} as const;

/**
 * Reads each `.gh-player` slot's data attributes (cast URL, recorded size) and creates the player
 * at exactly that size: `fit: false` keeps the recorded columns and rows instead of resizing the
 * terminal to the page.
 */
const LOADER_JS = `// Gatehouse console: turns each terminal slot into an asciinema player at the recorded size.
(function () {
  'use strict';
  function start() {
    if (typeof AsciinemaPlayer === 'undefined') return;
    var slots = document.querySelectorAll('.gh-player[data-cast]');
    for (var i = 0; i < slots.length; i++) {
      var el = slots[i];
      var cols = parseInt(el.getAttribute('data-cols'), 10);
      var rows = parseInt(el.getAttribute('data-rows'), 10);
      var host = document.createElement('div');
      host.className = 'gh-player-host';
      el.appendChild(host);
      AsciinemaPlayer.create(el.getAttribute('data-cast'), host, { cols: cols, rows: rows, fit: false, preload: true });
      el.setAttribute('data-player', 'ready');
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
`;

const SESSION_CSS = `/* Gatehouse console: session page. */
.gh-session { font: 14px/1.45 system-ui, sans-serif; max-width: 72rem; margin: 0 auto; padding: 1rem; color: #1b1f24; }
.gh-session code, .gh-code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
.gh-session-facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
.gh-session-facts dt { font-weight: 600; }
.gh-muted { color: #59636e; }
.gh-warn { color: #9a6700; }
.gh-badge { padding: .5rem .75rem; border-radius: 6px; margin: .75rem 0; border: 1px solid; }
.gh-badge-verified { background: #dafbe1; border-color: #1a7f37; }
.gh-badge-unattested { background: #fff8c5; border-color: #9a6700; }
.gh-badge-broken { background: #ffebe9; border-color: #cf222e; }
.gh-badge-unknown { background: #f6f8fa; border-color: #d1d9e0; }
.gh-timeline { list-style: none; padding: 0; }
.gh-event { border-left: 3px solid #d1d9e0; padding: .4rem .75rem; margin: .5rem 0; }
.gh-event:target { background: #fff8c5; }
.gh-sev-warning { border-left-color: #9a6700; }
.gh-sev-error { border-left-color: #cf222e; }
.gh-event-head { display: flex; flex-wrap: wrap; gap: .5rem; align-items: baseline; }
.gh-seq { font-weight: 600; text-decoration: none; }
.gh-type { font-weight: 600; }
.gh-decision { padding: 0 .4rem; border-radius: 4px; font-size: 12px; }
.gh-allow { background: #dafbe1; }
.gh-review { background: #fff8c5; }
.gh-deny { background: #ffebe9; color: #82071e; }
.gh-masked { background: #ddf4ff; color: #0550ae; border-radius: 3px; padding: 0 .15rem; }
.gh-masking { color: #0550ae; font-size: 12px; }
.gh-code { background: #f6f8fa; padding: .5rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; max-height: 32rem; }
.gh-table { border-collapse: collapse; font-size: 12.5px; }
.gh-table th, .gh-table td { border: 1px solid #d1d9e0; padding: .15rem .4rem; text-align: left; vertical-align: top; }
.gh-null { color: #59636e; font-style: italic; }
.gh-turns { list-style: none; padding: 0; }
.gh-turn { margin: .4rem 0; padding: .4rem .6rem; border-radius: 6px; background: #f6f8fa; }
.gh-turn-system { background: #eef1f4; }
.gh-turn-user { background: #ddf4ff; }
.gh-turn-assistant { background: #fbefff; }
.gh-role { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: #59636e; }
.gh-text { white-space: pre-wrap; word-break: break-word; }
.gh-tool-call, .gh-tool-result { border: 1px dashed #8c959f; border-radius: 4px; padding: .3rem .5rem; margin: .3rem 0; }
.gh-tool-error { border-color: #cf222e; }
.gh-error { color: #82071e; }
.gh-status { font-weight: 600; }
.gh-status-2 { color: #1a7f37; }
.gh-status-4, .gh-status-5 { color: #cf222e; }
.gh-method { font-weight: 700; }
.gh-player { margin: 1rem 0; }
`;

let cached: ConsoleAsset[] | undefined;

/** The session page's assets, read once. Throws GH_ERR_INTERNAL when the player's files are missing from the build. */
export function consoleAssets(): ConsoleAsset[] {
  cached ??= [
    { path: CONSOLE_ASSET_PATHS.sessionCss, contentType: 'text/css; charset=utf-8', body: Buffer.from(SESSION_CSS, 'utf8') },
    { path: CONSOLE_ASSET_PATHS.loaderJs, contentType: 'text/javascript; charset=utf-8', body: Buffer.from(LOADER_JS, 'utf8') },
    { path: CONSOLE_ASSET_PATHS.playerJs, contentType: 'text/javascript; charset=utf-8', body: readPlayerFile(PLAYER_FILES.js) },
    { path: CONSOLE_ASSET_PATHS.playerCss, contentType: 'text/css; charset=utf-8', body: readPlayerFile(PLAYER_FILES.css) },
  ];
  return cached;
}

/** Beside the bundle (dist/, the image), else from node_modules (tests, development). */
function readPlayerFile([besideBundle, inPackage]: readonly [string, string]): Buffer {
  const candidates: string[] = [];
  try {
    candidates.push(fileURLToPath(new URL(`./${besideBundle}`, import.meta.url)));
  } catch {
    // import.meta.url is not a file URL (never in node): only the package path remains.
  }
  try {
    candidates.push(createRequire(import.meta.url).resolve(inPackage));
  } catch {
    // Not installed (a bundle without node_modules): the copy beside the bundle must exist.
  }
  for (const c of candidates) if (existsSync(c)) return readFileSync(c);
  throw new GatehouseError('GH_ERR_INTERNAL', `console asset ${besideBundle} is missing (looked in: ${candidates.join(', ')}); rebuild the bundle`);
}
