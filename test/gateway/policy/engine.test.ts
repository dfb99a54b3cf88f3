import { isGatehouseError } from '../../../gateway/src/errors';
import type { Principal } from '../../../gateway/src/identity/principal';
import type { Operation } from '../../../gateway/src/policy/decision';
import { checkPolicies, createPolicyEngine, DECISION_CODES, flatContextKey } from '../../../gateway/src/policy/engine';

function principal(groups: string[], overrides: Partial<Principal> = {}): Principal {
  return {
    issuer: 'https://idp.example.test',
    issuerName: 'corp',
    subject: 'user-1',
    name: 'ada@example.test',
    groups,
    kind: 'human',
    tokenId: 'tok-1',
    ...overrides,
  };
}

function http(method: string, path = '/', extra: Record<string, string | number | boolean> = {}): Operation {
  return {
    protocol: 'http',
    action: `http:${method}`,
    attributes: { method, path, host: 'api.example.test', ...extra },
    summary: `${method} ${path}`,
  };
}

describe('createPolicyEngine', () => {
  it('allows a member of a permitted group and names the determining policy', () => {
    const engine = createPolicyEngine({
      policies: '@id("developers") permit(principal in Gatehouse::Group::"developers", action, resource);',
    });
    const decision = engine.decide(principal(['developers']), 'github', http('GET', '/repos'));
    expect(decision).toMatchObject({ effect: 'allow', code: DECISION_CODES.permit, reasons: ['developers'] });
  });

  it('denies with policy.no_permit when no policy permits', () => {
    const engine = createPolicyEngine({
      policies: 'permit(principal in Gatehouse::Group::"developers", action, resource);',
    });
    const decision = engine.decide(principal(['sales']), 'github', http('GET'));
    expect(decision).toMatchObject({ effect: 'deny', code: 'policy.no_permit', reasons: [] });
    expect(decision.message).toContain('http:GET');
    expect(decision.message).toContain('github');
  });

  it('denies everything with an empty policy set', () => {
    const engine = createPolicyEngine({ policies: '' });
    expect(engine.decide(principal(['admins']), 'github', http('GET')).effect).toBe('deny');
  });

  it('lets a forbid override a permit and reports the forbid', () => {
    const engine = createPolicyEngine({
      policies: `
        @id("developers") permit(principal in Gatehouse::Group::"developers", action, resource);
        @id("no-delete")
        @message("deleting is reserved to admins")
        forbid(principal, action == Gatehouse::Action::"http:DELETE", resource)
          unless { principal in Gatehouse::Group::"admins" };
      `,
    });
    const dev = engine.decide(principal(['developers']), 'github', http('DELETE', '/repos/x'));
    expect(dev).toMatchObject({ effect: 'deny', code: 'policy.forbid', reasons: ['no-delete'] });
    expect(dev.message).toBe('deleting is reserved to admins');
    expect(engine.decide(principal(['developers', 'admins']), 'github', http('DELETE')).effect).toBe('allow');
    expect(engine.decide(principal(['developers']), 'github', http('GET')).effect).toBe('allow');
  });

  it('matches path prefixes with like', () => {
    const engine = createPolicyEngine({
      policies: 'permit(principal, action, resource) when { context.path like "/v1/*" };',
    });
    expect(engine.decide(principal([]), 'api', http('GET', '/v1/messages')).effect).toBe('allow');
    expect(engine.decide(principal([]), 'api', http('GET', '/v2/messages')).effect).toBe('deny');
    expect(engine.decide(principal([]), 'api', http('GET', '/v1')).effect).toBe('deny');
  });

  it('puts HTTP methods into the http:read and http:write action groups and every action into <protocol>:any', () => {
    const engine = createPolicyEngine({
      policies: `
        @id("readers") permit(principal in Gatehouse::Group::"readers", action in Gatehouse::Action::"http:read", resource);
        @id("writers") permit(principal in Gatehouse::Group::"writers", action in Gatehouse::Action::"http:write", resource);
        @id("anyhttp") permit(principal in Gatehouse::Group::"http", action in Gatehouse::Action::"http:any", resource);
      `,
    });
    const readers = principal(['readers']);
    for (const m of ['GET', 'HEAD', 'OPTIONS']) expect(engine.decide(readers, 'c', http(m)).effect).toBe('allow');
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) expect(engine.decide(readers, 'c', http(m)).effect).toBe('deny');
    const writers = principal(['writers']);
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) expect(engine.decide(writers, 'c', http(m)).effect).toBe('allow');
    expect(engine.decide(writers, 'c', http('GET')).effect).toBe('deny');
    expect(engine.decide(principal(['http']), 'c', http('PROPFIND')).effect).toBe('allow');
    expect(engine.decide(principal(['http']), 'c', { ...http('GET'), protocol: 'postgres', action: 'sql:select' }).effect).toBe(
      'deny',
    );
  });

  it('accepts extra action groups, including groups of groups', () => {
    const engine = createPolicyEngine({
      actionGroups: { 'sql:write': ['sql:insert', 'sql:update'], 'sql:danger': ['sql:write'] },
      policies: 'permit(principal, action in Gatehouse::Action::"sql:danger", resource);',
    });
    const op: Operation = { protocol: 'postgres', action: 'sql:insert', attributes: {}, summary: 'INSERT' };
    expect(engine.decide(principal([]), 'db', op).effect).toBe('allow');
    expect(engine.decide(principal([]), 'db', { ...op, action: 'sql:select' }).effect).toBe('deny');
  });

  it('turns a determining @decision("review") permit into review, below forbid', () => {
    const engine = createPolicyEngine({
      policies: `
        @id("devs") permit(principal in Gatehouse::Group::"developers", action in Gatehouse::Action::"http:read", resource);
        @id("writes-need-approval")
        @decision("review")
        permit(principal in Gatehouse::Group::"developers", action in Gatehouse::Action::"http:write", resource);
        @id("no-prod-delete")
        forbid(principal, action == Gatehouse::Action::"http:DELETE", resource == Gatehouse::Connection::"prod");
      `,
    });
    const dev = principal(['developers']);
    expect(engine.decide(dev, 'staging', http('GET'))).toMatchObject({ effect: 'allow', reasons: ['devs'] });
    expect(engine.decide(dev, 'staging', http('POST'))).toMatchObject({
      effect: 'review',
      code: 'policy.review',
      reasons: ['writes-need-approval'],
    });
    expect(engine.decide(dev, 'prod', http('DELETE'))).toMatchObject({ effect: 'deny', code: 'policy.forbid' });
  });

  it('asks for review when any determining permit carries the review annotation', () => {
    const engine = createPolicyEngine({
      policies: `
        @id("broad") permit(principal, action, resource);
        @id("admin-paths") @decision("review") permit(principal, action, resource) when { context.path like "/admin/*" };
      `,
    });
    expect(engine.decide(principal([]), 'c', http('GET', '/admin/users'))).toMatchObject({
      effect: 'review',
      reasons: ['admin-paths'],
    });
    expect(engine.decide(principal([]), 'c', http('GET', '/public')).effect).toBe('allow');
  });

  it('applies per-connection rules to the resource', () => {
    const engine = createPolicyEngine({
      policies: `
        permit(principal in Gatehouse::Group::"ml", action, resource == Gatehouse::Connection::"anthropic");
        permit(principal in Gatehouse::Group::"ops", action, resource) when { resource.protocol == "http" && resource.name != "anthropic" };
      `,
    });
    expect(engine.decide(principal(['ml']), 'anthropic', http('POST', '/v1/messages')).effect).toBe('allow');
    expect(engine.decide(principal(['ml']), 'github', http('GET')).effect).toBe('deny');
    expect(engine.decide(principal(['ops']), 'github', http('GET')).effect).toBe('allow');
    expect(engine.decide(principal(['ops']), 'anthropic', http('GET')).effect).toBe('deny');
  });

  it('exposes principal attributes to policies', () => {
    const engine = createPolicyEngine({
      policies: `
        permit(principal, action, resource) when { principal.kind == "workload" && principal.issuerName == "github-actions" };
        permit(principal == Gatehouse::User::"corp|user-1", action, resource);
      `,
    });
    expect(engine.decide(principal([], { issuerName: 'github-actions', kind: 'workload' }), 'c', http('GET')).effect).toBe(
      'allow',
    );
    expect(engine.decide(principal([], { subject: 'user-2' }), 'c', http('GET')).effect).toBe('deny');
    expect(engine.decide(principal([]), 'c', http('GET')).effect).toBe('allow');
  });

  it('denies with policy.error when a forbid cannot be evaluated (fail closed)', () => {
    const engine = createPolicyEngine({
      policies: `
        @id("all") permit(principal, action, resource);
        @id("big-bodies") forbid(principal, action, resource) when { context.bodyBytes > 1000 };
      `,
    });
    // `bodyBytes` is missing: the forbid errors, and skipping it could let the request through.
    const decision = engine.decide(principal([]), 'c', http('POST', '/x'));
    expect(decision).toMatchObject({ effect: 'deny', code: 'policy.error', reasons: ['big-bodies'] });
    expect(engine.decide(principal([]), 'c', http('POST', '/x', { bodyBytes: 10 })).effect).toBe('allow');
    expect(engine.decide(principal([]), 'c', http('POST', '/x', { bodyBytes: 5000 })).code).toBe('policy.forbid');
  });

  it('denies with policy.error when the only permit cannot be evaluated, and logs it once', () => {
    const warnings: unknown[] = [];
    const engine = createPolicyEngine({
      policies: '@id("needs-team") permit(principal, action, resource) when { context.team == "a" };',
      logger: { warn: (obj) => warnings.push(obj) },
    });
    expect(engine.decide(principal([]), 'c', http('GET'))).toMatchObject({ effect: 'deny', code: 'policy.error' });
    engine.decide(principal([]), 'c', http('GET', '/other'));
    expect(warnings).toEqual([{ policyId: 'needs-team' }]);
  });

  it('denies with policy.error when a review permit cannot be evaluated', () => {
    const engine = createPolicyEngine({
      policies: `
        permit(principal, action, resource);
        @id("r") @decision("review") permit(principal, action, resource) when { context.risk > 3 };
      `,
    });
    expect(engine.decide(principal([]), 'c', http('GET'))).toMatchObject({ effect: 'deny', code: 'policy.error', reasons: ['r'] });
  });

  it('passes list and non-integer attributes to the context', () => {
    const engine = createPolicyEngine({
      policies: 'permit(principal, action, resource) when { context.tables.contains("users") && context.ratio == "0.5" };',
    });
    const op: Operation = { protocol: 'postgres', action: 'sql:select', attributes: { tables: ['users', 'orders'], ratio: 0.5 }, summary: '' };
    expect(engine.decide(principal([]), 'db', op).effect).toBe('allow');
  });

  it('returns the same decision for a repeated request and keeps it immutable', () => {
    const engine = createPolicyEngine({ policies: 'permit(principal, action, resource) when { context.path like "/v1/*" };' });
    const p = principal([]);
    const first = engine.decide(p, 'c', http('GET', '/v1/a'));
    const again = engine.decide({ ...p }, 'c', http('GET', '/v1/a'));
    expect(again).toEqual(first);
    expect(Object.isFrozen(again)).toBe(true);
    expect(engine.decide(p, 'c', http('GET', '/v2/a')).effect).toBe('deny');
    // A principal with other groups must not hit a cached decision of another principal.
    const groupEngine = createPolicyEngine({ policies: 'permit(principal in Gatehouse::Group::"g", action, resource);' });
    expect(groupEngine.decide(principal(['g']), 'c', http('GET')).effect).toBe('allow');
    expect(groupEngine.decide(principal([]), 'c', http('GET')).effect).toBe('deny');
  });

  it('decides correctly for principals of many object shapes after optimisation', () => {
    const engine = createPolicyEngine({
      policies: 'permit(principal in Gatehouse::Group::"g", action, resource);',
      decisionCacheSize: 0,
    });
    const base = principal(['g']);
    const shapes: Principal[] = [base, { ...base, expiresAt: 1 }, { ...base, tokenId: 'x', name: 'n' }, { ...base, extra: 1 } as Principal];
    for (let i = 0; i < 1000; i++) engine.decide(base, 'c', http('GET', `/${i}`));
    for (let i = 0; i < 1000; i++) engine.decide({ ...shapes[i % shapes.length]! }, 'c', http('GET', `/${i}`));
    expect(engine.decide(base, 'c', http('GET')).effect).toBe('allow');
  });
});

describe('policy loading', () => {
  it('reports a syntax error with its line and column', () => {
    const text = 'permit(principal, action, resource);\n\npermit(principal, action resource);\n';
    const problems = checkPolicies([{ name: 'policies/main.cedar', text }]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ source: 'policies/main.cedar', line: 3 });
    expect(problems[0]!.column).toBeGreaterThan(1);
    expect(problems[0]!.message).toMatch(/unexpected token/);
    try {
      createPolicyEngine({ policies: [{ name: 'policies/main.cedar', text }] });
      throw new Error('expected a failure');
    } catch (e) {
      expect(isGatehouseError(e, 'GH_ERR_CONFIG_INVALID')).toBe(true);
      expect((e as Error).message).toContain('policies/main.cedar:3:');
    }
  });

  it('reports every problem across sources at once', () => {
    const problems = checkPolicies([
      { name: 'a.cedar', text: 'permit(principal, action, resource) when { 1 + };' },
      { name: 'b.cedar', text: '@decision("maybe") permit(principal, action, resource);' },
      { name: 'c.cedar', text: 'permit(principal in Gatehouse::Grop::"x", action, resource);' },
    ]);
    expect(problems.map((p) => p.source)).toEqual(['a.cedar', 'b.cedar', 'c.cedar']);
    expect(problems[1]!.message).toMatch(/@decision\("maybe"\)/);
    expect(problems[2]!.message).toMatch(/Gatehouse::Grop/);
  });

  it('refuses @decision on a forbid, duplicate ids, and templates', () => {
    expect(checkPolicies('@decision("review") forbid(principal, action, resource);')[0]!.message).toMatch(/permit policies only/);
    expect(
      checkPolicies('@id("a") permit(principal, action, resource);\n@id("a") permit(principal, action, resource);')[0]!.message,
    ).toMatch(/duplicate policy id "a"/);
    expect(checkPolicies('permit(principal == ?principal, action, resource);')[0]!.message).toMatch(/templates/);
  });

  it('numbers policies without @id as policy<N> by their position in the source, across more than ten policies', () => {
    const text = Array.from({ length: 12 }, (_, i) =>
      i === 5 ? '@id("named") permit(principal, action, resource) when { context.n == 5 };' : `permit(principal, action, resource) when { context.n == ${i} };`,
    ).join('\n');
    const engine = createPolicyEngine({ policies: text });
    expect(engine.policyIds).toEqual([
      'policy0', 'policy1', 'policy2', 'policy3', 'policy4', 'named', 'policy6', 'policy7', 'policy8', 'policy9', 'policy10', 'policy11',
    ]);
    const op = (n: number): Operation => ({ protocol: 'http', action: 'http:GET', attributes: { n }, summary: '' });
    expect(engine.decide(principal([]), 'c', op(11)).reasons).toEqual(['policy11']);
    expect(engine.decide(principal([]), 'c', op(2)).reasons).toEqual(['policy2']);
    expect(engine.decide(principal([]), 'c', op(5)).reasons).toEqual(['named']);
    expect(engine.policy('policy11')?.line).toBe(12);
  });
});

describe('context attributes', () => {
  it('keeps an attribute named __proto__ as an ordinary key', () => {
    const engine = createPolicyEngine({ policies: 'permit(principal, action, resource) when { context.path == "/x" };' });
    const attributes = JSON.parse('{"__proto__": "polluted", "path": "/x"}') as Operation['attributes'];
    const decision = engine.decide(principal([]), 'c', { protocol: 'http', action: 'http:GET', attributes, summary: '' });
    expect(decision.effect).toBe('allow');
  });
});

describe('several engines', () => {
  it('keep their prepared policy subsets apart, and a closed engine denies', () => {
    const text = `
      @id("g1") permit(principal in Gatehouse::Group::"g1", action, resource);
      @id("g2-forbid") forbid(principal in Gatehouse::Group::"g2", action, resource);
      @id("all-get") permit(principal, action == Gatehouse::Action::"http:GET", resource);
    `;
    const a = createPolicyEngine({ policies: text, decisionCacheSize: 0, preparedSubsets: 2 });
    const b = createPolicyEngine({ policies: text, decisionCacheSize: 0, preparedSubsets: 2 });
    for (let i = 0; i < 3; i++) {
      expect(a.decide(principal(['g1']), 'c', http('POST')).effect).toBe('allow');
      expect(b.decide(principal(['g2']), 'c', http('GET')).code).toBe('policy.forbid');
      expect(a.decide(principal(['g2']), 'c', http('GET')).code).toBe('policy.forbid');
      expect(b.decide(principal(['g1']), 'c', http('POST')).effect).toBe('allow');
    }
    a.close();
    expect(a.decide(principal(['g1']), 'c', http('POST'))).toMatchObject({ effect: 'deny', code: 'policy.error' });
    expect(b.decide(principal(['g1']), 'c', http('POST')).effect).toBe('allow');
  });
});

describe('the decision cache', () => {
  it('returns the cached decision for a repeated request, across cache generations, and stays right', () => {
    const engine = createPolicyEngine({
      policies: '@id("get") permit(principal, action == Gatehouse::Action::"http:GET", resource);',
      decisionCacheSize: 4,
    });
    const ada = principal(['g']);
    const first = engine.decide(ada, 'c', http('GET', '/a'));
    expect(engine.decide(ada, 'c', http('GET', '/a'))).toBe(first); // a hit is the same frozen object
    engine.decide(ada, 'c', http('GET', '/b')); // fills the young generation: /a moves to the old one
    expect(engine.decide(ada, 'c', http('GET', '/a'))).toBe(first);
    for (const path of ['/c', '/d', '/e', '/f', '/g']) engine.decide(ada, 'c', http('POST', path));
    const again = engine.decide(ada, 'c', http('GET', '/a')); // evicted: evaluated afresh, same answer
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    expect(engine.decide(ada, 'c', http('POST', '/c')).effect).toBe('deny');
  });
});

describe('the cache key of flat attributes', () => {
  it('tells apart records whose plain concatenation would collide', () => {
    const records: Record<string, string | number | boolean>[] = [
      { path: 'a', host: 'bc' },
      { path: 'ab', host: 'c' },
      { path: 'a', hos: 'tbc' },
      { path: '1:a', host: '' },
      { path: '1', host: ':a' },
      { path: 'x', n: 1 },
      { path: 'x', n: 1.5 },
      { path: 'x', n: '1' },
      { path: 'x', b: true },
      { path: 'x', b: 't' },
      { path: 'xs1:t' },
    ];
    const keys = records.map((r) => flatContextKey(r));
    expect(new Set(keys).size).toBe(records.length);
    expect(flatContextKey({ path: 'a', host: 'bc' })).toBe(keys[0]);
    expect(flatContextKey({ tables: ['a'] })).toBeUndefined();
  });

  it('gives decisions that follow the values, not a shared key', () => {
    const engine = createPolicyEngine({ policies: 'permit (principal, action, resource) when { context.path == "a" && context.host == "bc" };' });
    const who = principal(['developers']);
    const op = (attributes: Record<string, string>): Operation => ({ protocol: 'http', action: 'http:GET', attributes, summary: 'GET' });
    expect(engine.decide(who, 'c', op({ path: 'a', host: 'bc' })).effect).toBe('allow');
    expect(engine.decide(who, 'c', op({ path: 'ab', host: 'c' })).effect).toBe('deny');
    expect(engine.decide(who, 'c', op({ path: 'a', host: 'bc' })).effect).toBe('allow');
  });
});

describe('decision cache keyed by frozen attribute objects', () => {
  it('reuses the key of a deeply frozen attributes object, and never of a mutable one', () => {
    const engine = createPolicyEngine({ policies: 'permit (principal, action, resource) when { context.path == "/ok" };' });
    const who = principal(['developers']);
    const mutable: Record<string, string> = { method: 'GET', path: '/ok', host: 'h' };
    const op = (attributes: Operation['attributes']): Operation => ({ protocol: 'http', action: 'http:GET', attributes, summary: 'GET' });
    expect(engine.decide(who, 'api', op(mutable)).effect).toBe('allow');
    mutable.path = '/other';
    expect(engine.decide(who, 'api', op(mutable)).effect).toBe('deny');
    const frozen = Object.freeze({ method: 'GET', path: '/ok', host: 'h', tables: Object.freeze(['a']) });
    expect(engine.decide(who, 'api', op(frozen)).effect).toBe('allow');
    expect(engine.decide(who, 'api', op(frozen)).effect).toBe('allow');
  });
});
