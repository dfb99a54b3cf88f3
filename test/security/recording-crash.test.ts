import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stop as stopEsbuild } from 'esbuild';
import { verifyCommand } from '../../gateway/src/cli/commands/verify';
import { mintDevToken } from '../../gateway/src/identity/dev-issuer';
import { readSessionEvents } from '../../gateway/src/recording/reader';
import { FsLogSink } from '../../gateway/src/recording/sinks/fs/fs-sink';
import { buildGatewayBundle, spawnGateway, stopChild, waitForLog } from '../support/gateway-process';
import { startPostgres, type TestPostgres } from '../support/postgres';
import { startEcho, type Upstream } from '../support/upstreams';

/**
 * Real gateway processes killed with SIGKILL in the middle of a session:
 *  - the same gateway restarted (embedded state: a persistent instance id) recovers its own tail:
 *    adopts its segment, closes the cut session with `session.end` (reason `crashed`) and records
 *    `recording.recovered`; `verify --witness` then proves the log complete and sealed;
 *  - a dead replica that never comes back (shared PostgreSQL state) is recovered by another
 *    replica's sweeper once its lease expires.
 * Before this, the restarted gateway had a new host-pid id and never looked at the tail, cut
 * sessions stayed open, and nobody attested a dead replica's tail.
 */
const POLICY = 'permit (principal, action, resource);';

async function verify(args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await verifyCommand(args, { out: (l) => out.push(l), err: (l) => out.push(l) });
  return { code, out: out.join('\n') };
}

describe('crash recovery of real gateway processes (kill -9)', () => {
  let dir: string;
  let bundle: string;
  let echo: Upstream;
  let pg: TestPostgres;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-sec-crash-'));
    [bundle, echo, pg] = await Promise.all([buildGatewayBundle(dir), startEcho(), startPostgres()]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(children.map((c) => stopChild(c, 'SIGKILL')));
    await echo?.close();
    await pg?.stop();
    await stopEsbuild();
    rmSync(dir, { recursive: true, force: true });
  });

  const writeConfig = (name: string, lines: string): string => {
    const path = join(dir, `${name}.yaml`);
    writeFileSync(
      path,
      `mode: development
listeners:
  http: { address: 127.0.0.1, port: 0, allowPlaintext: true }
  admin: { address: 127.0.0.1, port: 0, allowPlaintext: true }
identity:
  devIssuer: { enabled: true, keyPath: ${dir}/dev-issuer.json }
policy:
  cedar: ${JSON.stringify(POLICY)}
connections:
  - { name: api, kind: http, upstream: "${echo.url}", route: { pathPrefix: /api } }
logging: { level: info }
${lines}`,
    );
    return path;
  };

  const startGateway = async (config: string): Promise<{ child: ChildProcess; http: string }> => {
    const child = await spawnGateway(bundle, ['run', '--config', config], dir);
    children.push(child);
    const started = await waitForLog(child, 'gatehouse started', 60_000);
    return { child, http: started.http as string };
  };

  const request = async (http: string, token: string, session: string) => {
    const res = await fetch(`${http}/api/items`, { headers: { authorization: `Bearer ${token}`, 'x-gatehouse-session': session } });
    expect(res.status).toBe(200);
    await res.text();
  };

  test('a restarted gateway recovers its own crash tail: adopted, cut session closed as crashed, recorded, sealed', async () => {
    const token = await mintDevToken({ subject: 'ada', groups: ['developers'], keyPath: join(dir, 'dev-issuer.json'), audience: 'gatehouse' });
    const logDir = join(dir, 'own', 'log');
    const stateDir = join(dir, 'own', 'state');
    const config = writeConfig('own', `recording:\n  mode: strict\n  sink: { type: fs, path: ${logDir} }\nstate:\n  embeddedPath: ${stateDir}\n`);
    const first = await startGateway(config);
    await request(first.http, token, 'cut-by-crash');
    expect(await stopChild(first.child, 'SIGKILL')).toBe('SIGKILL');

    const second = await startGateway(config);
    const recovered = waitForLog(second.child, 'recording: recovered the tail of an earlier run (crash): adopted what it wrote, closed its cut sessions', 30_000);
    await recovered;
    expect(await stopChild(second.child, 'SIGTERM')).toBe(0);

    const sink = new FsLogSink(logDir);
    const all = (await sink.list('segments/')).length;
    expect(all).toBeGreaterThanOrEqual(2);
    const keyFile = join(dir, 'own', 'dev-signing-key.pem.pub');
    const r = await verify([logDir, '--trust-key', keyFile, '--witness', stateDir, '--json']);
    const result = JSON.parse(r.out) as { ok: boolean; warnings: Array<{ code: string }>; instances: Array<{ sealed: boolean }>; stats: { sessionsOpen: number } };
    expect(result).toMatchObject({ ok: true, stats: { sessionsOpen: 0 } });
    expect(result.instances).toEqual([expect.objectContaining({ sealed: true })]);
    expect(result.warnings.map((w) => w.code)).toContain('RECOVERED_SEGMENT');
    expect(r.code).toBe(0);
    // The cut session is closed by recovery, and the recovery says what it adopted.
    const sessions = await listSessions(sink);
    const cut = sessions.find((s) => s.events.some((e) => e.type === 'http.request'))!;
    expect(cut.events[cut.events.length - 1]).toMatchObject({ type: 'session.end', payload: { reason: 'crashed' } });
    const recovery = sessions.flatMap((s) => s.events).find((e) => e.type === 'recording.recovered');
    expect(recovery?.payload).toMatchObject({ closedSessions: [cut.id], rejected: [] });
    expect((recovery?.payload as { adopted: unknown[] }).adopted).toHaveLength(1);
  }, 150_000);

  test('a dead replica that never returns is recovered by a live one once its lease expires', async () => {
    const token = await mintDevToken({ subject: 'ada', groups: ['developers'], keyPath: join(dir, 'dev-issuer.json'), audience: 'gatehouse' });
    const logDir = join(dir, 'shared', 'log');
    const recording = `recording:\n  mode: strict\n  leaseSeconds: 3\n  sink: { type: fs, path: ${logDir} }\nstate:\n  url: ${pg.url}\n`;
    const a = await startGateway(writeConfig('a', `instanceId: replica-a\n${recording}`));
    await request(a.http, token, 'on-a');
    expect(await stopChild(a.child, 'SIGKILL')).toBe('SIGKILL');

    const b = await startGateway(writeConfig('b', `instanceId: replica-b\n${recording}`));
    const swept = await waitForLog(b.child, 'recording: recovered the tail of an instance whose lease expired', 40_000);
    expect(swept).toMatchObject({ instance: 'replica-a', closedSessions: 1, rejected: [] });
    expect(await stopChild(b.child, 'SIGTERM')).toBe(0);

    const keyFile = join(dir, 'shared', 'dev-signing-key.pem.pub');
    const r = await verify([logDir, '--trust-key', keyFile, '--witness', pg.url, '--json']);
    const result = JSON.parse(r.out) as { ok: boolean; instances: Array<{ instance: string; sealed: boolean; sealedByRecovery: boolean }>; stats: { sessionsOpen: number } };
    expect(result).toMatchObject({ ok: true, stats: { sessionsOpen: 0 } });
    expect(result.instances).toEqual([
      expect.objectContaining({ instance: 'replica-a', sealed: true, sealedByRecovery: true }),
      expect.objectContaining({ instance: 'replica-b', sealed: true, sealedByRecovery: false }),
    ]);
    expect(r.code).toBe(0);
  }, 150_000);
});

async function listSessions(sink: FsLogSink): Promise<Array<{ id: string; events: Array<{ type: string; payload: Record<string, unknown> }> }>> {
  const ids = new Set<string>();
  for (const key of await sink.list('segments/')) {
    const { gunzipSync } = await import('node:zlib');
    for (const line of gunzipSync((await sink.get(key))!).toString().split('\n')) if (line) ids.add((JSON.parse(line) as { session: string }).session);
  }
  return Promise.all([...ids].map(async (id) => ({ id, events: (await readSessionEvents(sink, id)) as unknown as Array<{ type: string; payload: Record<string, unknown> }> })));
}
