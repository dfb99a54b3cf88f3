import { consoleAssets, CONSOLE_ASSET_PATHS, renderSessionPage, sessionCastExport, toAsciicast, type TerminalRecording } from '../../../../../gateway/src/admin/console/session-page';

/** A terminal recording as SSH/exec events will carry it (no terminal protocol has landed yet). */
const FIXTURE: TerminalRecording = {
  cols: 132,
  rows: 43,
  startedAt: '2026-01-15T10:00:00.000Z',
  title: 'ssh deploy@db-1',
  env: { TERM: 'xterm-256color', SHELL: '/bin/bash' },
  frames: [
    { kind: 'data', t: 0.05, stream: 'output', data: '\u001b[1;32mdeploy@db-1\u001b[0m:~$ ' },
    { kind: 'data', t: 1.2, stream: 'input', data: 'ls\r' },
    { kind: 'data', t: 1.25, stream: 'output', data: 'ls\r\nnotes.txt  <script>x</script>\r\n' },
    { kind: 'resize', t: 2, cols: 100, rows: 30 },
    // A clock step backwards: clamped, never before the previous frame.
    { kind: 'data', t: 1.9, stream: 'output', data: 'ünïcödé ✓\r\n' },
    { kind: 'exit', t: 3.5, code: 0 },
  ],
};

describe('terminal recordings: asciicast v2 export and the player slot', () => {
  it('exports valid asciicast v2 with the recorded width and height, every frame, in time order', () => {
    const lines = toAsciicast(FIXTURE).trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines[0]).toEqual({ version: 2, width: 132, height: 43, timestamp: Date.UTC(2026, 0, 15, 10) / 1000, title: 'ssh deploy@db-1', env: { TERM: 'xterm-256color', SHELL: '/bin/bash' } });
    const events = lines.slice(1) as [number, string, string][];
    expect(events).toEqual([
      [0.05, 'o', '\u001b[1;32mdeploy@db-1\u001b[0m:~$ '],
      [1.2, 'i', 'ls\r'],
      [1.25, 'o', 'ls\r\nnotes.txt  <script>x</script>\r\n'],
      [2, 'r', '100x30'],
      [2, 'o', 'ünïcödé ✓\r\n'],
      [3.5, 'm', 'exit 0'],
    ]);
    for (const [t, code, data] of events) {
      expect(typeof t).toBe('number');
      expect(['o', 'i', 'r', 'm']).toContain(code);
      expect(typeof data).toBe('string');
    }
  });

  it('refuses a recording without a real terminal size', () => {
    expect(() => toAsciicast({ ...FIXTURE, cols: 0 })).toThrow(expect.objectContaining({ code: 'GH_ERR_INTERNAL' }));
    expect(() => toAsciicast({ ...FIXTURE, frames: [{ kind: 'resize', t: 1, cols: 80, rows: -1 }] })).toThrow(/80x-1/);
  });

  it('names the .cast download after the session, safely', () => {
    const e = sessionCastExport('s"1/../x', FIXTURE);
    expect(e.filename).toBe('session-s_1_.._x.cast');
    expect(e.contentType).toMatch(/^application\/x-asciicast/);
    expect(e.body).toBe(toAsciicast(FIXTURE));
  });

  it('renders the player slot at the recorded size with the gateway-served player, and a download without JavaScript', () => {
    const page = renderSessionPage({
      session: { id: 't1', protocol: 'ssh', eventCount: 0, chain: { intact: true } },
      events: [],
      viewer: { name: 'a', subject: 'a' },
      links: { self: '/console/sessions/t1', exportJson: '/console/sessions/t1/export.json' },
      terminals: [{ label: 'ssh deploy@db-1', recording: FIXTURE, castUrl: '/console/sessions/t1/export.cast' }],
    }).value;
    expect(page).toContain('<div class="gh-player" data-cast="/console/sessions/t1/export.cast" data-cols="132" data-rows="43">');
    expect(page).toContain('<a href="/console/sessions/t1/export.cast" download>Export .cast (ssh deploy@db-1)</a>');
    expect(page).toContain(`<script src="${CONSOLE_ASSET_PATHS.playerJs}" defer></script><script src="${CONSOLE_ASSET_PATHS.loaderJs}" defer></script>`);
    expect(page).not.toMatch(/https?:\/\//);
    expect(page).not.toMatch(/\sstyle=/);
  });

  it('serves asciinema-player 3.18 and the loader from the gateway itself', () => {
    const assets = consoleAssets();
    expect(assets.map((a) => a.path).sort()).toEqual(Object.values(CONSOLE_ASSET_PATHS).sort());
    const player = assets.find((a) => a.path === CONSOLE_ASSET_PATHS.playerJs)!;
    expect(player.contentType).toMatch(/^text\/javascript/);
    expect(player.body.toString('utf8')).toContain('AsciinemaPlayer');
    const loader = assets.find((a) => a.path === CONSOLE_ASSET_PATHS.loaderJs)!.body.toString('utf8');
    expect(loader).toContain("AsciinemaPlayer.create(el.getAttribute('data-cast'), host, { cols: cols, rows: rows, fit: false");
    expect(assets.find((a) => a.path === CONSOLE_ASSET_PATHS.playerCss)!.body.toString('utf8')).toContain('.ap-player');
  });
});
