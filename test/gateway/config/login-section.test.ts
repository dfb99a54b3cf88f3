import { parseConfig } from '../../../gateway/src/config/load';

/** The `login` block: it must name a human issuer whose audiences accept the ID tokens login obtains. */
describe('config: login', () => {
  const config = (login: string, issuerExtra = '') => `
mode: development
identity:
  issuers:
    - { name: corp, issuer: "https://idp.example.com", audiences: [gatehouse-cli, gatehouse]${issuerExtra} }
    - { name: ci, issuer: "https://token.actions.githubusercontent.com", audiences: [gatehouse], kind: workload }
${login}
`;
  const problems = (source: string) => {
    const r = parseConfig(source);
    return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
  };

  test('a login block naming a human issuer that lists the client id as an audience is valid', () => {
    const r = parseConfig(config('login: { issuer: corp, clientId: gatehouse-cli }'));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.config.login).toEqual({ issuer: 'corp', clientId: 'gatehouse-cli' });
  });

  test('login is optional', () => {
    expect(problems(config(''))).toEqual([]);
  });

  test('an unknown issuer, a workload issuer and a client id the issuer would refuse are each reported with their path', () => {
    expect(problems(config('login: { issuer: nope, clientId: gatehouse-cli }'))).toEqual([expect.stringMatching(/^login\.issuer: no identity\.issuers entry is named "nope"/)]);
    expect(problems(config('login: { issuer: ci, clientId: gatehouse }'))).toEqual([expect.stringMatching(/^login\.issuer: .*workload issuer/)]);
    expect(problems(config('login: { issuer: corp, clientId: other-client }'))).toEqual([expect.stringMatching(/^login\.clientId: "other-client" is not among .*audiences/)]);
  });

  test('unknown keys and malformed scopes are refused', () => {
    expect(problems(config('login: { issuer: corp, clientId: gatehouse-cli, secret: x }')).join('\n')).toMatch(/^login/);
    expect(problems(config('login: { issuer: corp, clientId: gatehouse-cli, scopes: ["open id"] }')).join('\n')).toMatch(/^login\.scopes\.0/);
  });
});
