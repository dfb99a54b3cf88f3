import { consoleAssets, CONSOLE_ASSET_PATHS, renderSessionPage, sessionCastExport, toAsciicast, type TerminalRecording } from '../../../../../gateway/src/admin/console/session-page';
import { wholeCharacters } from '../../../../../gateway/src/admin/console/session-page/terminal';

/** A terminal recording as SSH/exec events carry it (protocols/ssh/terminal-replay.ts). */
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

  it('exports valid asciicast v3: term in the header, intervals between events, the exit as an "x" event', () => {
    const lines = toAsciicast(FIXTURE, 3).trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines[0]).toEqual({ version: 3, term: { cols: 132, rows: 43, type: 'xterm-256color' }, timestamp: Date.UTC(2026, 0, 15, 10) / 1000, title: 'ssh deploy@db-1', env: { SHELL: '/bin/bash' } });
    const events = lines.slice(1) as [number, string, string][];
    expect(events.map(([, code, data]) => [code, data])).toEqual([
      ['o', '\u001b[1;32mdeploy@db-1\u001b[0m:~$ '],
      ['i', 'ls\r'],
      ['o', 'ls\r\nnotes.txt  <script>x</script>\r\n'],
      ['r', '100x30'],
      ['o', 'ünïcödé ✓\r\n'],
      ['x', '0'],
    ]);
    // Intervals: never negative (the clock step is clamped), and they add up to the v2 times.
    expect(events.map(([dt]) => dt)).toEqual([0.05, 1.15, 0.05, 0.75, 0, 1.5]);
    let at = 0;
    const v2 = (toAsciicast(FIXTURE, 2).trimEnd().split('\n').slice(1).map((l) => JSON.parse(l) as [number]) as [number][]).map(([t]) => t);
    events.forEach(([dt], i) => {
      at = Math.round((at + dt) * 1e6) / 1e6;
      expect(at).toBeCloseTo(v2[i]!, 6);
    });
    // An exit by signal has no status: a marker, as in v2.
    const signalled = toAsciicast({ ...FIXTURE, frames: [{ kind: 'exit', t: 1, code: null }] }, 3).trimEnd().split('\n');
    expect(JSON.parse(signalled[1]!)).toEqual([1, 'm', 'exit signal']);
    expect(sessionCastExport('s1', FIXTURE, 3)).toMatchObject({ filename: 'session-s1.v3.cast', body: toAsciicast(FIXTURE, 3) });
  });

  it('never writes half a character: a surrogate pair split between frames comes out whole in both versions', () => {
    const emoji = '😀'; // two UTF-16 code units, four UTF-8 bytes
    const split: TerminalRecording = {
      ...FIXTURE,
      frames: [
        { kind: 'data', t: 0.1, stream: 'output', data: `a${emoji[0]}` },
        { kind: 'data', t: 0.2, stream: 'input', data: 'x' },
        { kind: 'data', t: 0.3, stream: 'output', data: `${emoji[1]}b` },
      ],
    };
    for (const version of [2, 3] as const) {
      const body = toAsciicast(split, version);
      // JSON.stringify writes a lone surrogate as an escape; a whole pair as the character itself.
      expect(body).not.toMatch(/\\ud[89a-f][0-9a-f]{2}/i);
      const out = body.trimEnd().split('\n').slice(1).map((l) => JSON.parse(l) as [number, string, string]).filter(([, c]) => c === 'o').map(([, , d]) => d);
      expect(out).toEqual(['a', `${emoji}b`]);
      expect(Buffer.from(out.join(''), 'utf8').toString('utf8')).not.toContain('\uFFFD');
    }
    // A half that is never completed stays (a player shows U+FFFD for it, as for a truncated byte).
    expect(wholeCharacters([{ kind: 'data', t: 1, stream: 'output', data: `z${emoji[0]}` }]).map((f) => (f.kind === 'data' ? f.data : ''))).toEqual(['z', emoji[0]]);
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
      terminals: [{ label: 'ssh deploy@db-1', recording: FIXTURE, castUrl: '/console/sessions/t1/export.cast', castV2Url: '/console/sessions/t1/export.cast?v=2', textUrl: '/console/sessions/t1/export.txt?channel=0' }],
    }).value;
    expect(page).toContain('<div class="gh-player" data-cast="/console/sessions/t1/export.cast" data-cols="132" data-rows="43">');
    expect(page).toContain('<a href="/console/sessions/t1/export.cast" download>Export .cast v3 (ssh deploy@db-1)</a> · <a href="/console/sessions/t1/export.cast?v=2" download>.cast v2</a>');
    expect(page).toContain('<a href="/console/sessions/t1/export.txt?channel=0&amp;view=1">Transcript</a> (<a href="/console/sessions/t1/export.txt?channel=0" download>download</a>)');
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
