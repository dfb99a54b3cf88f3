import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { GatehouseError } from '../../../gateway/src/errors';
import {
  assertDevIssuerAllowed,
  DEV_ISSUER,
  loadDevIssuer,
  mintDevToken,
} from '../../../gateway/src/identity/dev-issuer';
import { createIdentityVerifier } from '../../../gateway/src/identity/verifier';

let dir: string;
let keyPath: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-dev-issuer-'));
  keyPath = join(dir, 'nested', 'dev-issuer.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    return (error as GatehouseError).code;
  }
  throw new Error('expected a refusal');
}

describe('local development issuer', () => {
  it('round trip: a minted dev token verifies to a dev principal with its groups', async () => {
    const token = await mintDevToken({ subject: 'alice', groups: ['developers', 'gatehouse-admins'], audience: 'gatehouse', ttlSeconds: 600, keyPath });
    const dev = await loadDevIssuer(keyPath);
    const verifier = createIdentityVerifier({ issuers: [], devIssuer: { ...dev, audience: 'gatehouse' }, mode: 'development' });
    const principal = await verifier.verify(token);
    expect(principal).toMatchObject({
      issuer: DEV_ISSUER,
      issuerName: 'dev',
      subject: 'alice',
      name: 'alice',
      groups: ['developers', 'gatehouse-admins'],
      kind: 'dev',
    });
    expect(principal.tokenId).toBe(decodeJwt(token).jti);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'EdDSA', kid: dev.publicJwk.kid });
    verifier.close();
  });

  it('persists the key pair in a 0600 file and reuses it', async () => {
    const first = await loadDevIssuer(keyPath);
    expect((await stat(keyPath)).mode & 0o777).toBe(0o600);
    const second = await loadDevIssuer(keyPath);
    expect(second.publicJwk).toEqual(first.publicJwk);
    expect(first.publicJwk).not.toHaveProperty('d');
    expect(JSON.parse(await readFile(keyPath, 'utf8')).privateJwk).toHaveProperty('d');
  });

  it('refuses a key file that other users can read', async () => {
    await loadDevIssuer(keyPath);
    await chmod(keyPath, 0o644);
    expect(await codeOf(loadDevIssuer(keyPath))).toBe('GH_ERR_CONFIG_INVALID');
    expect(await codeOf(mintDevToken({ subject: 'a', keyPath }))).toBe('GH_ERR_CONFIG_INVALID');
  });

  it('refuses a corrupt key file', async () => {
    await loadDevIssuer(keyPath);
    await writeFile(keyPath, '{"version":1}', { mode: 0o600 });
    expect(await codeOf(loadDevIssuer(keyPath))).toBe('GH_ERR_CONFIG_UNREADABLE');
  });

  it('dev tokens are refused by a verifier that was not given the dev issuer', async () => {
    const token = await mintDevToken({ subject: 'alice', keyPath });
    const verifier = createIdentityVerifier({ issuers: [] });
    expect(await codeOf(verifier.verify(token))).toBe('GH_ERR_TOKEN_ISSUER');
  });

  it('dev tokens signed with another dev key are refused', async () => {
    const otherKeyPath = join(dir, 'other.json');
    const token = await mintDevToken({ subject: 'alice', keyPath: otherKeyPath });
    const dev = await loadDevIssuer(keyPath);
    const verifier = createIdentityVerifier({ issuers: [], devIssuer: { ...dev, audience: 'gatehouse' } });
    expect(await codeOf(verifier.verify(token))).toBe('GH_ERR_TOKEN_KEY_UNKNOWN');
  });

  it('dev tokens for another audience, or expired, are refused', async () => {
    const dev = await loadDevIssuer(keyPath);
    let clock = Date.now();
    const verifier = createIdentityVerifier({ issuers: [], devIssuer: { ...dev, audience: 'gatehouse' }, now: () => clock });
    const otherAudience = await mintDevToken({ subject: 'alice', audience: 'elsewhere', keyPath });
    expect(await codeOf(verifier.verify(otherAudience))).toBe('GH_ERR_TOKEN_AUDIENCE');
    const shortLived = await mintDevToken({ subject: 'alice', ttlSeconds: 60, keyPath });
    await expect(verifier.verify(shortLived)).resolves.toBeDefined();
    clock += 200_000;
    expect(await codeOf(verifier.verify(shortLived))).toBe('GH_ERR_TOKEN_EXPIRED');
  });

  it('refuses to trust a private key as the dev issuer key', async () => {
    await loadDevIssuer(keyPath);
    const { privateJwk } = JSON.parse(await readFile(keyPath, 'utf8'));
    expect(() => createIdentityVerifier({ issuers: [], devIssuer: { publicJwk: privateJwk, issuer: DEV_ISSUER, audience: 'gatehouse' } })).toThrow(
      expect.objectContaining({ code: 'GH_ERR_CONFIG_INVALID' }),
    );
  });

  it('refuses silly lifetimes', async () => {
    expect(await codeOf(mintDevToken({ subject: 'a', ttlSeconds: 0, keyPath }))).toBe('GH_ERR_REQUEST_INVALID');
    expect(await codeOf(mintDevToken({ subject: 'a', ttlSeconds: 10 * 24 * 3600, keyPath }))).toBe('GH_ERR_REQUEST_INVALID');
  });
});

describe('dev issuer in production mode', () => {
  it('assertDevIssuerAllowed throws GH_ERR_DEV_ISSUER_IN_PRODUCTION in production and passes in development', () => {
    expect(() => assertDevIssuerAllowed('production')).toThrow(expect.objectContaining({ code: 'GH_ERR_DEV_ISSUER_IN_PRODUCTION' }));
    expect(() => assertDevIssuerAllowed('development')).not.toThrow();
  });

  it('a verifier told it runs in production refuses to trust the dev issuer', async () => {
    const dev = await loadDevIssuer(keyPath);
    expect(() => createIdentityVerifier({ issuers: [], devIssuer: { ...dev, audience: 'gatehouse' }, mode: 'production' })).toThrow(
      expect.objectContaining({ code: 'GH_ERR_DEV_ISSUER_IN_PRODUCTION' }),
    );
  });
});
