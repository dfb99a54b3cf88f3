import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { doctorCommand } from '../../../gateway/src/cli/commands/doctor';
import { loginCommand } from '../../../gateway/src/cli/commands/login';
import { setupCommand } from '../../../gateway/src/cli/commands/setup';
import { startTestGateway, type TestGateway } from '../../support/gateway';
import { LOGIN_CLIENT_ID, startLoginIssuer, type LoginIssuer } from '../../support/oidc-login-issuer';
import { FAKE_ANTHROPIC_KEY, startEcho, startFakeAnthropic, type Upstream } from '../../support/upstreams';

/**
 * `gatehouse doctor` against a real gateway and a real OIDC provider: the Anthropic connection's
 * harmless request goes through to its upstream, the `demo` connection is refused by policy on
 * purpose, and Claude Code's settings lack CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: doctor names
 * each failure with its fix and exits 1.
 */
describe('gatehouse doctor', () => {
  let idp: LoginIssuer;
  let tg: TestGateway;
  let anthropic: Upstream;
  let demo: Upstream;
  let home: string;
  let env: NodeJS.ProcessEnv;

  const doctor = async () => {
    const out: string[] = [];
    const code = await doctorCommand([tg.url], { out: (l) => out.push(l), err: (l) => out.push(l) }, { env, cwd: home });
    return { code, out: out.join('\n') };
  };
  const line = (out: string, name: string) => out.split('\n').find((l) => new RegExp(`^(ok  |FAIL|skip)  ${name}\\s`).test(l)) ?? `(no line for ${name})`;

  beforeAll(async () => {
    idp = await startLoginIssuer();
    [anthropic, demo] = await Promise.all([startFakeAnthropic(), startEcho()]);
    process.env.GH_TEST_DOCTOR_KEY = FAKE_ANTHROPIC_KEY;
    tg = await startTestGateway(() => ({
      identity: { issuers: [{ name: 'corp', issuer: idp.issuer, audiences: [LOGIN_CLIENT_ID], groupsClaim: 'groups' }] },
      login: { issuer: 'corp', clientId: LOGIN_CLIENT_ID, scopes: ['openid', 'email', 'groups', 'offline_access'] },
      policy: {
        cedar: `permit (principal in Gatehouse::Group::"developers", action, resource);
@id("demo-is-closed")
forbid (principal, action, resource == Gatehouse::Connection::"demo");`,
      },
      connections: [
        { name: 'anthropic', kind: 'http', upstream: anthropic.url, route: { pathPrefix: '/anthropic' }, llm: 'anthropic', credential: { type: 'header', header: 'x-api-key', secret: 'env:GH_TEST_DOCTOR_KEY' } },
        { name: 'demo', kind: 'http', upstream: demo.url, route: { pathPrefix: '/demo' } },
      ],
    }));
    home = mkdtempSync(join(tmpdir(), 'gh-doctor-'));
    env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, 'cfg'), CLAUDE_CONFIG_DIR: join(home, 'claude'), GIT_CONFIG_NOSYSTEM: '1' };
  });
  afterAll(async () => {
    await tg?.stop();
    await Promise.all([anthropic?.close(), demo?.close(), idp?.close()]);
    rmSync(home, { recursive: true, force: true });
    delete process.env.GH_TEST_DOCTOR_KEY;
  });

  test('before login: the gateway answers, the token check fails with the command to run', async () => {
    const r = await doctor();
    expect(r.code).toBe(1);
    expect(line(r.out, 'gateway')).toMatch(/^ok/);
    expect(line(r.out, 'token')).toMatch(/^FAIL  token\s+not logged in/);
    expect(r.out).toContain(`fix: gatehouse login ${tg.url}`);
  });

  test('after login and setup: the allowed connection passes, the refused one and the incomplete Claude Code settings fail with their fixes', async () => {
    expect(await loginCommand([tg.url], { out: () => undefined, err: () => undefined }, { env, openBrowser: async (url) => (await idp.signInAt(url), true) })).toBe(0);
    await setupCommand(['claude-code', tg.url, '--gatehouse', '/usr/bin/gatehouse'], { out: () => undefined, err: () => undefined }, { env, cwd: home });
    // Someone removed the switch that keeps Claude Code's own traffic inside the gateway.
    const settingsPath = join(home, 'claude', 'settings.json');
    const settings = JSON.parse(readFileSync(settingsPath, 'utf8'));
    delete settings.env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC;
    writeFileSync(settingsPath, JSON.stringify(settings));

    const r = await doctor();
    expect(r.code).toBe(1);
    expect(line(r.out, 'token')).toMatch(/^ok    token\s+alice@example\.test, valid for \d+ min, refreshed automatically/);
    expect(line(r.out, 'connection anthropic')).toMatch(/^ok  .*GET \/anthropic\/v1\/models went through \(the upstream answered 404\)/);
    expect(anthropic.received.at(-1)?.headers['x-api-key']).toBe(FAKE_ANTHROPIC_KEY);
    expect(line(r.out, 'connection demo')).toMatch(/^FAIL .*HEAD \/demo\/ refused by the gateway: .*\[GH_ERR_POLICY_DENIED\]/);
    expect(r.out).toContain("fix: policy does not let you use connection demo this way: ask the gateway's operator for access");
    expect(demo.received).toHaveLength(0);
    expect(line(r.out, 'claude-code')).toMatch(/^FAIL .*CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC is not 1/);
    expect(r.out).toContain(`fix: gatehouse setup claude-code ${tg.url}`);
    expect(line(r.out, 'git')).toMatch(/^skip  git\s+no credential helper/);
    expect(r.out).toMatch(/2 checks failed\.$/);
    // Never a token in the report.
    expect(r.out).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  });
});
