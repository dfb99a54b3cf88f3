import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stop as stopEsbuild } from 'esbuild';
import { mintDevToken } from '../../../gateway/src/identity/dev-issuer';
import { startPostgres, type TestPostgres } from '../../support/postgres';
import { startEcho, type Upstream } from '../../support/upstreams';
import { buildGatewayBundle, waitForLog } from '../../support/gateway-process';

/**
 * Two real gateway processes (the esbuild bundle, run with plain `node`) sharing one real
 * PostgreSQL state store: a DELETE held on replica A is released by an approval POSTed to
 * replica B's admin API. The safety poll is set to 10 minutes, so only LISTEN/NOTIFY can release
 * it within the test.
 */
const POLICY = `@id("deletes-need-approval")
@decision("review")
permit (principal in Gatehouse::Group::"developers", action == Gatehouse::Action::"http:DELETE", resource);`;

describe('approvals across two gateway processes', () => {
  let dir: string;
  let pg: TestPostgres;
  let echo: Upstream;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-replicas-'));
    // Our own bundle in a temp dir (dist/ belongs to `npm run build`), built as build.mjs builds it.
    [, pg] = await Promise.all([buildGatewayBundle(dir), startPostgres()]);
    echo = await startEcho();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
          }),
      ),
    );
    await echo?.close();
    await pg?.stop();
    await stopEsbuild();
    rmSync(dir, { recursive: true, force: true });
  });

  const startReplica = async (name: string): Promise<{ http: string; admin: string }> => {
    const configPath = join(dir, `${name}.yaml`);
    writeFileSync(
      configPath,
      `mode: development
instanceId: replica-${name}
listeners:
  http: { address: 127.0.0.1, port: 0, allowPlaintext: true }
  admin: { address: 127.0.0.1, port: 0, allowPlaintext: true }
identity:
  devIssuer: { enabled: true, keyPath: ${dir}/dev-issuer.json }
policy:
  cedar: ${JSON.stringify(POLICY)}
connections:
  - { name: api, kind: http, upstream: "${echo.url}", route: { pathPrefix: /api } }
recording:
  sink: { type: fs, path: ${dir}/log-${name} }
state:
  url: ${pg.url}
approvals:
  approverGroups: [approvers]
  timeoutSeconds: 120
  pollIntervalMs: 600000
logging: { level: info }
`,
    );
    const child = spawn(process.execPath, [join(dir, 'dist/gateway.mjs'), 'run', '--config', configPath], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir() },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    const started = await waitForLog(child, 'gatehouse started', 60_000);
    return { http: started.http as string, admin: started.admin as string };
  };

  test('a request held on replica A is released by an approval given through replica B', async () => {
    const keyPath = join(dir, 'dev-issuer.json');
    // Minted first: the key file then exists before both replicas read it.
    const ada = await mintDevToken({ subject: 'ada', groups: ['developers'], keyPath, audience: 'gatehouse' });
    const grace = await mintDevToken({ subject: 'grace', groups: ['approvers'], keyPath, audience: 'gatehouse' });
    const [a, b] = [await startReplica('a'), await startReplica('b')];

    const held = fetch(`${a.http}/api/records/42`, { method: 'DELETE', headers: { authorization: `Bearer ${ada}` } });
    let approval: { id: string; instanceId: string } | undefined;
    for (let i = 0; i < 400 && approval === undefined; i++) {
      const res = await fetch(`${b.admin}/api/approvals?status=pending`, { headers: { authorization: `Bearer ${grace}` } });
      approval = ((await res.json()) as { approvals: { id: string; instanceId: string }[] }).approvals[0];
      if (approval === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(approval).toMatchObject({ instanceId: 'replica-a' });
    expect(echo.received).toHaveLength(0);

    const decided = await fetch(`${b.admin}/api/approvals/${approval!.id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${grace}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'approved on the other replica' }),
    });
    expect(decided.status).toBe(200);
    const res = await held;
    expect(res.status).toBe(200);
    await res.text();
    expect(echo.received.map((r) => `${r.method} ${r.url}`)).toEqual(['DELETE /records/42']);
  }, 90_000);
});
