import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenCommand } from '../../../gateway/src/cli/commands/token';
import { removeLogins, saveLogin, tokenEntryName, tokensDir } from '../../../gateway/src/cli/login/token-cache';

/**
 * gateway/bin/gatehouse-token, the POSIX-shell fast path of `gatehouse token`: it prints the cached
 * token only from an entry exactly as the Node side writes it, in a directory and file only the user
 * can use, and otherwise hands over to the Node command with the gateway and margin (the real Node
 * fallback refreshing at a real issuer is in test/gateway/cli/login.test.ts). The fallback here is
 * a probe that records how it was called. Each case runs under dash and bash (Debian's and macOS's
 * /bin/sh).
 */
const HELPER = join(new URL('.', import.meta.url).pathname, '../../../gateway/bin/gatehouse-token');
const SHELLS = ['/bin/dash', '/bin/bash'].filter((s) => existsSync(s));
const GATEWAY = 'https://gw.example.com:8443/team';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';

describe.each(SHELLS)('gatehouse-token under %s', (shell) => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let probeLog: string;
  let probe: string;
  const now = () => Math.floor(Date.now() / 1000);

  beforeEach(() => {
    // A space in the path, as in many macOS home directories.
    home = mkdtempSync(join(tmpdir(), 'gh tokhelper-'));
    probeLog = join(home, 'fallback.log');
    probe = join(home, 'probe.sh');
    // Stands in for `node gateway.mjs`: records its arguments and whether a token reached its environment.
    writeFileSync(probe, `printf '%s|%s\\n' "$*" "$(env | grep -c '${TOKEN.slice(0, 20)}')" >> '${probeLog}'\necho from-node\n`);
    env = { HOME: home, XDG_CONFIG_HOME: join(home, 'cfg'), PATH: process.env.PATH };
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const save = (expiresIn: number, idToken = TOKEN, gateway = GATEWAY) =>
    saveLogin({ gateway, issuer: 'https://idp.example.com', clientId: 'cli', scopes: ['openid'], idToken, expiresAt: now() + expiresIn, refreshToken: 'rt' }, env);
  const entry = () => join(tokensDir(env), tokenEntryName(GATEWAY)!);
  const helper = (...args: string[]) => {
    const r = spawnSync(shell, [HELPER, ...args, '--', shell, probe], { env, encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr, fallback: existsSync(probeLog) ? readFileSync(probeLog, 'utf8').trim().split('\n') : [] };
  };

  test('a fresh entry: prints the token without running the Node command', () => {
    save(3600);
    expect(statSync(entry()).mode & 0o777).toBe(0o600);
    expect(readFileSync(entry(), 'utf8')).toMatch(new RegExp(`^gatehouse-token 1\\n\\d+\\n${TOKEN}\\n$`));
    expect(helper(GATEWAY)).toEqual({ code: 0, out: `${TOKEN}\n`, err: '', fallback: [] });
    // A trailing slash names the same gateway; no argument means the last login's gateway.
    expect(helper(`${GATEWAY}/`).out).toBe(`${TOKEN}\n`);
    expect(helper().out).toBe(`${TOKEN}\n`);
    expect(helper().fallback).toEqual([]);
  });

  test('within the margin, the Node command runs with the gateway and margin (and no token in its arguments or environment)', () => {
    save(200);
    expect(helper(GATEWAY)).toEqual({ code: 0, out: 'from-node\n', err: '', fallback: [`token --min-valid 300 ${GATEWAY}|0`] });
    rmSync(probeLog);
    expect(helper('--min-valid', '100', GATEWAY).out).toBe(`${TOKEN}\n`);
    expect(helper('--min-valid=250', GATEWAY).fallback).toEqual([`token --min-valid 250 ${GATEWAY}|0`]);
    rmSync(probeLog);
    // Decimal, even with leading zeros (the shell's arithmetic would read 0250 as octal 168).
    expect(helper('--min-valid', '0250', GATEWAY).fallback).toEqual([`token --min-valid 250 ${GATEWAY}|0`]);
    rmSync(probeLog);
    expect(helper('--min-valid', '08', GATEWAY)).toMatchObject({ code: 0, out: `${TOKEN}\n`, fallback: [] });
  });

  test('no entry, no login, or a gateway it cannot name an entry for: the Node command decides', () => {
    expect(helper(GATEWAY).fallback).toEqual([`token --min-valid 300 ${GATEWAY}|0`]);
    rmSync(probeLog);
    expect(helper().fallback).toEqual(['token --min-valid 300|0']); // no default gateway either
    rmSync(probeLog);
    save(3600, TOKEN, 'http://[::1]:8080');
    expect(tokenEntryName('http://[::1]:8080')).toBeUndefined();
    expect(helper('http://[::1]:8080').fallback).toEqual(['token --min-valid 300 http://[::1]:8080|0']);
    rmSync(probeLog);
    expect(helper('--min-valid', 'soon', GATEWAY)).toMatchObject({ code: 2, out: '', fallback: [] });
  });

  test('an entry not exactly as written is never printed: header, expiry, token characters, truncation', () => {
    const later = now() + 3600;
    const marker = join(home, 'evaluated');
    for (const text of [
      `gatehouse-token 2\n${later}\n${TOKEN}\n`,
      `gatehouse-token 1\n${later}x\n${TOKEN}\n`,
      `gatehouse-token 1\n1+${later}\n${TOKEN}\n`,
      `gatehouse-token 1\n${later}\n$(touch ${marker})\n`,
      `gatehouse-token 1\n${later}\n${TOKEN} extra\n`,
      `gatehouse-token 1\n${later}\n`,
      `gatehouse-token 1\n${later}\n${TOKEN}`, // no final newline: a torn write
      '',
    ]) {
      save(3600);
      writeFileSync(entry(), text);
      const r = helper(GATEWAY);
      expect({ text, out: r.out, fallback: r.fallback.length }).toEqual({ text, out: 'from-node\n', fallback: 1 });
      rmSync(probeLog);
    }
    expect(existsSync(marker)).toBe(false);
  });

  test('a file or directory others could read or swap is refused with a warning: group/world modes, a link, another owner', () => {
    save(3600);
    const refused = (what: RegExp) => {
      const r = helper(GATEWAY);
      expect(r.out).toBe('from-node\n');
      expect(r.err).toMatch(what);
      expect(r.err).not.toContain(TOKEN);
      rmSync(probeLog);
    };
    chmodSync(entry(), 0o644);
    refused(/ignoring .*\.tok: not a file only you can read/);
    chmodSync(entry(), 0o600);
    chmodSync(tokensDir(env), 0o750);
    refused(/ignoring .*tokens: not a directory only you can use/);
    chmodSync(tokensDir(env), 0o700);
    // A link to another (even well-formed, 0600) file of the user's.
    const other = join(home, 'other.tok');
    writeFileSync(other, readFileSync(entry()), { mode: 0o600 });
    rmSync(entry());
    symlinkSync(other, entry());
    refused(/not a file only you can read/);
    rmSync(entry());
    save(3600);
    expect(helper(GATEWAY).out).toBe(`${TOKEN}\n`);
    if (process.getuid?.() === 0) {
      // As root, the ownership check is testable: a file owned by someone else is refused.
      chownSync(entry(), 65534, 65534);
      refused(/not a file only you can read/);
    }
  });

  test('the Node command repairs an entry it serves around, and logout removes it', async () => {
    save(3600);
    chmodSync(entry(), 0o644);
    writeFileSync(entry(), 'stale');
    const out: string[] = [];
    expect(await tokenCommand([GATEWAY], { out: (l) => out.push(l), err: () => undefined }, { env })).toBe(0);
    expect(out).toEqual([TOKEN]);
    expect(statSync(entry()).mode & 0o777).toBe(0o600);
    expect(helper(GATEWAY)).toMatchObject({ out: `${TOKEN}\n`, fallback: [] });
    // A login from before the helper existed (no entry): the first `gatehouse token` writes one.
    rmSync(entry());
    expect(await tokenCommand([GATEWAY], { out: () => undefined, err: () => undefined }, { env })).toBe(0);
    expect(helper(GATEWAY).out).toBe(`${TOKEN}\n`);
    expect(removeLogins(GATEWAY, env)).toBe(1);
    expect(existsSync(entry())).toBe(false);
  });
});

test('entry names: one per gateway, and two gateways never share one', () => {
  expect(tokenEntryName('https://gw.example.com:8443/team')).toBe('https+__gw.example.com+8443_team.tok');
  const names = ['http://a:1', 'http://a/1', 'http://a1', 'https://a:1', 'http://a.1'].map(tokenEntryName);
  expect(new Set(names).size).toBe(names.length);
  for (const odd of ['http://a_b', 'http://a+b', 'http://[::1]', 'file:///x', `https://${'a'.repeat(200)}`]) expect(tokenEntryName(odd)).toBeUndefined();
});
