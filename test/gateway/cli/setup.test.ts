import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupCommand } from '../../../gateway/src/cli/commands/setup';
import { lineDiff } from '../../../gateway/src/cli/setup/file-change';
import { isLoopbackHost } from '../../../gateway/src/cli/setup/psql';
import { selfCommand } from '../../../gateway/src/cli/setup/self-command';
import { isGatehouseError } from '../../../gateway/src/errors';
import { startTestGateway, type TestGateway } from '../../support/gateway';

/**
 * `gatehouse setup <client>` against a real gateway's /.well-known/gatehouse, writing into a
 * temporary HOME: what it writes, that it merges into existing files without losing anything,
 * that a second run changes nothing, and that --print writes nothing.
 */
describe('gatehouse setup', () => {
  let tg: TestGateway;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const GH = '/opt/node/bin/node /opt/gatehouse/dist/gateway.mjs';

  const run = async (argv: string[], cwd?: string) => {
    const out: string[] = [];
    try {
      const code = await setupCommand([...argv, '--gatehouse', GH], { out: (l) => out.push(l), err: (l) => out.push(l) }, { env, cwd: cwd ?? home });
      return { code, out: out.join('\n') };
    } catch (e) {
      if (!isGatehouseError(e)) throw e;
      return { code: 1, out: `${out.join('\n')}\n${e.message} [${e.code}]` };
    }
  };

  beforeAll(async () => {
    // Port 0: the published document names the port bound, which setup psql writes.
    tg = await startTestGateway(() => ({
      listeners: { postgres: { address: '127.0.0.1', port: 0, allowPlaintext: true } },
      connections: [
        { name: 'anthropic', kind: 'http', upstream: 'http://127.0.0.1:9', route: { pathPrefix: '/anthropic' }, llm: 'anthropic' },
        { name: 'demo', kind: 'http', upstream: 'http://127.0.0.1:9', route: { pathPrefix: '/demo' } },
        { name: 'orders', kind: 'postgres', databases: ['orders'], upstream: { host: '127.0.0.1', database: 'orders', user: 'gw', tls: { mode: 'disable' } } },
      ],
    }));
  });
  afterAll(async () => {
    await tg?.stop();
  });
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'gh-setup-'));
    env = { HOME: home, PATH: process.env.PATH };
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  describe('claude-code', () => {
    const settingsPath = () => join(home, '.claude', 'settings.json');

    test('writes base URL, apiKeyHelper, helper TTL and DISABLE_NONESSENTIAL_TRAFFIC into a new user settings file', async () => {
      const r = await run(['claude-code', tg.url]);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`+ ${settingsPath()} (new file)`);
      const settings = JSON.parse(readFileSync(settingsPath(), 'utf8'));
      expect(settings).toEqual({
        apiKeyHelper: `${GH} token ${tg.url}`,
        env: { ANTHROPIC_BASE_URL: `${tg.url}/anthropic`, CLAUDE_CODE_API_KEY_HELPER_TTL_MS: '300000', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
      });
      expect(statSync(settingsPath()).mode & 0o777).toBe(0o600);
    });

    test('merges into existing settings: other keys and env entries kept, keys that outrank apiKeyHelper removed; a second run changes nothing', async () => {
      mkdirSync(join(home, '.claude'));
      const existing = { model: 'opus', permissions: { allow: ['Bash(ls:*)'] }, env: { MY_VAR: 'x', ANTHROPIC_API_KEY: 'sk-ant-old', ANTHROPIC_BASE_URL: 'https://api.anthropic.com' } };
      writeFileSync(settingsPath(), JSON.stringify(existing), { mode: 0o644 });
      const first = await run(['claude-code', tg.url]);
      expect(first.code).toBe(0);
      expect(first.out).toContain(`~ ${settingsPath()}`);
      expect(first.out).toMatch(/^- .*ANTHROPIC_API_KEY/m);
      expect(first.out).toMatch(/^\+ +"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"/m);
      const settings = JSON.parse(readFileSync(settingsPath(), 'utf8'));
      expect(settings).toMatchObject({ model: 'opus', permissions: { allow: ['Bash(ls:*)'] }, env: { MY_VAR: 'x', ANTHROPIC_BASE_URL: `${tg.url}/anthropic` } });
      expect(settings.env.ANTHROPIC_API_KEY).toBeUndefined();
      expect(statSync(settingsPath()).mode & 0o777).toBe(0o644); // an existing file keeps its mode

      const text = readFileSync(settingsPath(), 'utf8');
      const second = await run(['claude-code', tg.url]);
      expect(second.out).toContain(`= ${settingsPath()} (already set up)`);
      expect(second.out).toContain('Nothing to change.');
      expect(readFileSync(settingsPath(), 'utf8')).toBe(text);
    });

    test('--print shows the change and writes nothing', async () => {
      const r = await run(['claude-code', tg.url, '--print']);
      expect(r.code).toBe(0);
      expect(r.out).toContain('"ANTHROPIC_BASE_URL"');
      expect(r.out).toContain('(--print: nothing written)');
      expect(() => statSync(settingsPath())).toThrow();
    });

    test('CLAUDE_CONFIG_DIR and --project choose the file; a project file calls gatehouse from PATH', async () => {
      env.CLAUDE_CONFIG_DIR = join(home, 'cc');
      await run(['claude-code', tg.url]);
      expect(JSON.parse(readFileSync(join(home, 'cc', 'settings.json'), 'utf8')).env.ANTHROPIC_BASE_URL).toBe(`${tg.url}/anthropic`);
      const project = join(home, 'repo');
      mkdirSync(project);
      const out: string[] = [];
      await setupCommand(['claude-code', tg.url, '--project'], { out: (l) => out.push(l), err: () => undefined }, { env, cwd: project });
      expect(JSON.parse(readFileSync(join(project, '.claude', 'settings.json'), 'utf8')).apiKeyHelper).toBe(`gatehouse token ${tg.url}`);
    });

    test('the shell fast path shipped beside the program becomes the apiKeyHelper, calling the program back (not in a project file)', async () => {
      const dist = join(home, 'opt', 'dist');
      mkdirSync(dist, { recursive: true });
      writeFileSync(join(dist, 'gateway.mjs'), '');
      writeFileSync(join(dist, 'gatehouse-token'), '#!/bin/sh\n', { mode: 0o755 });
      const out: string[] = [];
      const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
      await setupCommand(['claude-code', tg.url, '--gatehouse', `/usr/bin/node ${dist}/gateway.mjs`], io, { env, cwd: home });
      expect(JSON.parse(readFileSync(settingsPath(), 'utf8')).apiKeyHelper).toBe(`${dist}/gatehouse-token ${tg.url} -- /usr/bin/node ${dist}/gateway.mjs`);
      const project = join(home, 'repo');
      mkdirSync(project);
      await setupCommand(['claude-code', tg.url, '--project', '--gatehouse', `/usr/bin/node ${dist}/gateway.mjs`], io, { env, cwd: project });
      expect(JSON.parse(readFileSync(join(project, '.claude', 'settings.json'), 'utf8')).apiKeyHelper).toBe(`/usr/bin/node ${dist}/gateway.mjs token ${tg.url}`);
    });

    test('--dev (gatehouse dev): the helper mints development tokens from the directory the gateway runs in', async () => {
      await run(['claude-code', tg.url, '--dev', '--sub', 'ada']);
      expect(JSON.parse(readFileSync(settingsPath(), 'utf8')).apiKeyHelper).toBe(`cd ${home} && ${GH} token --dev --sub ada`);
      expect((await run(['psql', tg.url, '--dev'])).out).toContain('--dev is for claude-code');
    });

    test('a settings file that is not valid JSON is refused and left as it was', async () => {
      mkdirSync(join(home, '.claude'));
      writeFileSync(settingsPath(), '{ "model": "opus", }');
      const r = await run(['claude-code', tg.url]);
      expect(r.code).toBe(1);
      expect(r.out).toContain('GH_ERR_CLIENT_SETUP');
      expect(readFileSync(settingsPath(), 'utf8')).toBe('{ "model": "opus", }');
    });
  });

  test('psql: a service entry without a password, merged into PGSERVICEFILE; idempotent', async () => {
    const file = join(home, 'pg_service.conf');
    env.PGSERVICEFILE = file;
    writeFileSync(file, '# my services\n[prod]\nhost=db.example.com\ndbname=prod\n');
    const r = await run(['psql', tg.url, '--user', 'ada']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('+ [gatehouse-orders]');
    const port = tg.gateway.postgres!.port;
    expect(readFileSync(file, 'utf8')).toBe(`# my services\n[prod]\nhost=db.example.com\ndbname=prod\n\n[gatehouse-orders]\nhost=127.0.0.1\nport=${port}\ndbname=orders\nuser=ada\nsslmode=disable\n`);
    expect(readFileSync(file, 'utf8')).not.toMatch(/password/i);
    expect(r.out).toContain(`Connect with: ${GH} psql --gateway ${tg.url} -- service=gatehouse-orders`);
    const again = await run(['psql', tg.url, '--user', 'ada']);
    expect(again.out).toContain('(already set up)');
    // A changed value is rewritten in place; the rest of the section stays.
    writeFileSync(file, readFileSync(file, 'utf8').replace(`port=${port}`, 'port=1\n# keep me'));
    await run(['psql', tg.url, '--user', 'ada']);
    expect(readFileSync(file, 'utf8')).toContain(`port=${port}\n# keep me\ndbname=orders`);
  });

  test('psql: a listener without TLS is set up only for a gateway on loopback; elsewhere setup refuses and writes nothing', async () => {
    const file = join(home, 'pg_service.conf');
    env.PGSERVICEFILE = file;
    const port = new URL(tg.url).port;
    // The same gateway under a name that is not loopback (its requests are routed to it here).
    const remote = `http://gatehouse.internal.example:${port}`;
    const routed: typeof fetch = (input, init) => fetch(String(input).replace(remote, tg.url), init);
    const out: string[] = [];
    const refused = await setupCommand(['psql', remote, '--gatehouse', GH], { out: (l) => out.push(l), err: (l) => out.push(l) }, { env, cwd: home, fetch: routed }).catch((e: unknown) => e);
    expect(isGatehouseError(refused) && refused.code).toBe('GH_ERR_CLIENT_SETUP');
    expect((refused as Error).message).toMatch(/listener for "orders" \(gatehouse\.internal\.example:\d+\) has no TLS: psql would send your token as a cleartext password .*listeners\.postgres\.tls/);
    expect(existsSync(file)).toBe(false);
    // localhost names this machine: plaintext stays on loopback.
    const local = await run(['psql', `http://localhost:${port}`, '--user', 'ada']);
    expect(local.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('host=localhost\n');
    expect(readFileSync(file, 'utf8')).toContain('sslmode=disable\n');
  });

  test('loopback hosts: localhost, 127.0.0.0/8, ::1 and IPv4-mapped 127.x; nothing else', () => {
    for (const h of ['localhost', 'LOCALHOST.', 'db.localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) expect([h, isLoopbackHost(h)]).toEqual([h, true]);
    for (const h of ['gatehouse.example.com', 'localhost.example.com', '128.0.0.1', '10.0.0.1', '::2', '::ffff:10.0.0.1', '0.0.0.0', '::']) expect([h, isLoopbackHost(h)]).toEqual([h, false]);
  });

  test('git: an empty helper then gatehouse git-credential, for the gateway URL only; idempotent; --file', async () => {
    const key = `credential.${tg.url}.helper`;
    const get = (...scope: string[]) => execFileSync('git', ['config', ...scope, '--get-all', key], { env, encoding: 'utf8' });
    execFileSync('git', ['config', '--global', 'credential.helper', 'store'], { env });
    const r = await run(['git', tg.url]);
    expect(r.code).toBe(0);
    expect(get('--global')).toBe(`\n${GH} git-credential ${tg.url}\n`);
    expect(execFileSync('git', ['config', '--global', 'credential.helper'], { env, encoding: 'utf8' })).toBe('store\n'); // other settings untouched
    expect((await run(['git', tg.url])).out).toContain('(already set up)');
    expect(get('--global').split('\n')).toHaveLength(3);

    const file = join(home, 'gitconfig');
    const printed = await run(['git', tg.url, '--file', file, '--print']);
    expect(printed.out).toContain(`+ ${key} = "${GH} git-credential ${tg.url}"`);
    expect(() => statSync(file)).toThrow();
    await run(['git', tg.url, '--file', file]);
    expect(get('--file', file)).toBe(`\n${GH} git-credential ${tg.url}\n`);
  });

  test('aws: a profile with credential_process and endpoint_url in AWS_CONFIG_FILE, other profiles kept', async () => {
    const file = join(home, 'aws-config');
    env.AWS_CONFIG_FILE = file;
    writeFileSync(file, '[default]\nregion = eu-west-1\n');
    const r = await run(['aws', tg.url, '--region', 'us-east-1']);
    expect(r.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(`[default]\nregion = eu-west-1\n\n[profile gatehouse]\ncredential_process = ${GH} aws-credentials ${tg.url}\nendpoint_url = ${tg.url}\nregion = us-east-1\n`);
    expect((await run(['aws', tg.url, '--region', 'us-east-1'])).out).toContain('(already set up)');
  });

  test('an unknown client, or a connection the gateway does not publish, is refused with a reason', async () => {
    expect((await run(['emacs', tg.url])).out).toContain('usage: gatehouse setup');
    const r = await run(['claude-code', tg.url, '--connection', 'demo']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('the gateway has no Anthropic connection (llm: anthropic) named "demo" (it has: anthropic)');
  });

  test('inside a test runner it cannot call itself back: it says so instead of writing a helper that runs jest', () => {
    expect(() => selfCommand()).toThrow(/clients cannot call back/);
    expect(selfCommand(['/usr/bin/node', '/opt/gh/dist/gateway.mjs'], '/usr/bin/node')).toEqual(['/usr/bin/node', '/opt/gh/dist/gateway.mjs']);
  });

  test('the diff shows removed and added lines with one line of context', () => {
    expect(lineDiff('a\nb\nc\nd\ne\n', 'a\nb\nC\nd\ne\n')).toEqual(['  b', '- c', '+ C', '  d']);
  });
});
