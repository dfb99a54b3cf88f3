import type { Principal } from '../../../../gateway/src/identity/principal';
import { createPolicyEngine } from '../../../../gateway/src/policy/engine';
import { gitEndpoint } from '../../../../gateway/src/protocols/git/endpoint';
import type { PushInspection, RefUpdateFacts } from '../../../../gateway/src/protocols/git/inspect-push';
import { gitPushOperations, pushActionOf } from '../../../../gateway/src/protocols/git/operations';
import { decodeReceivePack } from '../../../../gateway/src/protocols/git/receive-pack';
import { encodePktLine, FLUSH_PKT } from '../../../../gateway/src/protocols/git/pkt-line';

/** Push operations judged by the real Cedar engine: per ref, by update, path and commit facts. */
const agent: Principal = { issuer: 'https://idp.example.test', issuerName: 'corp', subject: 'agent-1', name: 'agent', groups: ['agents'], kind: 'workload', tokenId: 't' };

const engine = createPolicyEngine({
  policies: `
    @id("agents-push") permit (principal in Gatehouse::Group::"agents", action in [Gatehouse::Action::"git:push", Gatehouse::Action::"git:delete"], resource);
    @id("agents-force-topics") permit (principal in Gatehouse::Group::"agents", action == Gatehouse::Action::"git:push:force", resource) when { context.ref like "refs/heads/agent/*" };
    @id("protect-main") @message("main is protected")
    forbid (principal, action == Gatehouse::Action::"git:delete", resource) when { context.ref == "refs/heads/main" };
    @id("no-workflows") @message("agents do not change CI workflows")
    forbid (principal, action == Gatehouse::Action::"git:push", resource) when { context.changedPaths.contains(".github/workflows/ci.yml") };
    @id("no-large-blobs") forbid (principal, action, resource) when { context has largestBlob && context.largestBlob > 1000000 };
  `,
});

const Z = '0'.repeat(40);
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

function facts(ref: string, kind: RefUpdateFacts['kind'], extra: Partial<RefUpdateFacts> = {}): RefUpdateFacts {
  return { ref, oldId: kind === 'create' ? Z : A, newId: kind === 'delete' ? Z : B, kind, commits: 1, authors: ['Ada <ada@example.com>'], committers: ['Ada <ada@example.com>'], signed: false, changedPaths: ['README.md'], pathsTruncated: false, largestBlob: 10, ...extra };
}

function decide(...refs: RefUpdateFacts[]): string[] {
  const e = gitEndpoint('POST', '/org/repo.git/git-receive-pack', {}, {});
  if (!e.ok) throw new Error(e.reason);
  // the request supplies the push-wide facts (atomic, options); the refs come from the inspection
  const s = decodeReceivePack(Buffer.concat([encodePktLine(`${A} ${B} refs/heads/x\0report-status atomic`), FLUSH_PKT]), false);
  if (s.status !== 'complete') throw new Error('not decoded');
  const inspection: PushInspection = { refs, packBytes: 0 };
  return gitPushOperations(e.endpoint, 'github', s.request, inspection).map((op) => {
    const d = engine.decide(agent, 'github', op);
    return `${op.action} ${String(op.attributes.ref)}: ${d.effect}${d.effect === 'allow' ? '' : ` (${d.reasons.join(',')})`}`;
  });
}

describe('git push operations in Cedar', () => {
  it('names deletions and rewrites as actions of their own', () => {
    expect(['create', 'fast-forward', 'force', 'delete'].map((k) => pushActionOf(k as RefUpdateFacts['kind']))).toEqual(['git:push', 'git:push', 'git:push:force', 'git:delete']);
  });

  it('judges each ref by its update, ref, paths and blob sizes', () => {
    expect(
      decide(
        facts('refs/heads/main', 'fast-forward'),
        facts('refs/heads/main2', 'force'),
        facts('refs/heads/agent/x', 'force'),
        facts('refs/heads/main', 'delete'),
        facts('refs/heads/ci', 'create', { changedPaths: ['.github/workflows/ci.yml'] }),
        facts('refs/heads/big', 'create', { largestBlob: 2_000_000 }),
      ),
    ).toEqual([
      'git:push refs/heads/main: allow',
      'git:push:force refs/heads/main2: deny ()',
      'git:push:force refs/heads/agent/x: allow',
      'git:delete refs/heads/main: deny (protect-main)',
      'git:push refs/heads/ci: deny (no-workflows)',
      'git:push refs/heads/big: deny (no-large-blobs)',
    ]);
  });
});
