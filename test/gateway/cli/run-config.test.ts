import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../gateway/src/main';
import type { CommandIO } from '../../../gateway/src/cli/io';
import { resolveConfig } from '../../../gateway/src/cli/commands/run';
import { isGatehouseError } from '../../../gateway/src/errors';

const DEV = `mode: development
listeners:
  http: { port: 0, allowPlaintext: true }
  admin: { port: 0, allowPlaintext: true }
identity:
  devIssuer: { enabled: true, keyPath: ./.gatehouse/dev-issuer.json }
policy:
  cedar: 'permit (principal, action, resource);'
`;
const PRODUCTION = `mode: production
listeners:
  http: { address: 0.0.0.0, port: 0, allowPlaintext: true }
  admin: { port: 0, allowPlaintext: true }
identity:
  issuers: [{ name: corp, issuer: "https://idp.example.com", audiences: [gatehouse] }]
recording:
  signingKey: "file:/run/secrets/signing-key"
policy:
  cedar: 'permit (principal, action, resource);'
`;

/** `run` (and every command that falls back to ./.gatehouse/dev.yaml) without --config. */
describe('a configuration nobody named is used only in a development directory', () => {
  let dir: string;
  const cwd = process.cwd();
  const saved = { c: process.env.GATEHOUSE_CONFIG, y: process.env.GATEHOUSE_CONFIG_YAML };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-devdir-'));
    delete process.env.GATEHOUSE_CONFIG;
    delete process.env.GATEHOUSE_CONFIG_YAML;
    process.chdir(dir);
  });
  afterEach(() => {
    process.chdir(cwd);
    if (saved.c !== undefined) process.env.GATEHOUSE_CONFIG = saved.c;
    if (saved.y !== undefined) process.env.GATEHOUSE_CONFIG_YAML = saved.y;
    rmSync(dir, { recursive: true, force: true });
  });

  function devDir(text = DEV, fileMode = 0o600, dirMode = 0o700): void {
    mkdirSync(join(dir, '.gatehouse'), { mode: dirMode });
    chmodSync(join(dir, '.gatehouse'), dirMode);
    writeFileSync(join(dir, '.gatehouse/dev.yaml'), text, { mode: fileMode });
    chmodSync(join(dir, '.gatehouse/dev.yaml'), fileMode);
  }

  function refusal(): { code?: string; message: string } {
    try {
      resolveConfig(undefined);
    } catch (e) {
      return { code: isGatehouseError(e) ? e.code : undefined, message: (e as Error).message };
    }
    throw new Error('resolveConfig accepted the directory');
  }

  test('a directory `gatehouse dev` made is one', () => {
    devDir();
    expect(resolveConfig(undefined)).toMatchObject({ origin: './.gatehouse/dev.yaml', config: { mode: 'development' } });
  });

  test('an empty directory is not: run refuses with GH_ERR_CONFIG_MISSING', async () => {
    let err = '';
    const io: CommandIO = { out: () => {}, err: (l) => (err += l) };
    expect(await main(['run'], io)).toBe(1);
    expect(err).toContain('[GH_ERR_CONFIG_MISSING]');
    expect(err).toContain('.gatehouse does not exist');
  });

  test('a production configuration left in .gatehouse/dev.yaml is not started implicitly', () => {
    devDir(PRODUCTION);
    expect(refusal()).toMatchObject({ code: 'GH_ERR_CONFIG_MISSING', message: expect.stringContaining('not a development configuration (mode: production)') });
  });

  test('a dev.yaml writable by others is refused', () => {
    devDir(DEV, 0o666);
    expect(refusal()).toMatchObject({ code: 'GH_ERR_CONFIG_MISSING', message: expect.stringContaining('dev.yaml is writable by group or others') });
  });

  test('a .gatehouse directory writable by others is refused', () => {
    devDir(DEV, 0o600, 0o777);
    expect(refusal()).toMatchObject({ code: 'GH_ERR_CONFIG_MISSING', message: expect.stringContaining('.gatehouse is writable by group or others') });
  });

  test('a dev.yaml that links to another configuration is refused', () => {
    mkdirSync(join(dir, '.gatehouse'), { mode: 0o700 });
    writeFileSync(join(dir, 'elsewhere.yaml'), DEV, { mode: 0o600 });
    symlinkSync(join(dir, 'elsewhere.yaml'), join(dir, '.gatehouse/dev.yaml'));
    expect(refusal()).toMatchObject({ code: 'GH_ERR_CONFIG_MISSING', message: expect.stringContaining('dev.yaml is a symbolic link') });
  });

  test('an explicit configuration (--config, GATEHOUSE_CONFIG) is used wherever it is', () => {
    writeFileSync(join(dir, 'prod.yaml'), PRODUCTION);
    expect(resolveConfig(join(dir, 'prod.yaml')).config.mode).toBe('production');
    process.env.GATEHOUSE_CONFIG = join(dir, 'prod.yaml');
    expect(resolveConfig(undefined).config.mode).toBe('production');
  });
});
