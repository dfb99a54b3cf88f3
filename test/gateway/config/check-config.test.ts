import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../gateway/src/main';
import type { CommandIO } from '../../../gateway/src/cli/io';
import { parseConfig } from '../../../gateway/src/config/load';
import { isGatehouseError } from '../../../gateway/src/errors';
import { createLogger } from '../../../gateway/src/observability/logger';
import { startGateway } from '../../../gateway/src/server/gateway';

/**
 * `check-config` makes every check `run` makes before it listens, reports all problems in one
 * pass with their paths, and agrees with `run` (both call server/preflight.ts).
 */
describe('gatehouse check-config', () => {
  let dir: string;
  let cert: string;
  let key: string;
  let otherKey: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-check-'));
    cert = join(dir, 'cert.pem');
    key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    otherKey = join(dir, 'other-key.pem');
    writeFileSync(otherKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, 'signing.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, 'not-a-key.pem'), 'hello\n');
    writeFileSync(join(dir, 'good.cedar'), 'permit (principal in Gatehouse::Group::"developers", action, resource);\n');
    writeFileSync(join(dir, 'bad.cedar'), 'permit (principal, action, resource) when { context.x == };\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function write(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }
  async function check(path: string): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const io: CommandIO = { out: (l) => (out += `${l}\n`), err: (l) => (err += `${l}\n`) };
    const code = await main(['check-config', path], io);
    return { code, out, err };
  }

  const BROKEN = () => `mode: production
listeners:
  http: { address: 0.0.0.0, port: 0, tls: { cert: ${join(dir, 'missing-cert.pem')}, key: ${key} } }
  admin: { address: 127.0.0.1, port: 0, tls: { cert: ${cert}, key: ${otherKey} } }
identity:
  issuers:
    - { name: corp, issuer: "http://idp.example.com", audiences: [gatehouse] }
    - { name: ci, issuer: "https://token.actions.githubusercontent.com", audiences: [gatehouse], jwksUri: "http://keys.example.com/jwks" }
policy:
  cedar: 'permit (principal, action, resource'
  files: [${join(dir, 'missing.cedar')}, ${join(dir, 'bad.cedar')}, ${join(dir, 'good.cedar')}]
connections:
  - name: api
    kind: http
    upstream: https://api.example.com
    route: { pathPrefix: /api }
    credential: { type: bearer, secret: "vault:secret/api" }
  - name: billing
    kind: http
    upstream: https://billing.example.com
    route: { pathPrefix: /billing }
    credential: { type: header, header: x-api-key, secret: "file:${join(dir, 'billing-token')}" }
recording:
  signingKey: "file:${join(dir, 'not-a-key.pem')}"
`;

  test('reports every problem of a broken configuration in one pass, each with its path', async () => {
    const { code, err } = await check(write('broken.yaml', BROKEN()));
    expect(code).toBe(1);
    const paths = [...err.matchAll(/^ {2}- ([^\s:]+)/gm)].map((m) => m[1]);
    expect(paths).toEqual(
      expect.arrayContaining([
        'identity.issuers.0.issuer', // http:// issuer in production
        'identity.issuers.1.jwksUri', // http:// JWKS in production
        'policy.cedar', // Cedar parse error inline
        'policy.files.0', // policy file missing
        'policy.files.1', // Cedar parse error in a file
        'connections.0.credential.secret', // unknown secret scheme
        'recording.signingKey', // not a key
        'listeners.http.tls.cert', // TLS certificate missing
        'listeners.admin.tls', // certificate and key do not match
      ]),
    );
    expect(err).toContain('no provider for scheme "vault"');
    expect(err).toMatch(/bad\.cedar:1:\d+/);
    // An upstream credential is fetched per request, not at start: a missing file is not a start-up problem.
    expect(paths).not.toContain('connections.1.credential.secret');
  });

  test('run refuses the same configuration with the same problems, before it listens', async () => {
    const parsed = parseConfig(BROKEN());
    expect(parsed.ok).toBe(false);
    // Only the cross-field rule failed (the http issuers): take the config as parsed, as check-config does.
    const config = parsed.ok ? parsed.config : parsed.config!;
    const { err } = await check(write('broken.yaml', BROKEN()));
    const fromCheck = [...err.matchAll(/^ {2}- ([^\s:]+)/gm)].map((m) => m[1]).filter((p) => !p!.startsWith('identity.issuers'));
    const failure = await startGateway(config, { logger: createLogger({ level: 'silent' }) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isGatehouseError(failure) && failure.code).toBe('GH_ERR_CONFIG_INVALID');
    const fromRun = ((failure as { details: { problems: { path: string }[] } }).details.problems).map((p) => p.path);
    expect(fromRun.sort()).toEqual(fromCheck.sort());
  });

  test('a sound configuration with TLS, a signing key, policy files and known schemes is valid', async () => {
    const { code, out, err } = await check(
      write(
        'good.yaml',
        `mode: production
listeners:
  http: { address: 0.0.0.0, port: 0, tls: { cert: ${cert}, key: "file:${key}" } }
  admin: { address: 127.0.0.1, port: 0, allowPlaintext: true }
identity:
  issuers: [{ name: corp, issuer: "https://idp.example.com", audiences: [gatehouse] }]
policy:
  files: [${join(dir, 'good.cedar')}]
connections:
  - { name: api, kind: http, upstream: "https://api.example.com", route: { pathPrefix: /api }, credential: { type: bearer, secret: "env:API_TOKEN" } }
recording:
  signingKey: "file:${join(dir, 'signing.pem')}"
`,
      ),
    );
    expect(err).not.toMatch(/problem/);
    expect(out).toContain('valid (production mode, 1 connection(s), 1 issuer(s))');
    expect(code).toBe(0);
  });

  test('a schema problem does not hide the resource problems of the sections that are sound', async () => {
    const { code, err } = await check(
      write('schema-and-resources.yaml', `mode: production
listeners:
  http: { address: 0.0.0.0, port: 0, tls: { cert: ${join(dir, 'missing-cert.pem')}, key: ${key} } }
  admin: { address: 127.0.0.1, port: 0, allowPlaintext: true }
identity:
  issuers: [{ name: corp, issuer: "https://idp.example.com", audiences: [gatehouse] }]
policy:
  cedar: 'permit (principal, action, resource'
recording:
  mode: fast
  signingKey: "file:${join(dir, 'not-a-key.pem')}"
`),
    );
    expect(code).toBe(1);
    const paths = [...err.matchAll(/^ {2}- ([^\s:]+)/gm)].map((m) => m[1]);
    // The schema's own problem, and in the same pass the resources of the sound sections.
    expect(paths).toEqual(expect.arrayContaining(['recording.mode', 'policy.cedar', 'listeners.http.tls.cert']));
    // The refused section's resources wait until it parses (its signing key is not judged from a default).
    expect(paths).not.toContain('recording.signingKey');
  });

  test('a development key file others can read is reported (the gateway would refuse it at start)', async () => {
    const keyPath = join(dir, 'dev-issuer.json');
    writeFileSync(keyPath, '{}', { mode: 0o644 });
    const { code, err } = await check(
      write('dev.yaml', `mode: development
listeners:
  http: { port: 0, allowPlaintext: true }
  admin: { port: 0, allowPlaintext: true }
identity:
  devIssuer: { enabled: true, keyPath: ${keyPath} }
policy:
  cedar: 'permit (principal, action, resource);'
recording:
  sink: { type: fs, path: ${join(dir, 'log')} }
`),
    );
    expect(code).toBe(1);
    expect(err).toContain('identity.devIssuer.keyPath');
  });
});
