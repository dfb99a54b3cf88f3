import { createIamTokenSource, type IamToken } from '../../../gateway/src/state/iam-token';

/** The cache in front of the platform: which fetches happen when (the real SDK paths: iam-auth.test.ts). */
describe('IAM login tokens for the state database', () => {
  const MIN = 60_000;
  function fixture(lifeMs: number) {
    let clock = 1_000_000;
    let n = 0;
    let outage = false;
    const fetch = async (): Promise<IamToken> => {
      if (outage) throw new Error('identity endpoint refused: token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl leaked?');
      n++;
      return { token: `tok-${n}`, expiresAt: clock + lifeMs };
    };
    const source = createIamTokenSource('azure-entra', { fetch, now: () => clock });
    return {
      source,
      advance: (ms: number) => (clock += ms),
      fetches: () => n,
      setOutage: (v: boolean) => (outage = v),
    };
  }

  test('a token is reused until five minutes before it expires, then fetched anew', async () => {
    const f = fixture(60 * MIN);
    expect(await f.source.token()).toBe('tok-1');
    f.advance(54 * MIN);
    expect(await f.source.token()).toBe('tok-1');
    expect(f.fetches()).toBe(1);
    f.advance(1 * MIN + 1);
    expect(await f.source.token()).toBe('tok-2');
  });

  test('a short-lived token is refreshed at half its life', async () => {
    const f = fixture(4 * MIN);
    expect(await f.source.token()).toBe('tok-1');
    f.advance(2 * MIN - 1);
    expect(await f.source.token()).toBe('tok-1');
    f.advance(1);
    expect(await f.source.token()).toBe('tok-2');
  });

  test('connections opened together share one fetch', async () => {
    const f = fixture(60 * MIN);
    expect(await Promise.all([f.source.token(), f.source.token(), f.source.token()])).toEqual(['tok-1', 'tok-1', 'tok-1']);
    expect(f.fetches()).toBe(1);
  });

  test('an outage while the cached token is still valid keeps using it; once it has expired, GH_ERR_STATE_TOKEN_UNAVAILABLE, with no token text in the message', async () => {
    const f = fixture(60 * MIN);
    await f.source.token();
    f.setOutage(true);
    f.advance(57 * MIN); // past the refresh point, before expiry
    expect(await f.source.token()).toBe('tok-1');
    f.advance(3 * MIN);
    const e = await f.source.token().then(() => undefined, (err: unknown) => err);
    expect(e).toMatchObject({ code: 'GH_ERR_STATE_TOKEN_UNAVAILABLE', details: { iamAuth: 'azure-entra' } });
    expect((e as Error).message).not.toMatch(/eyJ|tok-1/);
    f.setOutage(false);
    expect(await f.source.token()).toBe('tok-2');
  });

  test('an empty or already expired token is refused', async () => {
    const empty = createIamTokenSource('gcp-cloudsql', { fetch: async () => ({ token: '', expiresAt: Date.now() + MIN }) });
    await expect(empty.token()).rejects.toMatchObject({ code: 'GH_ERR_STATE_TOKEN_UNAVAILABLE' });
    const stale = createIamTokenSource('gcp-cloudsql', { fetch: async () => ({ token: 'x', expiresAt: 5 }), now: () => 10 });
    await expect(stale.token()).rejects.toMatchObject({ code: 'GH_ERR_STATE_TOKEN_UNAVAILABLE' });
  });
});
