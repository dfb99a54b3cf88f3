import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { isGatehouseError } from '../../../gateway/src/errors';
import { gcpSecretManagerSchemeProvider, parseGcpSecretName } from '../../../gateway/src/secrets/gcp-secret-manager';
import { createSecretProvider } from '../../../gateway/src/secrets';

/**
 * A loopback stand-in for Secret Manager's `versions.access` (REST v1; no emulator exists):
 * `GET /v1/projects/<p>/secrets/<s>/versions/<v>:access` answering `{ name, payload: { data } }`,
 * errors as `{ error: { code, status, message } }`.
 */
const TOKEN = 'ya29.test-token';
let server: Server;
let endpoint: string;
const seen: { url: string; auth?: string }[] = [];
const versions = new Map<string, string[]>([['gatehouse-anthropic', ['old-key', 'sk-ant-very-secret']], ['gatehouse-empty', ['']]]);

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fail = (code: number, status: string) => send(code, { error: { code, status, message: status } });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return fail(401, 'UNAUTHENTICATED');
    const m = /^\/v1\/projects\/([a-z0-9-]+)\/secrets\/([A-Za-z0-9_-]+)\/versions\/(latest|\d+):access$/.exec(req.url ?? '');
    if (!m) return fail(400, 'INVALID_ARGUMENT');
    if (m[1] === 'forbidden-project') return fail(403, 'PERMISSION_DENIED');
    const all = versions.get(m[2]!);
    if (!all) return fail(404, 'NOT_FOUND');
    const n = m[3] === 'latest' ? all.length : Number(m[3]);
    if (n < 1 || n > all.length) return fail(404, 'NOT_FOUND');
    send(200, { name: `projects/123/secrets/${m[2]}/versions/${n}`, payload: { data: Buffer.from(all[n - 1]!).toString('base64') } });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const provider = (token = TOKEN) => gcpSecretManagerSchemeProvider({ endpoint, accessToken: async () => token });

async function messageOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isGatehouseError(e) && e.code === 'GH_ERR_SECRET_UNAVAILABLE') return e.message;
    throw e;
  }
  throw new Error('expected GH_ERR_SECRET_UNAVAILABLE');
}

describe('gcp-sm secrets', () => {
  test('reads the latest version (the kit\'s reference form) through the secret store, with the access token', async () => {
    const store = createSecretProvider({ mode: 'production', providers: { 'gcp-sm': provider() } });
    expect(await store.get('gcp-sm:projects/my-proj/secrets/gatehouse-anthropic/versions/latest')).toBe('sk-ant-very-secret');
    expect(seen.at(-1)).toEqual({ url: '/v1/projects/my-proj/secrets/gatehouse-anthropic/versions/latest:access', auth: `Bearer ${TOKEN}` });
  });

  test('a pinned version is read as such; the resolved version number is reported', async () => {
    expect(await provider().fetch('projects/my-proj/secrets/gatehouse-anthropic/versions/1', 'r')).toEqual({ value: 'old-key', version: '1' });
    expect(await provider().fetch('projects/my-proj/secrets/gatehouse-anthropic', 'r')).toEqual({ value: 'sk-ant-very-secret', version: '2' });
  });

  test.each([
    ['projects/my-proj/secrets/missing/versions/latest', /404 \(NOT_FOUND\)/],
    ['projects/forbidden-project/secrets/gatehouse-anthropic', /403 \(PERMISSION_DENIED\)/],
    ['projects/my-proj/secrets/gatehouse-empty', /no payload/],
    ['my-proj/gatehouse-anthropic', /expected gcp-sm:projects/],
  ])('%s fails closed with a message that names the reference only', async (name, message) => {
    const text = await messageOf(provider().fetch(name, `gcp-sm:${name}`));
    expect(text).toMatch(message);
    expect(text).toContain(`gcp-sm:${name}`);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('sk-ant');
  });

  test('a rejected token and a token failure fail closed', async () => {
    expect(await messageOf(provider('wrong').fetch('projects/my-proj/secrets/gatehouse-anthropic', 'ref'))).toMatch(/401 \(UNAUTHENTICATED\)/);
    const broken = gcpSecretManagerSchemeProvider({ endpoint, accessToken: async () => { throw new Error('metadata server down'); } });
    expect(await messageOf(broken.fetch('projects/my-proj/secrets/gatehouse-anthropic', 'ref'))).toMatch(/no Google access token/);
  });

  test('an unreachable endpoint fails closed', async () => {
    const p = gcpSecretManagerSchemeProvider({ endpoint: `http://127.0.0.1:${await closedPort()}`, accessToken: async () => TOKEN });
    expect(await messageOf(p.fetch('projects/my-proj/secrets/gatehouse-anthropic', 'ref'))).toMatch(/unreachable \(ECONNREFUSED\)/);
  });

  test('names parse to a version resource name', () => {
    expect(parseGcpSecretName('projects/p-1234/secrets/s')).toBe('projects/p-1234/secrets/s/versions/latest');
    expect(parseGcpSecretName('projects/p-1234/secrets/s/versions/7')).toBe('projects/p-1234/secrets/s/versions/7');
    expect(parseGcpSecretName('projects/p-1234/secrets/s/versions/../x')).toBeUndefined();
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
