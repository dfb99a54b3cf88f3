import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { isGatehouseError } from '../../../gateway/src/errors';
import { azureKeyVaultSchemeProvider, parseAzureSecretName } from '../../../gateway/src/secrets/azure-key-vault';
import { createSecretProvider } from '../../../gateway/src/secrets';

/**
 * A loopback stand-in for Key Vault's Get Secret (no emulator exists): `GET /secrets/<name>[/<version>]`
 * answering `{ value, id }`, errors as `{ error: { code, message } }`, and 401 without the bearer token.
 */
const TOKEN = 'token-for-vault';
const VERSION = '0123456789abcdef0123456789abcdef';
let server: Server;
let base: string;
const seen: { url: string; auth?: string }[] = [];
const secrets = new Map<string, string>([['gatehouse-anthropic', 'sk-ant-very-secret'], ['gatehouse-empty', '']]);

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { error: { code: 'Unauthorized', message: 'no token' } });
    const m = /^\/(kv-[a-z0-9-]+)\/secrets\/([A-Za-z0-9-]+)(?:\/([a-f0-9]{32}))?\?api-version=7\.5$/.exec(req.url ?? '');
    if (!m) return send(400, { error: { code: 'BadParameter', message: 'bad url' } });
    if (m[1] === 'kv-forbidden') return send(403, { error: { code: 'Forbidden', message: 'Caller is not authorized' } });
    if (!secrets.has(m[2]!)) return send(404, { error: { code: 'SecretNotFound', message: 'A secret with (name/id) was not found' } });
    send(200, { value: secrets.get(m[2]!), id: `https://${m[1]}.vault.azure.net/secrets/${m[2]}/${m[3] ?? VERSION}` });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const credential = (token = TOKEN) => ({ getToken: async (scope: string | string[]) => (scope === 'https://vault.azure.net/.default' ? { token, expiresOnTimestamp: Date.now() + 3600_000 } : null) });
const provider = (token?: string) => azureKeyVaultSchemeProvider({ credential: credential(token), vaultUrl: (vault) => `${base}/${vault}` });

async function messageOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isGatehouseError(e) && e.code === 'GH_ERR_SECRET_UNAVAILABLE') return e.message;
    throw e;
  }
  throw new Error('expected GH_ERR_SECRET_UNAVAILABLE');
}

describe('azure-kv secrets', () => {
  test('reads the latest version with the identity\'s Key Vault token, through the secret store', async () => {
    const store = createSecretProvider({ mode: 'production', providers: { 'azure-kv': provider() } });
    expect(await store.get('azure-kv:kv-one/gatehouse-anthropic')).toBe('sk-ant-very-secret');
    expect(seen.at(-1)).toEqual({ url: '/kv-one/secrets/gatehouse-anthropic?api-version=7.5', auth: `Bearer ${TOKEN}` });
  });

  test('a pinned version is requested as such and reported as the version', async () => {
    const got = await provider().fetch(`kv-one/gatehouse-anthropic/${VERSION}`, 'r');
    expect(got).toEqual({ value: 'sk-ant-very-secret', version: VERSION });
    expect(seen.at(-1)!.url).toBe(`/kv-one/secrets/gatehouse-anthropic/${VERSION}?api-version=7.5`);
  });

  test.each([
    ['kv-one/missing', /404 \(SecretNotFound\)/],
    ['kv-forbidden/gatehouse-anthropic', /403 \(Forbidden\)/],
    ['kv-one/gatehouse-empty', /has no value/],
    ['just-a-name', /expected azure-kv:<vault>\/<secret>/],
    ['kv-one/bad_name', /expected azure-kv/],
  ])('%s fails closed with a message that names the reference only', async (name, message) => {
    const text = await messageOf(provider().fetch(name, `azure-kv:${name}`));
    expect(text).toMatch(message);
    expect(text).toContain(`azure-kv:${name}`);
    expect(text).not.toContain(TOKEN);
  });

  test('a wrong token and a missing token fail closed without leaking either', async () => {
    expect(await messageOf(provider('stale-token').fetch('kv-one/gatehouse-anthropic', 'ref'))).toMatch(/401/);
    const noToken = azureKeyVaultSchemeProvider({ credential: { getToken: async () => null }, vaultUrl: (v) => `${base}/${v}` });
    expect(await messageOf(noToken.fetch('kv-one/gatehouse-anthropic', 'ref'))).toMatch(/no Entra ID token/);
  });

  test('an unreachable vault fails closed', async () => {
    const port = await closedPort();
    const p = azureKeyVaultSchemeProvider({ credential: credential(), vaultUrl: () => `http://127.0.0.1:${port}` });
    expect(await messageOf(p.fetch('kv-one/gatehouse-anthropic', 'ref'))).toMatch(/unreachable \(ECONNREFUSED\)/);
  });

  test('names parse as vault, secret and optional 32-character version', () => {
    expect(parseAzureSecretName('kv1/s-1')).toEqual({ vault: 'kv1', secret: 's-1' });
    expect(parseAzureSecretName(`kv1/s/${VERSION}`)).toEqual({ vault: 'kv1', secret: 's', version: VERSION });
    expect(parseAzureSecretName('kv1/s/short')).toBeUndefined();
    expect(parseAzureSecretName('1kv/s')).toBeUndefined();
  });
});

/** A loopback port nothing listens on (fetch refuses low "bad ports" such as 1 outright). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createTcpServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
