import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { saveLogin, tokensDir } from '../../../gateway/src/cli/login/token-cache';
import { parseCredentialRequest } from '../../../gateway/src/cli/commands/git-credential';
import { main } from '../../../gateway/src/main';

/**
 * `gatehouse git-credential` driven by the real `git credential` and a real `git ls-remote`:
 * git runs the helper as its own process (the command bundled with esbuild from the sources),
 * exactly as `credential.helper = !gatehouse git-credential` makes it do.
 */
const root = join(new URL('.', import.meta.url).pathname, '../../..');
const GATEWAY = 'https://gw.example.com';

let dir: string;
let helper: string;
let home: string;
let env: NodeJS.ProcessEnv;

/** A token shaped like an ID token (the helper does not verify it; the gateway does). */
function jwt(exp: number, marker: string): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'RS256' })}.${b64({ sub: 'ada', exp })}.${Buffer.from(marker).toString('base64url')}`;
}
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-git-credential-'));
  const entry = join(dir, 'entry.ts');
  // The same error handling as main.ts: the message and code on stderr, exit 1.
  writeFileSync(
    entry,
    `import { gitCredentialCommand } from ${JSON.stringify(join(root, 'gateway/src/cli/commands/git-credential.ts'))};
import { processIO } from ${JSON.stringify(join(root, 'gateway/src/cli/io.ts'))};
import { isGatehouseError } from ${JSON.stringify(join(root, 'gateway/src/errors.ts'))};
gitCredentialCommand(process.argv.slice(2), processIO).then((c) => { process.exitCode = c; }, (e) => {
  process.stderr.write('gatehouse git-credential: ' + e.message + (isGatehouseError(e) ? ' [' + e.code + ']' : '') + '\\n');
  process.exitCode = 1;
});
`,
  );
  helper = join(dir, 'gatehouse-git-credential.mjs');
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: helper,
    logLevel: 'error',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(() => {
  home = mkdtempSync(join(dir, 'home-'));
  env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, 'cfg'), GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
});

/** Runs git with only our helper configured; never throws. */
function git(args: string[], helperArgs: string, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const helperCmd = `!'${process.execPath}' '${helper}'${helperArgs ? ` ${helperArgs}` : ''}`;
  return new Promise((resolve) => {
    const child = execFile('git', ['-c', 'credential.helper=', '-c', `credential.helper=${helperCmd}`, ...args], { env, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
    child.stdin!.end(input ?? '');
  });
}

const fill = (host: string, helperArgs = '', protocol = 'https') => git(['credential', 'fill'], helperArgs, `protocol=${protocol}\nhost=${host}\npath=repo.git\n\n`);
const login = (token: string, expiresAt: number, gateway = GATEWAY) =>
  saveLogin({ gateway, issuer: 'https://idp.example.com', clientId: 'gatehouse', scopes: ['openid'], idToken: token, expiresAt }, env);

describe('gatehouse git-credential with the real git', () => {
  test('git credential fill gets username=gatehouse and the current token of the last login, for the gateway’s host', async () => {
    const exp = now() + 3600;
    const token = jwt(exp, 'current-token');
    login(token, exp);
    const r = await fill('gw.example.com');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('username=gatehouse\n');
    expect(r.stdout).toContain(`password=${token}\n`);
    expect(r.stderr).toBe('');
  });

  test('nothing for another host, port or scheme: git moves on and the token goes nowhere', async () => {
    const exp = now() + 3600;
    const token = jwt(exp, 'not-for-others');
    login(token, exp);
    for (const [host, protocol] of [['evil.example.com', 'https'], ['gw.example.com:8443', 'https'], ['gw.example.com', 'http']] as const) {
      const r = await fill(host, '', protocol);
      expect(r.code).not.toBe(0); // no helper answered and prompts are off
      expect(r.stdout).not.toContain(token);
      expect(r.stderr).not.toContain(token);
      expect(r.stderr).toMatch(/terminal prompts disabled/);
    }
  });

  test('without a login, or with one that cannot be refreshed, git fails with the reason and never the token', async () => {
    const none = await fill('gw.example.com');
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/gatehouse git-credential: not logged in: run gatehouse login .*\[GH_ERR_NOT_LOGGED_IN\]/);

    const stale = jwt(now() - 10, 'stale-secret-part');
    login(stale, now() - 10);
    const expired = await fill('gw.example.com');
    expect(expired.code).not.toBe(0);
    expect(expired.stderr).toMatch(/expired and the issuer gave no refresh token/);
    expect(expired.stderr + expired.stdout).not.toContain(stale.split('.')[2]);
  });

  test('a workload token file, for the gateway named on the command line (required then)', async () => {
    const exp = now() + 600;
    const token = jwt(exp, 'workload');
    const file = join(home, 'token');
    writeFileSync(file, `${token}\n`);
    const r = await fill('gw.example.com', `${GATEWAY} --token-file '${file}' --username ci`);
    expect(r.stdout).toContain(`username=ci\npassword=${token}\n`);
    const unnamed = await fill('gw.example.com', `--token-file '${file}'`);
    expect(unnamed.code).not.toBe(0);
    expect(unnamed.stderr).toMatch(/name the gateway/);
  });

  test('store and erase (git credential approve / reject) leave the login cache alone', async () => {
    const exp = now() + 3600;
    login(jwt(exp, 'kept'), exp);
    const before = readdirSync(tokensDir(env));
    const input = `protocol=https\nhost=gw.example.com\nusername=gatehouse\npassword=${jwt(exp, 'kept')}\n\n`;
    expect((await git(['credential', 'approve'], '', input)).code).toBe(0);
    expect((await git(['credential', 'reject'], '', input)).code).toBe(0);
    expect(readdirSync(tokensDir(env))).toEqual(before);
    expect((await fill('gw.example.com')).stdout).toContain('password=');
  });

  test('git ls-remote against a server that asks for credentials sends the token as Basic auth', async () => {
    const seen: (string | undefined)[] = [];
    const server: Server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      if (req.headers.authorization === undefined) res.writeHead(401, { 'www-authenticate': 'Basic realm="gatehouse"' }).end();
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const gateway = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const exp = now() + 3600;
      const token = jwt(exp, 'over-http');
      login(token, exp, gateway);
      mkdirSync(join(home, 'w'));
      const r = await git(['ls-remote', `${gateway}/git/repo.git`], '');
      expect(r.code).not.toBe(0); // the test server has no repository
      expect(seen).toEqual([undefined, `Basic ${Buffer.from(`gatehouse:${token}`).toString('base64')}`]);
      expect(r.stderr).not.toContain(token);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('gatehouse git-credential in process', () => {
  test('is a gatehouse command with its own help, and refuses an unknown operation', async () => {
    let out = '';
    let err = '';
    const io = { out: (l: string) => (out += `${l}\n`), err: (l: string) => (err += `${l}\n`) };
    expect(await main(['git-credential', '--help'], io)).toBe(0);
    expect(out).toMatch(/^Usage: gatehouse git-credential/);
    expect(await main(['git-credential', 'fetch'], io)).toBe(1);
    expect(err).toMatch(/expected get, store or erase/);
  });

  test('reads Git’s request: key=value lines up to a blank line, url= split into its parts', () => {
    expect(parseCredentialRequest('protocol=https\nhost=gw:8443\npath=a/b.git\n\nhost=later\n')).toEqual({ protocol: 'https', host: 'gw:8443', path: 'a/b.git' });
    expect(parseCredentialRequest('url=https://gw.example.com/git/x.git\ncapability[]=authtype\n')).toEqual({ protocol: 'https', host: 'gw.example.com', path: 'git/x.git' });
  });
});
