import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { renderSessionPage, verifySessionForConsole } from '../../../../../gateway/src/admin/console/session-page';
import { exportSession } from '../../../../../gateway/src/recording/reader';
import { FsLogSink } from '../../../../../gateway/src/recording/sinks/fs/fs-sink';
import { startPgTestEnv, type PgTestEnv } from '../../../../support/pg-gateway';

/**
 * A PostgreSQL session recorded by the whole gateway (real PostgreSQL 15, real recorder, fs log
 * store, signed digests), read back with `exportSession` and rendered; then verified for the badge,
 * and again after one byte of its segment is changed.
 */
const EMAIL = 'ada.lovelace@example.com';
const HOSTILE = '</td><script>alert(1)</script>';

describe('session page: a recorded PostgreSQL session', () => {
  let env: PgTestEnv;
  let sink: FsLogSink;
  let sessionId: string;
  let page: string;

  beforeAll(async () => {
    env = await startPgTestEnv({
      policy: 'permit (principal in Gatehouse::Group::"developers", action, resource);',
      connection: { masking: {} },
      config: { masking: { replacement: { kind: 'type_tag' } } },
    });
    await env.direct('create table people (id int primary key, name text, email text)');
    await env.direct('grant all on people to gh_app');
    await env.direct(`insert into people values (1, 'Ada', '${EMAIL}'), (2, $1, null)`, [HOSTILE]);
    const client = new pg.Client(env.clientConfig(await env.token()));
    await client.connect();
    await client.query('select id, name, email from people order by id');
    await expect(client.query('select * from no_such_table')).rejects.toThrow(/does not exist/);
    await client.end();
    // A clean shutdown seals the log with a final digest; keep its files.
    await env.gw.stop({ keep: true });
    sink = new FsLogSink(env.gw.logDir);
    const keys = await sink.list('segments/');
    expect(keys.length).toBeGreaterThan(0);
    const all = await exportAll(sink);
    sessionId = all.find((id) => id !== undefined)!;
    const transcript = await exportSession(sink, sessionId);
    const verification = await verifySessionForConsole(sink, sessionId, {});
    page = renderSessionPage({
      session: transcript.session,
      events: transcript.events,
      verification,
      viewer: { name: 'auditor', subject: 'auditor' },
      links: { self: `/console/sessions/${sessionId}`, exportJson: `/console/sessions/${sessionId}/export.json` },
    }).value;
  }, 90000);
  afterAll(async () => {
    await env?.stop();
  });

  /** The ids of the postgres sessions in the log (the admin API's own session, if any, is skipped). */
  async function exportAll(s: FsLogSink): Promise<string[]> {
    const { decodeSegment } = await import('../../../../../gateway/src/recording/segment-codec');
    const ids = new Set<string>();
    for (const key of await s.list('segments/')) {
      const { lines } = await decodeSegment((await s.get(key))!, true);
      for (const line of lines) {
        const e = JSON.parse(line) as { session: string; type: string; payload: { protocol?: string } };
        if (e.type === 'session.start' && e.payload.protocol === 'postgres') ids.add(e.session);
      }
    }
    return [...ids];
  }

  it('shows each statement with its result table, masked values marked, and the error', () => {
    expect(page).toContain('<pre class="gh-code gh-sql-text"><code>select id, name, email from people order by id</code></pre>');
    expect(page).toMatch(/<table class="gh-table gh-result"><thead><tr><th scope="col">id<\/th><th scope="col">name<\/th><th scope="col">email<\/th><\/tr><\/thead>/);
    expect(page).toContain('<td>Ada</td><td><mark class="gh-masked" title="masked by the gateway">[EMAIL]</mark></td>');
    expect(page).toContain('<td><span class="gh-null">NULL</span></td>');
    expect(page).toMatch(/<code class="gh-tag">SELECT 2<\/code>/);
    expect(page).toMatch(/<code>42P01<\/code> ERROR: relation &quot;no_such_table&quot; does not exist/);
    expect(page).not.toContain(EMAIL);
  });

  it('keeps a hostile value from a result cell as text', () => {
    expect(page).toContain('&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).not.toContain('<script>alert(1)');
  });

  it('shows the decision inline and links every event', () => {
    expect(page).toMatch(/<span class="gh-type">pg.query<\/span> <code class="gh-code-id">GH2200I<\/code>.*<span class="gh-decision gh-allow"/);
    expect(page).toContain('id="e-0"');
  });

  it('badge: green on the intact, sealed log', () => {
    expect(page).toContain('<div class="gh-badge gh-badge-verified" role="status"><strong>verified</strong>');
  });

  it('badge: red after one byte of the session\'s segment changes, naming the segment', async () => {
    const keys = await sink.list('segments/');
    const key = keys[0]!;
    const path = join(env.gw.logDir, key);
    const bytes = await readFile(path);
    bytes[Math.floor(bytes.length / 2)] ^= 0x20;
    await writeFile(path, bytes);
    const v = await verifySessionForConsole(sink, sessionId, {});
    expect(v).toMatchObject({ status: 'broken', ok: false, firstBroken: { code: 'SEGMENT_HASH_MISMATCH', segment: key } });
    const transcript = { session: { id: sessionId, eventCount: 0, chain: { intact: false } }, events: [] };
    const red = renderSessionPage({ session: transcript.session, events: [], verification: v, viewer: { name: 'a', subject: 'a' }, links: { self: '/s', exportJson: '/s.json' } }).value;
    expect(red).toContain('<div class="gh-badge gh-badge-broken" role="status"><strong>verification failed</strong>: <code>SEGMENT_HASH_MISMATCH</code>');
    expect(red).toContain(`in segment <code>${key}</code>`);
  });
});
