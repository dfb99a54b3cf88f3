import type { Principal } from '../../../gateway/src/identity/principal';
import type { Operation } from '../../../gateway/src/policy/decision';
import { createPolicyEngine, flatContextKey } from '../../../gateway/src/policy/engine';
import { canonicalTarget } from '../../../gateway/src/protocols/http/canonical-target';

const ada: Principal = { issuer: 'https://idp.test', issuerName: 'corp', subject: 'ada', name: 'ada', groups: ['developers'], kind: 'human', tokenId: 't' };

function op(target: string): Operation {
  const t = canonicalTarget(target);
  return { protocol: 'http', action: 'http:GET', attributes: { method: 'GET', path: t.path, host: 'h', connection: 'api', query: t.params }, summary: `GET ${target}` };
}

/** `context.query` (issue 15): a Cedar record policies can read, decided and cached per content. */
describe('policy: context.query', () => {
  const engine = createPolicyEngine({
    policies: `
      @id("all") permit (principal, action, resource);
      @id("no-debug") forbid (principal, action, resource) when { context.query has "debug" && context.query.debug == "1" };
      @id("no-dry-run-off") forbid (principal, action, resource) when { context.query has "dry-run" && context.query["dry-run"] == "false" };
    `,
  });

  it.each([
    ['/x', 'allow'],
    ['/x?debug=0', 'allow'],
    ['/x?debug=1', 'deny'],
    ['/x?DEBUG=1', 'deny'],
    ['/x?%64ebug=%31', 'deny'],
    ['/x?a=1&debug=1', 'deny'],
    ['/x?dry-run=false', 'deny'],
    ['/x?dry-run=true', 'allow'],
    ['/x?__proto__=1&debug=0', 'allow'],
  ])('%s → %s', (target, effect) => {
    expect(engine.decide(ada, 'api', op(target)).effect).toBe(effect);
  });

  it('keys the decision cache on every query name and value', () => {
    const a = flatContextKey(op('/x?ab=c').attributes);
    const b = flatContextKey(op('/x?a=bc').attributes);
    expect(a).toBeDefined();
    expect(a).not.toBe(b);
    expect(flatContextKey(op('/x?debug=1').attributes)).not.toBe(flatContextKey(op('/x?debug=0').attributes));
  });
});
