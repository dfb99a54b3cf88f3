import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importJWK, jwtVerify } from 'jose';
import { main } from '../../../gateway/src/main';
import type { CommandIO } from '../../../gateway/src/cli/io';
import { loadDevIssuer } from '../../../gateway/src/identity/dev-issuer';

function capture(): { io: CommandIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (l) => (out += `${l}\n`), err: (l) => (err += `${l}\n`) }, out: () => out, err: () => err };
}

describe('gatehouse token --dev', () => {
  let dir: string;
  let config: string;
  let keyPath: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-token-'));
    keyPath = join(dir, 'issuer', 'dev-issuer.json');
    config = join(dir, 'gatehouse.yaml');
    writeFileSync(
      config,
      `mode: development
listeners:
  http: { port: 0, allowPlaintext: true }
  admin: { port: 0, allowPlaintext: true }
identity:
  devIssuer: { enabled: true, keyPath: ${keyPath} }
policy:
  cedar: 'permit (principal, action, resource);'
`,
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('without the issuer key a gateway created, it refuses clearly and creates no key of its own', async () => {
    const c = capture();
    expect(await main(['token', '--dev', '--config', config], c.io)).toBe(1);
    expect(c.out()).toBe('');
    expect(c.err()).toContain('GH_ERR_DEV_ISSUER_UNAVAILABLE');
    expect(c.err()).toContain(`no development issuer key at ${keyPath}`);
    expect(existsSync(keyPath)).toBe(false);
  });

  test('without any configuration and no key in ./.gatehouse, it refuses too', async () => {
    const cwd = process.cwd();
    const saved = process.env.GATEHOUSE_CONFIG;
    delete process.env.GATEHOUSE_CONFIG;
    process.chdir(dir);
    try {
      const c = capture();
      expect(await main(['token', '--dev'], c.io)).toBe(1);
      expect(c.err()).toContain('GH_ERR_DEV_ISSUER_UNAVAILABLE');
      expect(existsSync(join(dir, '.gatehouse'))).toBe(false);
    } finally {
      process.chdir(cwd);
      if (saved !== undefined) process.env.GATEHOUSE_CONFIG = saved;
    }
  });

  test('once the gateway has created its issuer key, the token verifies against that key', async () => {
    const issuer = await loadDevIssuer(keyPath); // what a starting gateway does
    const c = capture();
    expect(await main(['token', '--dev', '--sub', 'ada', '--groups', 'developers,ops', '--config', config], c.io)).toBe(0);
    const { payload } = await jwtVerify(c.out().trim(), await importJWK(issuer.publicJwk), { issuer: issuer.issuer, audience: 'gatehouse' });
    expect(payload).toMatchObject({ sub: 'ada', groups: ['developers', 'ops'] });
  });
});
