import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { configSchema } from '../../../gateway/src/config/schema';
import { GatehouseError } from '../../../gateway/src/errors';
import { mintDevToken } from '../../../gateway/src/identity/dev-issuer';
import { identityVerifierFromConfig } from '../../../gateway/src/identity/from-config';
import { startTestIssuer } from '../../support/oidc-issuer';
import type { TestIssuer } from '../../support/oidc-issuer';

let dir: string;
let idp: TestIssuer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-identity-config-'));
  idp = await startTestIssuer();
});
afterAll(async () => {
  await idp.close();
  await rm(dir, { recursive: true, force: true });
});

function config(mode: 'development' | 'production', devEnabled: boolean, issuers: unknown[] = []) {
  return configSchema.parse({
    mode,
    identity: { issuers, devIssuer: { enabled: devEnabled, keyPath: join(dir, 'dev.json'), audience: 'gatehouse' } },
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    return (error as GatehouseError).code;
  }
  throw new Error('expected a refusal');
}

describe('identityVerifierFromConfig', () => {
  it('trusts configured issuers and, in development, the dev issuer', async () => {
    const verifier = await identityVerifierFromConfig(
      config('development', true, [{ name: 'corp', issuer: idp.issuer, audiences: ['gatehouse'] }]),
    );
    const dev = await mintDevToken({ subject: 'alice', groups: ['developers'], keyPath: join(dir, 'dev.json') });
    await expect(verifier.verify(dev)).resolves.toMatchObject({ kind: 'dev', groups: ['developers'] });
    await expect(verifier.verify(await idp.mintToken({ sub: 'bob' }))).resolves.toMatchObject({ issuerName: 'corp', subject: 'bob' });
    verifier.close();
  });

  it('refuses an enabled dev issuer in production mode', async () => {
    const issuers = [{ name: 'corp', issuer: idp.issuer, audiences: ['gatehouse'] }];
    expect(await codeOf(identityVerifierFromConfig(config('production', true, issuers)))).toBe('GH_ERR_DEV_ISSUER_IN_PRODUCTION');
  });

  it('does not trust dev tokens when the dev issuer is disabled', async () => {
    const verifier = await identityVerifierFromConfig(
      config('development', false, [{ name: 'corp', issuer: idp.issuer, audiences: ['gatehouse'] }]),
    );
    const dev = await mintDevToken({ subject: 'alice', keyPath: join(dir, 'dev.json') });
    expect(await codeOf(verifier.verify(dev))).toBe('GH_ERR_TOKEN_ISSUER');
  });

  it('refuses a production configuration that trusts no issuer', async () => {
    expect(await codeOf(identityVerifierFromConfig(config('production', false)))).toBe('GH_ERR_CONFIG_INVALID');
  });
});

describe('warmUp', () => {
  it('reports which issuers answered, without throwing', async () => {
    const down = await startTestIssuer();
    await down.close();
    const warnings: string[] = [];
    const verifier = await identityVerifierFromConfig(
      config('production', false, [
        { name: 'corp', issuer: idp.issuer, audiences: ['gatehouse'] },
        { name: 'gone', issuer: down.issuer, audiences: ['gatehouse'] },
      ]),
      { logger: { debug: () => undefined, info: () => undefined, warn: (_f, m) => void warnings.push(m) } },
    );
    await expect(verifier.warmUp()).resolves.toEqual([
      { issuer: 'corp', ok: true },
      { issuer: 'gone', ok: false, code: 'GH_ERR_ISSUER_UNAVAILABLE' },
    ]);
    expect(warnings).toHaveLength(1);
  });
});
