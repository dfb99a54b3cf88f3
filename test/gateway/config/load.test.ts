import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, parseConfig } from '../../../gateway/src/config/load';
import { isGatehouseError } from '../../../gateway/src/errors';

const minimalDev = `
mode: development
identity:
  devIssuer: { enabled: true }
listeners:
  http: { port: 0, allowPlaintext: true }
  admin: { port: 0, allowPlaintext: true }
`;

describe('config loading', () => {
  test('the documented example configuration is valid', () => {
    const result = parseConfig(readFileSync(new URL('../../../examples/gatehouse.yaml', import.meta.url), 'utf8'));
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.config.connections.map((c) => c.name)).toEqual(['anthropic', 'billing-api', 'orders']);
    expect(result.config.listeners.postgres?.port).toBe(5432);
    expect(result.config.connections.find((c) => c.name === 'orders')).toMatchObject({ kind: 'postgres', unparsedStatements: 'deny', upstream: { tls: { mode: 'verify-full' } } });
    expect(result.config.identity.issuers[1].subjectRules?.[0].groups).toEqual(['ci-deploy']);
  });

  test('storeOriginals is refused on PostgreSQL connections (directly or through the top-level default), not silently ignored', () => {
    const pg = (masking: string) => `${minimalDev}
masking: { storeOriginals: true, originalsKey: "env:K" }
connections:
  - name: orders
    kind: postgres
    upstream: { host: 127.0.0.1, database: app, user: app, tls: { mode: disable } }
${masking}
  - name: api
    kind: http
    upstream: http://127.0.0.1:1
    route: { pathPrefix: / }
`;
    const inherited = parseConfig(pg(''));
    expect(inherited.ok).toBe(false);
    if (!inherited.ok) expect(inherited.problems).toEqual([expect.objectContaining({ path: 'masking.storeOriginals', message: expect.stringContaining('"orders"') })]);
    const own = parseConfig(pg('    masking: { storeOriginals: true, originalsKey: "env:K" }'));
    expect(own.ok).toBe(false);
    if (!own.ok) expect(own.problems.map((p) => p.path)).toEqual(['connections.0.masking.storeOriginals']);
    // Its own block without originals: fine (the HTTP connection keeps the default's originals).
    expect(parseConfig(pg('    masking: { columns: [ssn] }')).ok).toBe(true);
  });

  test('defaults fill every omitted option', () => {
    const result = parseConfig(minimalDev);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.config.recording.mode).toBe('strict');
    expect(result.config.recording.sink).toEqual({ type: 'fs', path: './.gatehouse/log' });
    expect(result.config.state.url).toBeUndefined();
    expect(result.warnings.join('\n')).toMatch(/DEVELOPMENT MODE/);
    expect(result.config.tuning.busyPollMicroseconds).toBe(0);
  });

  test('busy polling takes whole microseconds from 0 to 10000', () => {
    const ok = parseConfig(`${minimalDev}\ntuning: { busyPollMicroseconds: 1000 }\n`);
    if (!ok.ok) throw new Error(JSON.stringify(ok.problems));
    expect(ok.config.tuning.busyPollMicroseconds).toBe(1000);
    for (const bad of ['-1', '10001', '2.5', '"fast"']) {
      const r = parseConfig(`${minimalDev}\ntuning: { busyPollMicroseconds: ${bad} }\n`);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problems.map((p) => p.path)).toEqual(['tuning.busyPollMicroseconds']);
    }
  });

  test('every schema problem is reported at once, each with its path and line', () => {
    const result = parseConfig(`
identity:
  issuers:
    - name: Corp
      issuer: not-a-url
      audiences: []
connections:
  - name: demo
    kind: http
    upstream: http://127.0.0.1:1
    route: {}
    surprise: true
recording:
  mode: sometimes
`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const paths = result.problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'identity.issuers.0.name',
        'identity.issuers.0.issuer',
        'identity.issuers.0.audiences',
        'connections.0.route',
        'connections.0',
        'recording.mode',
      ]),
    );
    const mode = result.problems.find((p) => p.path === 'recording.mode');
    expect(mode?.message).toMatch(/strict|buffered/);
    expect(mode?.line).toBe(14);
  });

  test('cross-field rules: duplicate names, production refuses the dev issuer and plaintext', () => {
    const result = parseConfig(`
mode: production
identity:
  devIssuer: { enabled: true }
connections:
  - { name: a, kind: http, upstream: "http://127.0.0.1:1", route: { pathPrefix: /a } }
  - { name: a, kind: http, upstream: "http://127.0.0.1:2", route: { pathPrefix: /b } }
`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const byPath = Object.fromEntries(result.problems.map((p) => [p.path, p.message]));
    expect(byPath['connections.1.name']).toMatch(/duplicate name "a"/);
    expect(byPath['identity.devIssuer.enabled']).toMatch(/refused in production/);
    expect(byPath['listeners.http.tls']).toMatch(/TLS is required/);
    expect(byPath['recording.signingKey']).toMatch(/signing key/);
  });

  test('YAML syntax errors are reported with a line, not thrown', () => {
    const result = parseConfig('identity: [unclosed\n  x: 1\n');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems[0].message).toMatch(/^YAML:/);
    expect(result.problems[0].line).toBeGreaterThan(0);
  });

  test('a top level that is not a mapping is refused', () => {
    const result = parseConfig('- just\n- a list\n');
    expect(result.ok).toBe(false);
  });

  test('loadConfigFile throws one error with a stable code listing all problems', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-config-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'mode: maybe\nlogging: { level: loud }\n');
    try {
      loadConfigFile(file);
      throw new Error('expected a throw');
    } catch (e) {
      expect(isGatehouseError(e, 'GH_ERR_CONFIG_INVALID')).toBe(true);
      expect((e as Error).message).toMatch(/mode/);
      expect((e as Error).message).toMatch(/logging\.level/);
    }
    expect(() => loadConfigFile(join(dir, 'missing.yaml'))).toThrow(/cannot read configuration/);
  });
});
