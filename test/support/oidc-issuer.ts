/**
 * A real OIDC issuer for tests: `oidc-provider` on 127.0.0.1 (port 0, plain http).
 *
 * Discovery (`/.well-known/openid-configuration`), the JWKS endpoint (`/jwks`) and the token
 * endpoint are served by the real provider. Tests mint tokens with `mintToken` (signed locally
 * with the provider's own current private key, so any claim or header can be shaped), or get a
 * genuinely issued `client_credentials` JWT access token with `issueClientCredentialsToken`.
 *
 *   const idp = await startTestIssuer();
 *   const token = await idp.mintToken({ sub: 'alice', groups: ['dev'] });   // aud 'gatehouse', 5 min
 *   ... verifier configured with { issuer: idp.issuer, audiences: ['gatehouse'] } ...
 *   await idp.rotateKeys();            // new key served at the same issuer URL
 *   await idp.close();
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import type { JSONWebKeySet, JWK, JWTPayload } from 'jose';
import Provider from 'oidc-provider';

export type TestSigningAlgorithm = 'RS256' | 'ES256';

export interface StartTestIssuerOptions {
  /** Algorithm of the signing key. @default 'RS256' */
  readonly alg?: TestSigningAlgorithm;
  /** Audience of tokens from `issueClientCredentialsToken` (must be an absolute URI). @default 'https://gatehouse.test' */
  readonly resource?: string;
  /**
   * Also act as a people's IdP for one browser client (authorization code + PKCE, public client):
   * oidc-provider's development login form accepts any login name (password ignored), consent is
   * implied, and the ID token carries `email`, `name` and `groups` from `accounts`.
   */
  readonly loginClient?: { readonly clientId: string; readonly redirectUri: string; readonly accounts: Readonly<Record<string, { readonly groups: readonly string[] }>> };
}

export interface MintTokenOptions {
  /** Header `alg` (the token is still signed with the current key's real algorithm unless `key` is given). */
  readonly alg?: string;
  /** Header `kid`. @default the current key's kid */
  readonly kid?: string | null;
  /** Lifetime used for the default `exp`. @default 300 */
  readonly ttlSeconds?: number;
  /** Extra protected header parameters. */
  readonly header?: Record<string, unknown>;
}

export interface TestIssuer {
  /** `http://127.0.0.1:<port>`: the exact `iss` of its tokens. */
  readonly issuer: string;
  /** kid of the key tokens are signed with now. */
  readonly currentKid: string;
  /**
   * Signs `claims` with the current private key. Defaults: iss = issuer, sub 'user-1',
   * aud 'gatehouse', iat now, exp now + ttl. A claim set to `undefined` is left out.
   */
  mintToken(claims?: JWTPayload, options?: MintTokenOptions): Promise<string>;
  /**
   * A JWT access token genuinely issued by oidc-provider's token endpoint (client_credentials
   * grant, resource indicators, `accessTokenFormat: 'jwt'`). Its `sub` is the client id
   * ('gatehouse-test-client'), `aud` the resource, and it carries `groups`.
   */
  issueClientCredentialsToken(options?: { groups?: readonly string[] }): Promise<string>;
  /**
   * Replaces the signing key and restarts the provider on the same URL. With `keepPrevious`
   * the old public key stays in the JWKS (an issuer's usual overlap); without it, it is gone.
   */
  rotateKeys(options?: { keepPrevious?: boolean }): Promise<void>;
  /** The public JWKS being served. */
  publicJwks(): JSONWebKeySet;
  close(): Promise<void>;
}

const CLIENT_ID = 'gatehouse-test-client';
const CLIENT_SECRET = 'gatehouse-test-secret';

interface SigningKey {
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

async function newSigningKey(alg: TestSigningAlgorithm): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
  };
}

/** An in-memory adapter: the same as oidc-provider's built-in one, without its production warning. */
function memoryAdapterClass() {
  const store = new Map<string, Record<string, unknown>>();
  return class MemoryAdapter {
    constructor(private readonly model: string) {}
    private key(id: string): string {
      return `${this.model}:${id}`;
    }
    async upsert(id: string, payload: Record<string, unknown>): Promise<void> {
      store.set(this.key(id), payload);
    }
    async find(id: string): Promise<Record<string, unknown> | undefined> {
      return store.get(this.key(id));
    }
    async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
      return [...store.values()].find((p) => p.uid === uid);
    }
    async findByUserCode(code: string): Promise<Record<string, unknown> | undefined> {
      return [...store.values()].find((p) => p.userCode === code);
    }
    async consume(id: string): Promise<void> {
      const payload = store.get(this.key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string): Promise<void> {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      for (const [key, payload] of store) if (payload.grantId === grantId) store.delete(key);
    }
  };
}

function buildProvider(issuer: string, keys: readonly SigningKey[], resource: string, alg: TestSigningAlgorithm, login?: StartTestIssuerOptions['loginClient']): Provider {
  const loginClients = login === undefined ? [] : [{ client_id: login.clientId, token_endpoint_auth_method: 'none', redirect_uris: [login.redirectUri], grant_types: ['authorization_code'], response_types: ['code'], id_token_signed_response_alg: alg }];
  const loginOptions =
    login === undefined
      ? {}
      : {
          findAccount: (_ctx: unknown, id: string) => ({
            accountId: id,
            claims: () => ({ sub: id, email: `${id}@example.test`, email_verified: true, name: id, groups: [...(login.accounts[id]?.groups ?? [])] }),
          }),
          claims: { openid: ['sub', 'groups'], email: ['email', 'email_verified'], profile: ['name'] },
          // Scope claims in the ID token itself: the console reads groups from it, as from any token.
          conformIdTokenClaims: false,
          // Consent is implied for the test client (the development form has no consent step then).
          loadExistingGrant: async (ctx: any) => {
            const existing = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
            if (existing) return ctx.oidc.provider.Grant.find(existing);
            const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
            grant.addOIDCScope('openid email profile');
            await grant.save();
            return grant;
          },
        };
  return new Provider(issuer, {
    ...loginOptions,
    adapter: memoryAdapterClass(),
    jwks: { keys: keys.map((k) => k.privateJwk) },
    cookies: { keys: ['gatehouse-test-cookie-key'] },
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        id_token_signed_response_alg: alg,
      },
      ...loginClients,
    ],
    enabledJWA: { idTokenSigningAlgValues: [alg] },
    ttl: { ClientCredentials: 300 },
    features: {
      devInteractions: { enabled: login !== undefined },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'gatehouse',
          audience: resource,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg } },
        }),
      },
    },
    // The harness passes requested groups through this header on the token request.
    extraTokenClaims: (ctx: { get(name: string): string }) => {
      const groups = ctx.get('x-test-groups');
      return groups ? { groups: groups.split(',').filter((g) => g !== '') } : undefined;
    },
  });
}

export async function startTestIssuer(options: StartTestIssuerOptions = {}): Promise<TestIssuer> {
  const alg = options.alg ?? 'RS256';
  const resource = options.resource ?? 'https://gatehouse.test';
  let keys: SigningKey[] = [await newSigningKey(alg)];

  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server: Server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const start = (): void => {
    handler = buildProvider(issuer, keys, resource, alg, options.loginClient).callback();
  };
  start();

  const testIssuer: TestIssuer = {
    issuer,
    get currentKid(): string {
      return keys[0].privateJwk.kid as string;
    },
    async mintToken(claims = {}, mint = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = { iss: issuer, sub: 'user-1', aud: 'gatehouse', iat: now, exp: now + (mint.ttlSeconds ?? 300), ...claims };
      for (const name of Object.keys(payload)) if (payload[name] === undefined) delete payload[name];
      const current = keys[0].privateJwk;
      const header: Record<string, unknown> = { alg: mint.alg ?? alg, typ: 'JWT', ...mint.header };
      if (mint.kid !== null) header.kid = mint.kid ?? current.kid;
      const signer = new SignJWT(payload).setProtectedHeader(header as { alg: string });
      // A different header `alg` (e.g. to test the allow-list) is signed with the real key's algorithm.
      const key = await importJWK(current, alg);
      if (header.alg === alg) return signer.sign(key);
      const real = await new SignJWT(payload).setProtectedHeader({ ...header, alg }).sign(key);
      const [, body, signature] = real.split('.');
      return `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${body}.${signature}`;
    },
    async issueClientCredentialsToken(request = {}) {
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
          'x-test-groups': (request.groups ?? []).join(','),
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope: 'gatehouse' }).toString(),
      });
      const body = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
      if (response.status !== 200 || typeof body.access_token !== 'string') {
        throw new Error(`test issuer refused client_credentials: ${response.status} ${body.error ?? ''} ${body.error_description ?? ''}`);
      }
      return body.access_token;
    },
    async rotateKeys(rotation = {}) {
      const next = await newSigningKey(alg);
      keys = rotation.keepPrevious ? [next, ...keys] : [next];
      start();
    },
    publicJwks() {
      return { keys: keys.map((k) => ({ ...k.publicJwk })) };
    },
    async close() {
      handler = undefined;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return testIssuer;
}
