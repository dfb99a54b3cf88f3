import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createPublicKey } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { issuerSchema } from '../../../gateway/src/config/schema';
import type { IssuerConfig } from '../../../gateway/src/config/schema';
import { GatehouseError } from '../../../gateway/src/errors';
import type { ErrorCode } from '../../../gateway/src/errors';
import { createIdentityVerifier } from '../../../gateway/src/identity/verifier';
import type { IdentityVerifierOptions } from '../../../gateway/src/identity/verifier';
import { startTestIssuer } from '../../support/oidc-issuer';
import type { TestIssuer } from '../../support/oidc-issuer';

function configFor(idp: TestIssuer, overrides: Partial<Record<keyof IssuerConfig, unknown>> = {}): IssuerConfig {
  return issuerSchema.parse({ name: 'corp', issuer: idp.issuer, audiences: ['gatehouse'], ...overrides });
}

/** Real fetch, observed: lets a test count how often the verifier went to the issuer. */
function observedFetch(): { fetch: typeof fetch; urls: string[]; jwksFetches(): number } {
  const urls: string[] = [];
  return {
    urls,
    fetch: (input, init) => {
      urls.push(String(input));
      return fetch(input, init);
    },
    jwksFetches: () => urls.filter((u) => u.endsWith('/jwks')).length,
  };
}

/** A controllable clock in milliseconds, starting at the real time (tokens are minted with it). */
function manualClock(): { now: () => number; advanceSeconds(seconds: number): void } {
  let ms = Date.now();
  return { now: () => ms, advanceSeconds: (s) => void (ms += s * 1000) };
}

async function refusal(promise: Promise<unknown>): Promise<GatehouseError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    return error as GatehouseError;
  }
  throw new Error('expected the token to be refused, but it was accepted');
}

async function expectRefused(promise: Promise<unknown>, code: ErrorCode, token?: string): Promise<GatehouseError> {
  const error = await refusal(promise);
  expect(error.code).toBe(code);
  if (token !== undefined && token.length > 8) {
    expect(error.message).not.toContain(token);
    expect(JSON.stringify(error.details ?? {})).not.toContain(token);
  }
  return error;
}

const verifiers: Array<{ close(): void }> = [];
function verifierFor(options: IdentityVerifierOptions) {
  const verifier = createIdentityVerifier(options);
  verifiers.push(verifier);
  return verifier;
}
afterEach(() => {
  for (const v of verifiers.splice(0)) v.close();
});

describe('identity verifier against a real oidc-provider', () => {
  let idp: TestIssuer;
  beforeAll(async () => {
    idp = await startTestIssuer();
  });
  afterAll(async () => {
    await idp.close();
  });

  it('accepts a valid token and maps it to a principal with groups, name and jti', async () => {
    const verifier = verifierFor({ issuers: [configFor(idp)] });
    const token = await idp.mintToken({ sub: 'alice', email: 'alice@acme.example', groups: ['dev', 'oncall'], jti: 'token-123' });
    const principal = await verifier.verify(token);
    expect(principal).toEqual({
      issuer: idp.issuer,
      issuerName: 'corp',
      subject: 'alice',
      name: 'alice@acme.example',
      groups: ['dev', 'oncall'],
      kind: 'human',
      expiresAt: expect.any(Number),
      tokenId: 'token-123',
    });
  });

  it('derives tokenId from a SHA-256 of the token when there is no jti, and falls back name → preferred_username → sub', async () => {
    const verifier = verifierFor({ issuers: [configFor(idp)] });
    const token = await idp.mintToken({ sub: 'bob', preferred_username: 'bobby' });
    const principal = await verifier.verify(token);
    const { createHash } = await import('node:crypto');
    expect(principal.tokenId).toBe(createHash('sha256').update(token).digest('hex').slice(0, 16));
    expect(principal.name).toBe('bobby');
    expect(principal.groups).toEqual([]);
    expect((await verifier.verify(await idp.mintToken({ sub: 'carol' }))).name).toBe('carol');
  });

  it('accepts a client_credentials JWT access token genuinely issued by oidc-provider', async () => {
    const verifier = verifierFor({ issuers: [configFor(idp, { audiences: ['https://gatehouse.test'], kind: 'workload' })] });
    const token = await idp.issueClientCredentialsToken({ groups: ['deployers'] });
    const principal = await verifier.verify(token);
    expect(principal.subject).toBe('gatehouse-test-client');
    expect(principal.groups).toEqual(['deployers']);
    expect(principal.kind).toBe('workload');
  });

  describe('groups claim is configurable', () => {
    it('reads groups from the configured claim name', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp, { groupsClaim: 'roles' })] });
      const token = await idp.mintToken({ roles: ['admin'], groups: ['ignored'] });
      expect((await verifier.verify(token)).groups).toEqual(['admin']);
    });

    it('splits a space-separated string claim', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp, { groupsClaim: 'scope' })] });
      expect((await verifier.verify(await idp.mintToken({ scope: 'read  write deploy' }))).groups).toEqual(['read', 'write', 'deploy']);
    });

    it('reads a nested claim by dot path when no claim has that exact name', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp, { groupsClaim: 'realm_access.roles' })] });
      expect((await verifier.verify(await idp.mintToken({ realm_access: { roles: ['ops'] } }))).groups).toEqual(['ops']);
    });

    it('treats a missing groups claim as no groups', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp, { groupsClaim: 'roles' })] });
      expect((await verifier.verify(await idp.mintToken({}))).groups).toEqual([]);
    });

    it('refuses a groups claim that is not strings', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp)] });
      const token = await idp.mintToken({ groups: ['ok', 42] });
      await expectRefused(verifier.verify(token), 'GH_ERR_TOKEN_CLAIMS', token);
    });
  });

  describe('time checks', () => {
    it('refuses an expired token', async () => {
      const clock = manualClock();
      const verifier = verifierFor({ issuers: [configFor(idp, { clockSkewSeconds: 0 })], now: clock.now });
      const token = await idp.mintToken({}, { ttlSeconds: 60 });
      await expect(verifier.verify(token)).resolves.toBeDefined();
      clock.advanceSeconds(61);
      await expectRefused(verifier.verify(token), 'GH_ERR_TOKEN_EXPIRED', token);
    });

    it('refuses a token whose nbf is in the future', async () => {
      const now = Math.floor(Date.now() / 1000);
      const verifier = verifierFor({ issuers: [configFor(idp, { clockSkewSeconds: 10 })] });
      const token = await idp.mintToken({ nbf: now + 120 });
      await expectRefused(verifier.verify(token), 'GH_ERR_TOKEN_NOT_YET_VALID', token);
    });

    it('refuses a token issued in the future (iat ahead of our clock)', async () => {
      const now = Math.floor(Date.now() / 1000);
      const verifier = verifierFor({ issuers: [configFor(idp, { clockSkewSeconds: 10 })] });
      const token = await idp.mintToken({ iat: now + 120, exp: now + 600 });
      await expectRefused(verifier.verify(token), 'GH_ERR_TOKEN_NOT_YET_VALID', token);
    });

    it('accepts clock skew within the bound and refuses beyond it (exp)', async () => {
      const clock = manualClock();
      const verifier = verifierFor({ issuers: [configFor(idp, { clockSkewSeconds: 60 })], now: clock.now });
      const token = await idp.mintToken({}, { ttlSeconds: 100 });
      clock.advanceSeconds(100 + 59);
      await expect(verifier.verify(token)).resolves.toBeDefined();
      clock.advanceSeconds(2);
      await expectRefused(verifier.verify(token), 'GH_ERR_TOKEN_EXPIRED', token);
    });

    it('accepts clock skew within the bound and refuses beyond it (nbf)', async () => {
      const now = Math.floor(Date.now() / 1000);
      const clock = manualClock();
      const verifier = verifierFor({ issuers: [configFor(idp, { clockSkewSeconds: 60 })], now: clock.now });
      const within = await idp.mintToken({ nbf: now + 50, iat: now + 50 });
      const beyond = await idp.mintToken({ nbf: now + 70 });
      await expect(verifier.verify(within)).resolves.toBeDefined();
      await expectRefused(verifier.verify(beyond), 'GH_ERR_TOKEN_NOT_YET_VALID', beyond);
    });

    it('refuses a token without exp', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp)] });
      const token = await idp.mintToken({ exp: undefined });
      await expectRefused(verifier.verify(token), 'GH_ERR_TOKEN_CLAIMS', token);
    });
  });

  describe('issuer and audience', () => {
    it('refuses a token for another audience', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp, { audiences: ['gatehouse', 'gatehouse-staging'] })] });
      const wrong = await idp.mintToken({ aud: 'some-other-api' });
      await expectRefused(verifier.verify(wrong), 'GH_ERR_TOKEN_AUDIENCE', wrong);
      const missing = await idp.mintToken({ aud: undefined });
      await expectRefused(verifier.verify(missing), 'GH_ERR_TOKEN_AUDIENCE', missing);
    });

    it('accepts a token when any of its audiences is configured', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp, { audiences: ['gatehouse-staging'] })] });
      await expect(verifier.verify(await idp.mintToken({ aud: ['x', 'gatehouse-staging'] }))).resolves.toBeDefined();
    });

    it('refuses a token from an untrusted issuer without contacting it', async () => {
      const observed = observedFetch();
      const verifier = verifierFor({ issuers: [configFor(idp)], fetch: observed.fetch });
      const foreign = await idp.mintToken({ iss: 'https://evil.example' });
      await expectRefused(verifier.verify(foreign), 'GH_ERR_TOKEN_ISSUER', foreign);
      const missing = await idp.mintToken({ iss: undefined });
      await expectRefused(verifier.verify(missing), 'GH_ERR_TOKEN_ISSUER', missing);
      expect(observed.urls).toEqual([]);
    });

    it('requires the exact issuer string (a trailing slash is another issuer)', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp)] });
      const token = await idp.mintToken({ iss: `${idp.issuer}/` });
      await expectRefused(verifier.verify(token), 'GH_ERR_TOKEN_ISSUER', token);
    });

    it('refuses a token without sub', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp)] });
      const token = await idp.mintToken({ sub: undefined });
      await expectRefused(verifier.verify(token), 'GH_ERR_TOKEN_CLAIMS', token);
    });
  });

  describe('algorithms and signatures', () => {
    it('refuses alg "none" before fetching any key', async () => {
      const observed = observedFetch();
      const verifier = verifierFor({ issuers: [configFor(idp)], fetch: observed.fetch });
      const valid = await idp.mintToken({ groups: ['admin'] });
      const [, body] = valid.split('.');
      for (const alg of ['none', 'None', 'NONE']) {
        const header = Buffer.from(JSON.stringify({ alg, typ: 'JWT' })).toString('base64url');
        const unsigned = `${header}.${body}.`;
        await expectRefused(verifier.verify(unsigned), 'GH_ERR_TOKEN_ALGORITHM', unsigned);
      }
      expect(observed.urls).toEqual([]);
    });

    it('refuses HS256 signed with the issuer public key bytes (algorithm confusion)', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp)] });
      const jwk = idp.publicJwks().keys[0];
      const pem = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      const now = Math.floor(Date.now() / 1000);
      const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: jwk.kid })).toString('base64url');
      const payload = Buffer.from(
        JSON.stringify({ iss: idp.issuer, sub: 'mallory', aud: 'gatehouse', iat: now, exp: now + 300, groups: ['admin'] }),
      ).toString('base64url');
      for (const secret of [pem, Buffer.from(JSON.stringify(jwk))]) {
        const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
        const forged = `${header}.${payload}.${signature}`;
        await expectRefused(verifier.verify(forged), 'GH_ERR_TOKEN_ALGORITHM', forged);
      }
    });

    it('refuses an algorithm outside the issuer allow-list', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp, { algorithms: ['ES256'] })] });
      const token = await idp.mintToken({}); // RS256
      await expectRefused(verifier.verify(token), 'GH_ERR_TOKEN_ALGORITHM', token);
    });

    it('refuses a token whose header alg differs from the algorithm its key is published for', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp, { algorithms: ['RS256', 'RS512'] })], unknownKeyRefetchSeconds: 0 });
      const token = await idp.mintToken({}, { alg: 'RS512' });
      await expectRefused(verifier.verify(token), 'GH_ERR_TOKEN_KEY_UNKNOWN', token);
    });

    it('refuses a tampered payload that keeps the original signature', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp)] });
      const token = await idp.mintToken({ sub: 'alice', groups: ['dev'] });
      await expect(verifier.verify(token)).resolves.toBeDefined();
      const [header, body, signature] = token.split('.');
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      claims.groups = ['dev', 'gatehouse-admins'];
      const tampered = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
      await expectRefused(verifier.verify(tampered), 'GH_ERR_TOKEN_SIGNATURE', tampered);
    });

    it('refuses an unknown kid after one refetch of the JWKS', async () => {
      const observed = observedFetch();
      const verifier = verifierFor({ issuers: [configFor(idp)], fetch: observed.fetch, unknownKeyRefetchSeconds: 0 });
      await verifier.verify(await idp.mintToken({}));
      expect(observed.jwksFetches()).toBe(1);
      const token = await idp.mintToken({}, { kid: 'no-such-key' });
      await expectRefused(verifier.verify(token), 'GH_ERR_TOKEN_KEY_UNKNOWN', token);
      expect(observed.jwksFetches()).toBe(2);
    });

    it('finds the key by type when the token names no kid', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp)] });
      await expect(verifier.verify(await idp.mintToken({ sub: 'nokid' }, { kid: null }))).resolves.toMatchObject({ subject: 'nokid' });
    });
  });

  describe('garbage is refused as malformed, never crashes', () => {
    const verifier = () => verifierFor({ issuers: [configFor(idp)] });

    it.each([
      ['empty string', '', 'GH_ERR_TOKEN_MISSING'],
      ['whitespace', '   ', 'GH_ERR_TOKEN_MISSING'],
      ['two parts', 'a.b', 'GH_ERR_TOKEN_MALFORMED'],
      ['not base64url', '!!!.###.$$$', 'GH_ERR_TOKEN_MALFORMED'],
      ['base64 but not JSON', 'aGVsbG8.d29ybGQ.c2ln', 'GH_ERR_TOKEN_MALFORMED'],
      ['four parts', 'a.b.c.d', 'GH_ERR_TOKEN_MALFORMED'],
      ['JSON array payload', `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('[1]').toString('base64url')}.c2ln`, 'GH_ERR_TOKEN_MALFORMED'],
      ['huge', `${'a'.repeat(600_000)}.${'b'.repeat(600_000)}.c`, 'GH_ERR_TOKEN_MALFORMED'],
    ] as const)('%s', async (_label, token, code) => {
      await expectRefused(verifier().verify(token), code, token);
    });

    it('undefined token is missing', async () => {
      await expectRefused(verifier().verify(undefined as unknown as string), 'GH_ERR_TOKEN_MISSING');
    });
  });

  describe('subject rules for workload tokens', () => {
    const githubRules = {
      kind: 'workload',
      subjectRules: [
        { subject: 'repo:acme/api:ref:refs/heads/main', claims: { repository_owner: 'acme' }, groups: ['deploy-api'] },
        { subject: 'repo:acme/*:ref:refs/heads/*', groups: ['ci'] },
      ],
    };

    it('grants the groups of every matching rule', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp, githubRules)] });
      const token = await idp.mintToken({ sub: 'repo:acme/api:ref:refs/heads/main', repository_owner: 'acme' });
      const principal = await verifier.verify(token);
      expect(principal.groups).toEqual(['deploy-api', 'ci']);
      expect(principal.kind).toBe('workload');
    });

    it('requires extra claims to match exactly', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp, githubRules)] });
      const token = await idp.mintToken({ sub: 'repo:acme/api:ref:refs/heads/main', repository_owner: 'acme-evil' });
      expect((await verifier.verify(token)).groups).toEqual(['ci']);
    });

    it('refuses a subject that matches no rule', async () => {
      const verifier = verifierFor({ issuers: [configFor(idp, githubRules)] });
      for (const sub of ['repo:evil/api:ref:refs/heads/main', 'repo:acme/api:pull_request', 'xrepo:acme/api:ref:refs/heads/main']) {
        const token = await idp.mintToken({ sub });
        await expectRefused(verifier.verify(token), 'GH_ERR_TOKEN_SUBJECT_RULE', token);
      }
    });
  });
});

describe('several trusted issuers', () => {
  let first: TestIssuer;
  let second: TestIssuer;
  beforeAll(async () => {
    [first, second] = await Promise.all([startTestIssuer(), startTestIssuer({ alg: 'ES256' })]);
  });
  afterAll(async () => {
    await Promise.all([first.close(), second.close()]);
  });

  it('routes each token to its own issuer and verifies it with that issuer’s keys', async () => {
    const verifier = verifierFor({
      issuers: [
        configFor(first, { name: 'corp' }),
        configFor(second, { name: 'ci', audiences: ['gatehouse-ci'], algorithms: ['ES256'], kind: 'workload' }),
      ],
    });
    const fromFirst = await verifier.verify(await first.mintToken({ sub: 'alice' }));
    const fromSecond = await verifier.verify(await second.mintToken({ sub: 'job-1', aud: 'gatehouse-ci' }));
    expect(fromFirst).toMatchObject({ issuerName: 'corp', issuer: first.issuer, kind: 'human' });
    expect(fromSecond).toMatchObject({ issuerName: 'ci', issuer: second.issuer, kind: 'workload' });
  });

  it('refuses a token that claims one issuer but is signed by another', async () => {
    const verifier = verifierFor({
      issuers: [configFor(first, { name: 'corp', algorithms: ['RS256', 'ES256'] }), configFor(second, { name: 'ci', algorithms: ['ES256'] })],
    });
    const forged = await second.mintToken({ iss: first.issuer });
    await expectRefused(verifier.verify(forged), 'GH_ERR_TOKEN_KEY_UNKNOWN', forged);
    const forgedSameKid = await second.mintToken({ iss: first.issuer }, { kid: first.currentKid });
    await expectRefused(verifier.verify(forgedSameKid), 'GH_ERR_TOKEN_KEY_UNKNOWN', forgedSameKid);
  });

  it('refuses two trusted issuers with the same issuer URL', () => {
    expect(() => createIdentityVerifier({ issuers: [configFor(first, { name: 'a' }), configFor(first, { name: 'b' })] })).toThrow(
      expect.objectContaining({ code: 'GH_ERR_CONFIG_INVALID' }),
    );
  });
});

describe('JWKS cache, rotation and rate limiting', () => {
  let idp: TestIssuer;
  beforeAll(async () => {
    idp = await startTestIssuer();
  });
  afterAll(async () => {
    await idp.close();
  });

  it('accepts a token signed with a new key after refetching the JWKS', async () => {
    const clock = manualClock();
    const observed = observedFetch();
    const verifier = verifierFor({ issuers: [configFor(idp, { jwksCacheSeconds: 600 })], now: clock.now, fetch: observed.fetch });
    await verifier.verify(await idp.mintToken({}));
    await idp.rotateKeys({ keepPrevious: true });
    clock.advanceSeconds(31);
    const rotated = await idp.mintToken({ sub: 'after-rotation' });
    await expect(verifier.verify(rotated)).resolves.toMatchObject({ subject: 'after-rotation' });
    expect(observed.jwksFetches()).toBe(2);
  });

  it('refuses a token whose key was removed from the JWKS once the cache refreshes', async () => {
    const clock = manualClock();
    const verifier = verifierFor({ issuers: [configFor(idp, { jwksCacheSeconds: 60 })], now: clock.now });
    const old = await idp.mintToken({}, { ttlSeconds: 3600 });
    await expect(verifier.verify(old)).resolves.toBeDefined();
    await idp.rotateKeys({ keepPrevious: false });
    // Still cached: the old key is trusted until the cache lifetime is over.
    clock.advanceSeconds(30);
    await expect(verifier.verify(old)).resolves.toBeDefined();
    clock.advanceSeconds(31);
    await expectRefused(verifier.verify(old), 'GH_ERR_TOKEN_KEY_UNKNOWN', old);
    await expect(verifier.verify(await idp.mintToken({}))).resolves.toBeDefined();
  });

  it('verifyCached answers only for a token verified with the key set in use and valid now', async () => {
    const clock = manualClock();
    const verifier = verifierFor({ issuers: [configFor(idp, { jwksCacheSeconds: 100, clockSkewSeconds: 0 })], now: clock.now });
    const token = await idp.mintToken({}, { ttlSeconds: 300 });
    // Never verified: no shortcut.
    expect(verifier.verifyCached?.(token)).toBeUndefined();
    const principal = await verifier.verify(token);
    expect(verifier.verifyCached?.(token)).toBe(principal);
    // A refresh is due (80 % of the key set's lifetime): the full path must run.
    clock.advanceSeconds(81);
    expect(verifier.verifyCached?.(token)).toBeUndefined();
    // The refresh runs in the background; once it is in, the token is re-verified with the new set.
    await verifier.verify(token);
    await new Promise((r) => setTimeout(r, 200));
    const again = await verifier.verify(token);
    expect(again).toEqual(principal);
    expect(verifier.verifyCached?.(token)).toBe(again);
    // Expired: never from the shortcut; verify reports why.
    clock.advanceSeconds(300);
    expect(verifier.verifyCached?.(token)).toBeUndefined();
    await expectRefused(verifier.verify(token), 'GH_ERR_TOKEN_EXPIRED', token);
    // A tampered copy of a cached token is a different cache key.
    const [h, b, sig] = token.split('.');
    expect(verifier.verifyCached?.(`${h}.${b}.${sig!.slice(0, -2)}AA`)).toBeUndefined();
  });

  it('refreshes in the background before the cache expires, keeping the cached keys meanwhile', async () => {
    const clock = manualClock();
    const observed = observedFetch();
    const verifier = verifierFor({ issuers: [configFor(idp, { jwksCacheSeconds: 100 })], now: clock.now, fetch: observed.fetch });
    const token = await idp.mintToken({}, { ttlSeconds: 3600 });
    await verifier.verify(token);
    clock.advanceSeconds(85);
    await verifier.verify(token);
    // The background refresh completes on its own; wait for it without asserting on timing.
    for (let i = 0; i < 100 && observed.jwksFetches() < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(observed.jwksFetches()).toBe(2);
    clock.advanceSeconds(70); // 155 s after the first fetch but 70 s after the refresh: fresh, nothing to fetch
    await verifier.verify(token);
    expect(observed.jwksFetches()).toBe(2);
  });

  it('trusts a remembered signature only while the key set that verified it is current', async () => {
    const clock = manualClock();
    const verifier = verifierFor({ issuers: [configFor(idp, { jwksCacheSeconds: 60 })], now: clock.now });
    const token = await idp.mintToken({ sub: 'cached' }, { ttlSeconds: 3600 });
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'cached' });
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'cached' }); // remembered
    await idp.rotateKeys(); // the key that signed it is withdrawn
    clock.advanceSeconds(61);
    await expectRefused(verifier.verify(token), 'GH_ERR_TOKEN_KEY_UNKNOWN', token);
  });

  it('tries each candidate key when a token names no kid and the JWKS holds several', async () => {
    const clock = manualClock();
    const verifier = verifierFor({ issuers: [configFor(idp, { jwksCacheSeconds: 60 })], now: clock.now });
    const before = await idp.mintToken({ sub: 'no-kid' }, { kid: null, ttlSeconds: 3600 });
    await idp.rotateKeys({ keepPrevious: true });
    clock.advanceSeconds(61);
    // The JWKS now lists [new, old]: the new key fails, the old one verifies.
    await expect(verifier.verify(before)).resolves.toMatchObject({ subject: 'no-kid' });
    const [header, body] = before.split('.');
    const forged = `${header}.${body}.${Buffer.alloc(256, 1).toString('base64url')}`;
    await expectRefused(verifier.verify(forged), 'GH_ERR_TOKEN_SIGNATURE', forged);
  });

  it('rate-limits JWKS refetches triggered by unknown key ids', async () => {
    const clock = manualClock();
    const observed = observedFetch();
    const verifier = verifierFor({
      issuers: [configFor(idp)],
      now: clock.now,
      fetch: observed.fetch,
      unknownKeyRefetchSeconds: 30,
    });
    await verifier.verify(await idp.mintToken({}));
    expect(observed.jwksFetches()).toBe(1);
    clock.advanceSeconds(31);
    for (let i = 0; i < 25; i++) {
      const token = await idp.mintToken({}, { kid: `spray-${i}` });
      await expectRefused(verifier.verify(token), 'GH_ERR_TOKEN_KEY_UNKNOWN', token);
    }
    expect(observed.jwksFetches()).toBe(2);
    // Concurrent sprays share the same budget.
    clock.advanceSeconds(31);
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => idp.mintToken({}, { kid: `burst-${i}` })));
    await Promise.all(burst.map((t) => expectRefused(verifier.verify(t), 'GH_ERR_TOKEN_KEY_UNKNOWN', t)));
    expect(observed.jwksFetches()).toBe(3);
  });

  it('uses a configured jwksUri without discovery', async () => {
    const observed = observedFetch();
    const verifier = verifierFor({ issuers: [configFor(idp, { jwksUri: `${idp.issuer}/jwks` })], fetch: observed.fetch });
    await verifier.verify(await idp.mintToken({}));
    expect(observed.urls).toEqual([`${idp.issuer}/jwks`]);
  });
});

describe('issuer unavailable: fail closed', () => {
  it('refuses with GH_ERR_ISSUER_UNAVAILABLE when the issuer cannot be reached', async () => {
    const idp = await startTestIssuer();
    const token = await idp.mintToken({});
    await idp.close();
    const verifier = verifierFor({ issuers: [configFor(idp)] });
    await expectRefused(verifier.verify(token), 'GH_ERR_ISSUER_UNAVAILABLE', token);
  });

  it('refuses once the cached keys expire and the issuer is down', async () => {
    const idp = await startTestIssuer();
    const clock = manualClock();
    const verifier = verifierFor({ issuers: [configFor(idp, { jwksCacheSeconds: 60 })], now: clock.now });
    const token = await idp.mintToken({}, { ttlSeconds: 3600 });
    await expect(verifier.verify(token)).resolves.toBeDefined();
    await idp.close();
    clock.advanceSeconds(61);
    await expectRefused(verifier.verify(token), 'GH_ERR_ISSUER_UNAVAILABLE', token);
  });

  describe('with a misbehaving issuer endpoint', () => {
    let body = '';
    let status = 200;
    // A usable key set at /jwks, so only the discovery document's own fault can cause a refusal.
    let jwks = '';
    const server = createServer((req, res) =>
      res.writeHead(req.url === '/jwks' ? 200 : status, { 'content-type': 'application/json' }).end(req.url === '/jwks' ? jwks : body),
    );
    let base = '';
    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { publicKey } = await generateKeyPair('RS256');
      jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'RS256' }] });
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    const tokenFor = (issuer: string): string => {
      const now = Math.floor(Date.now() / 1000);
      const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      return `${enc({ alg: 'RS256', kid: 'k' })}.${enc({ iss: issuer, sub: 's', aud: 'gatehouse', exp: now + 60 })}.c2ln`;
    };
    const config = () => issuerSchema.parse({ name: 'odd', issuer: base, audiences: ['gatehouse'] });

    it('refuses when the discovery document names a different issuer', async () => {
      status = 200;
      body = JSON.stringify({ issuer: 'https://elsewhere.example', jwks_uri: `${base}/jwks` });
      const token = tokenFor(base);
      await expectRefused(verifierFor({ issuers: [config()] }).verify(token), 'GH_ERR_ISSUER_UNAVAILABLE', token);
    });

    it('refuses when discovery answers an error status', async () => {
      status = 500;
      body = '{}';
      const token = tokenFor(base);
      await expectRefused(verifierFor({ issuers: [config()] }).verify(token), 'GH_ERR_ISSUER_UNAVAILABLE', token);
    });

    it('verifies against the discovered JWKS when the document is right (control for the cases around it)', async () => {
      status = 200;
      body = JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks` });
      const token = tokenFor(base);
      await expectRefused(verifierFor({ issuers: [config()] }).verify(token), 'GH_ERR_TOKEN_SIGNATURE', token);
    });

    it('refuses when the JWKS is not a key set', async () => {
      status = 200;
      body = JSON.stringify({ issuer: base, jwks_uri: `${base}/not-jwks`, keys: 'nope' });
      const token = tokenFor(base);
      await expectRefused(verifierFor({ issuers: [config()] }).verify(token), 'GH_ERR_ISSUER_UNAVAILABLE', token);
    });
  });
});

describe('configuration guards', () => {
  it('refuses an issuer config that allows HMAC or none', () => {
    const config = { ...issuerSchema.parse({ name: 'x', issuer: 'https://idp.example', audiences: ['a'] }), algorithms: ['HS256'] };
    expect(() => createIdentityVerifier({ issuers: [config as unknown as IssuerConfig] })).toThrow(
      expect.objectContaining({ code: 'GH_ERR_CONFIG_INVALID' }),
    );
  });
});
