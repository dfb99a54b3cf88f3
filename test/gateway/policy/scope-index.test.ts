import type { EntityJson } from '@cedar-policy/cedar-wasm/web';
import type { Principal } from '../../../gateway/src/identity/principal';
import { loadCedar } from '../../../gateway/src/policy/cedar-runtime';
import { createPolicyEngine } from '../../../gateway/src/policy/engine';

/**
 * The engine hands Cedar only the policies whose scope fits the request. That must never change a
 * decision: compare it, request by request, with Cedar evaluating the whole set over all entities.
 */
const POLICIES = `
@id("p-all") permit(principal, action == Gatehouse::Action::"http:OPTIONS", resource);
@id("p-group") permit(principal in Gatehouse::Group::"g1", action in Gatehouse::Action::"http:read", resource);
@id("p-user") permit(principal == Gatehouse::User::"corp|alice", action, resource == Gatehouse::Connection::"c2");
@id("p-is") permit(principal is Gatehouse::User in Gatehouse::Group::"g2", action in [Gatehouse::Action::"http:POST", Gatehouse::Action::"http:PUT"], resource is Gatehouse::Connection);
@id("p-res-in") permit(principal, action in Gatehouse::Action::"http:any", resource in Gatehouse::Connection::"c3") when { context.path like "/pub/*" };
@id("p-attr") permit(principal, action, resource) when { resource.name == "c1" && principal.kind == "workload" };
@id("p-wrong-type") permit(principal == Gatehouse::Group::"g1", action, resource);
@id("f-delete") forbid(principal, action == Gatehouse::Action::"http:DELETE", resource) unless { principal in Gatehouse::Group::"admins" };
@id("f-c3-writes") forbid(principal in Gatehouse::Group::"g2", action in Gatehouse::Action::"http:write", resource == Gatehouse::Connection::"c3");
@id("f-secret") forbid(principal, action, resource) when { context.path like "*secret*" };
@id("f-errors") forbid(principal in Gatehouse::Group::"g3", action, resource) when { context.size > 10 };
@id("r-admin") @decision("review") permit(principal in Gatehouse::Group::"g2", action in Gatehouse::Action::"http:write", resource) when { context.path like "/admin/*" };
`;

const USERS = ['alice', 'bob', 'carol'];
const GROUPS = ['g1', 'g2', 'g3', 'admins'];
const METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND'];
const CONNECTIONS = ['c1', 'c2', 'c3'];
const PATHS = ['/', '/pub/x', '/admin/x', '/a/secret/b'];

function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

describe('policy subsets by scope', () => {
  it('decide() agrees with Cedar over the whole set on 600 random requests', () => {
    const cedar = loadCedar();
    const engine = createPolicyEngine({ policies: POLICIES, preparedSubsets: 4 });
    const ids = engine.policyIds;
    const whole = Object.fromEntries(ids.map((id) => [id, engine.policy(id)!.text]));
    const readGroup = ['http:GET', 'http:HEAD', 'http:OPTIONS'];
    const writeGroup = ['http:POST', 'http:PUT', 'http:PATCH', 'http:DELETE'];
    const random = prng(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

    for (let i = 0; i < 600; i++) {
      const groups = GROUPS.filter(() => random() < 0.35);
      const principal: Principal = {
        issuer: 'https://idp',
        issuerName: 'corp',
        subject: pick(USERS),
        name: 'n',
        groups,
        kind: random() < 0.3 ? 'workload' : 'human',
        tokenId: 't',
      };
      const method = pick(METHODS);
      const action = `http:${method}`;
      const connection = pick(CONNECTIONS);
      const context: Record<string, string | number> = { path: pick(PATHS) };
      if (random() < 0.5) context.size = Math.floor(random() * 20);

      const parents = [
        ...(readGroup.includes(action) ? ['http:read'] : []),
        ...(writeGroup.includes(action) ? ['http:write'] : []),
        'http:any',
      ];
      const entities: EntityJson[] = [
        {
          uid: { type: 'Gatehouse::User', id: `corp|${principal.subject}` },
          attrs: { subject: principal.subject, issuer: principal.issuer, issuerName: 'corp', kind: principal.kind, name: 'n' },
          parents: groups.map((g) => ({ type: 'Gatehouse::Group', id: g })),
        },
        ...groups.map((g) => ({ uid: { type: 'Gatehouse::Group', id: g }, attrs: {}, parents: [] })),
        { uid: { type: 'Gatehouse::Action', id: action }, attrs: {}, parents: parents.map((id) => ({ type: 'Gatehouse::Action', id })) },
        ...parents.map((id) => ({ uid: { type: 'Gatehouse::Action', id }, attrs: {}, parents: [] })),
        { uid: { type: 'Gatehouse::Connection', id: connection }, attrs: { name: connection, protocol: 'http' }, parents: [] },
      ];
      const reference = cedar.isAuthorized({
        principal: { type: 'Gatehouse::User', id: `corp|${principal.subject}` },
        action: { type: 'Gatehouse::Action', id: action },
        resource: { type: 'Gatehouse::Connection', id: connection },
        context,
        policies: { staticPolicies: whole },
        entities,
      });
      if (reference.type !== 'success') throw new Error(JSON.stringify(reference.errors));
      const { decision, diagnostics } = reference.response;
      const errored = diagnostics.errors.map((e) => e.policyId).sort();

      const got = engine.decide(principal, connection, { protocol: 'http', action, attributes: context, summary: '' });
      const label = JSON.stringify({ groups, user: principal.subject, action, connection, context });
      if (errored.includes('f-errors')) {
        expect([label, got.code]).toEqual([label, 'policy.error']);
        continue;
      }
      expect([label, got.effect === 'deny' ? 'deny' : 'allow']).toEqual([label, decision]);
      if (decision === 'allow') {
        expect([label, [...got.reasons].sort()]).toEqual([
          label,
          got.effect === 'review' ? diagnostics.reason.filter((id) => id.startsWith('r-')).sort() : [...diagnostics.reason].sort(),
        ]);
      } else if (diagnostics.reason.length > 0) {
        expect([label, got.code, [...got.reasons].sort()]).toEqual([label, 'policy.forbid', [...diagnostics.reason].sort()]);
      } else {
        expect([label, got.code]).toEqual([label, 'policy.no_permit']);
      }
    }
  });
});
