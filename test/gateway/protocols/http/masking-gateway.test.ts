import { parseConfig } from '../../../../gateway/src/config/load';
import { startTestIssuer, type TestIssuer } from '../../../support/oidc-issuer';
import { startUpstream, type Upstream } from '../../../support/upstreams';
import { startTestGateway, type TestGateway } from '../../../support/gateway';
import { request } from './harness';

/**
 * Masking through the whole gateway (real identity, policy, recorder, state store): the counts
 * of masked items by type reach the session's index entry when the session ends.
 */
const POLICY = `permit (principal, action, resource);`;

describe('masking counts in the session index', () => {
  let issuer: TestIssuer;
  let upstream: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ a: 'ada@example.com', b: 'bob@example.com', key: 'AKIAIOSFODNN7EXAMPLE' }));
    });
    gw = await startTestGateway(() => ({
      identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], groupsClaim: 'groups', algorithms: ['RS256'] }] },
      policy: { cedar: POLICY },
      masking: { replacement: { kind: 'type_tag' } },
      connections: [{ name: 'api', kind: 'http', upstream: upstream.url, route: { pathPrefix: '/api' } }],
      admin: { groups: ['auditors'] },
    }));
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
    await issuer.close();
  });

  it('records masked.<type> counters on the index entry (top-level default masking applied)', async () => {
    const token = await issuer.mintToken({ sub: 'ada', groups: ['developers'] });
    // agent: false closes the socket after the response, which ends the socket-keyed session.
    const r = await request(`${gw.url}/api/x`, { headers: { authorization: `Bearer ${token}` } });
    expect(JSON.parse(r.body.toString())).toEqual({ a: '[EMAIL]', b: '[EMAIL]', key: '[AWS_ACCESS_KEY_ID]' });
    const admin = await issuer.mintToken({ sub: 'auditor', groups: ['auditors'] });
    let counters: Record<string, number> | undefined;
    for (let i = 0; i < 200 && counters?.['masked.email'] === undefined; i++) {
      const res = await fetch(`${gw.adminUrl}/api/sessions`, { headers: { authorization: `Bearer ${admin}` } });
      const body = (await res.json()) as { sessions: { counters?: Record<string, number>; subject?: string }[] };
      counters = body.sessions.find((s) => s.counters !== undefined && Object.keys(s.counters).length > 0)?.counters;
      if (counters?.['masked.email'] === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(counters).toMatchObject({ 'masked.email': 2, 'masked.aws_access_key_id': 1 });
  });
});

describe('masking configuration checks', () => {
  const base = `
mode: development
identity: { devIssuer: { enabled: true } }
connections:
  - name: api
    kind: http
    upstream: http://127.0.0.1:1
    route: { pathPrefix: /api }
    masking:
`;
  it('reports a bad custom pattern, an unknown rule id, a bad JSON path and storeOriginals without a key, each with its path', () => {
    const result = parseConfig(
      base +
        `      include: [no-such-rule]
      custom: [{ kind: regex, id: bad, type: x, pattern: "(", maxLength: 10 }]
      jsonPaths: ["user.email"]
      storeOriginals: true
`,
    );
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems.some((p) => p.path === 'connections.0.masking.originalsKey')).toBe(true);
    expect(problems.some((p) => p.path === 'connections.0.masking' && /no-such-rule|not a valid regular expression|JSON path/.test(p.message))).toBe(true);
  });

  it('accepts a full masking block', () => {
    const result = parseConfig(
      base +
        `      families: [secret, pii]
      exclude: [ipv4-address]
      custom:
        - { kind: regex, id: employee-id, type: employee_id, pattern: "EMP-[0-9]{6}", maxLength: 10 }
        - { kind: dictionary, id: codenames, type: codename, words: [Bluebird, Nightjar] }
      replacement: { kind: keyed_hash, key: env:MASK_KEY }
      jsonPaths: ["$..password", { path: "$.user.ssn", type: ssn }]
      storeOriginals: true
      originalsKey: env:ORIGINALS_KEY
`,
    );
    expect(result.ok ? [] : result.problems).toEqual([]);
  });
});
