import type { Principal } from '../../../gateway/src/identity/principal';
import type { Operation } from '../../../gateway/src/policy/decision';
import { DEFAULT_POLICIES } from '../../../gateway/src/policy/default-policies';
import { checkPolicies, createPolicyEngine } from '../../../gateway/src/policy/engine';

const who = (groups: string[]): Principal => ({
  issuer: 'http://127.0.0.1/dev',
  issuerName: 'dev',
  subject: 'dev-user',
  name: 'dev@localhost',
  groups,
  kind: 'dev',
  tokenId: 't',
});
const http = (method: string, path: string): Operation => ({
  protocol: 'http',
  action: `http:${method}`,
  attributes: { method, path, host: '127.0.0.1' },
  summary: `${method} ${path}`,
});

describe('DEFAULT_POLICIES (quickstart)', () => {
  const engine = createPolicyEngine({ policies: DEFAULT_POLICIES });

  it('loads without problems', () => {
    expect(checkPolicies(DEFAULT_POLICIES)).toEqual([]);
    expect(engine.policyIds).toEqual([
      'developers-use-connections',
      'admins-use-connections',
      'admin-path-writes-need-approval',
      'only-admins-delete',
    ]);
  });

  it('lets developers use any connection but not DELETE', () => {
    expect(engine.decide(who(['developers']), 'anthropic', http('POST', '/v1/messages')).effect).toBe('allow');
    expect(engine.decide(who(['developers']), 'github', http('GET', '/repos')).effect).toBe('allow');
    expect(engine.decide(who(['developers']), 'github', http('DELETE', '/repos/x'))).toMatchObject({
      effect: 'deny',
      code: 'policy.forbid',
      message: 'DELETE is reserved to the admins group',
    });
  });

  it('asks for approval of developer writes under /admin/, but not for admins', () => {
    expect(engine.decide(who(['developers']), 'api', http('POST', '/admin/users'))).toMatchObject({
      effect: 'review',
      reasons: ['admin-path-writes-need-approval'],
    });
    expect(engine.decide(who(['developers']), 'api', http('GET', '/admin/users')).effect).toBe('allow');
    expect(engine.decide(who(['developers', 'admins']), 'api', http('POST', '/admin/users')).effect).toBe('allow');
  });

  it('lets admins DELETE and refuses everyone else', () => {
    expect(engine.decide(who(['admins']), 'github', http('DELETE', '/repos/x')).effect).toBe('allow');
    expect(engine.decide(who([]), 'github', http('GET', '/')).code).toBe('policy.no_permit');
  });
});
