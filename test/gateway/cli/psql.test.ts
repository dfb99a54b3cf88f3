import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loginCommand } from '../../../gateway/src/cli/commands/login';
import { psqlCommand } from '../../../gateway/src/cli/commands/psql';
import { setupCommand } from '../../../gateway/src/cli/commands/setup';
import { isGatehouseError } from '../../../gateway/src/errors';
import { LOGIN_CLIENT_ID, startLoginIssuer, type LoginIssuer } from '../../support/oidc-login-issuer';
import { PG_BIN, UPSTREAM_USER, startPgTestEnv, type PgTestEnv } from '../../support/pg-gateway';

/**
 * The real psql through `gatehouse psql`, with the service `gatehouse setup psql` wrote: TLS
 * verified against the gateway's certificate, the person's token from a real OIDC provider as the
 * password (in psql's environment only), the query answered by a real PostgreSQL behind the gateway.
 */
describe('gatehouse psql with gatehouse setup psql', () => {
  let idp: LoginIssuer;
  let env: PgTestEnv;
  let home: string;
  let clientEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    idp = await startLoginIssuer();
    const port = await freePort(); // the published document names the configured port
    env = await startPgTestEnv({
      policy: 'permit (principal in Gatehouse::Group::"developers", action, resource);',
      listener: { port },
      config: {
        identity: { issuers: [{ name: 'corp', issuer: idp.issuer, audiences: [LOGIN_CLIENT_ID], groupsClaim: 'groups' }] },
        login: { issuer: 'corp', clientId: LOGIN_CLIENT_ID, scopes: ['openid', 'email', 'groups', 'offline_access'] },
      },
    });
    home = mkdtempSync(join(tmpdir(), 'gh-psql-'));
    writeFileSync(join(home, 'gateway-ca.pem'), env.certPem);
    clientEnv = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, 'cfg'), PGSERVICEFILE: join(home, 'pg_service.conf') };
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
    await idp?.close();
    rmSync(home, { recursive: true, force: true });
  });

  const psql = async (args: string[]) => {
    let stdout = '';
    let stderr = '';
    const err: string[] = [];
    try {
      const code = await psqlCommand(['--psql', join(PG_BIN, 'psql'), '--', ...args], { out: () => undefined, err: (l) => err.push(l) }, {
        env: clientEnv,
        stdio: 'pipe',
        onOutput: (stream, data) => (stream === 'stdout' ? (stdout += data) : (stderr += data)),
      });
      return { code, stdout, stderr, err: err.join('\n') };
    } catch (e) {
      if (!isGatehouseError(e)) throw e;
      return { code: 1, stdout, stderr, err: `${err.join('\n')}${e.message} [${e.code}]` };
    }
  };

  test('before login it fails with a clear message and never starts psql', async () => {
    const r = await psql(['service=gatehouse-appdb', '-c', 'select 1']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toBe('');
  });

  test('login, setup psql, then psql answers through the gateway as the brokered role; no password anywhere on disk', async () => {
    expect(await loginCommand([env.gw.url], { out: () => undefined, err: () => undefined }, { env: clientEnv, openBrowser: async (url) => (await idp.signInAt(url), true) })).toBe(0);
    const out: string[] = [];
    await setupCommand(['psql', env.gw.url, '--user', 'ada', '--sslrootcert', join(home, 'gateway-ca.pem'), '--gatehouse', '/usr/bin/gatehouse'], { out: (l) => out.push(l), err: () => undefined }, { env: clientEnv });
    const service = readFileSync(clientEnv.PGSERVICEFILE!, 'utf8');
    expect(service).toContain('[gatehouse-appdb]');
    expect(service).toContain('sslmode=verify-full');
    expect(service).not.toMatch(/password/i);

    const r = await psql(['service=gatehouse-appdb', '-At', '-c', 'select current_user, 40 + 2']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`${UPSTREAM_USER}|42`);
    // The token went to psql's environment only: not into this process's.
    expect(process.env.PGPASSWORD).toBeUndefined();

    // psql's own exit status comes back: a statement the database refuses.
    const bad = await psql(['service=gatehouse-appdb', '-v', 'ON_ERROR_STOP=1', '-c', 'select * from no_such_table']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('no_such_table');
  });

  test('a psql that is not installed is named', async () => {
    const err: string[] = [];
    await expect(psqlCommand(['--psql', join(home, 'no-psql-here')], { out: () => undefined, err: (l) => err.push(l) }, { env: clientEnv, stdio: 'pipe' })).rejects.toMatchObject({
      code: 'GH_ERR_CLIENT_MISSING',
    });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
