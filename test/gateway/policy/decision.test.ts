import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DECISION_CODES, isApprovalOutcome, refusalErrorCode, type DecisionCode } from '../../../gateway/src/policy/decision';

const SRC = fileURLToPath(new URL('../../../gateway/src', import.meta.url));

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...(await sourceFiles(p)));
    else if (d.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('decision codes', () => {
  it('are one namespace of unique, dotted codes', () => {
    const codes = Object.values(DECISION_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c).toMatch(/^[a-z]+\.[a-z_]+$/);
  });

  it('name approval outcomes by membership, not by prefix', () => {
    expect(isApprovalOutcome(DECISION_CODES.approvalGranted)).toBe(true);
    expect(isApprovalOutcome(DECISION_CODES.approvalUnavailable)).toBe(true);
    expect(isApprovalOutcome(DECISION_CODES.permit)).toBe(false);
    expect(isApprovalOutcome(DECISION_CODES.review)).toBe(false);
    expect(isApprovalOutcome(DECISION_CODES.postgresUnparsedReview)).toBe(false);
  });

  it('map a refusal to the error the client is answered with', () => {
    const expected: Partial<Record<DecisionCode, string>> = {
      'approval.denied': 'GH_ERR_APPROVAL_DENIED',
      'approval.cancelled': 'GH_ERR_APPROVAL_DENIED',
      'approval.expired': 'GH_ERR_APPROVAL_EXPIRED',
      'approval.unavailable': 'GH_ERR_POLICY_DENIED',
      'policy.forbid': 'GH_ERR_POLICY_DENIED',
      'policy.no_permit': 'GH_ERR_POLICY_DENIED',
      'policy.error': 'GH_ERR_POLICY_DENIED',
    };
    for (const [code, error] of Object.entries(expected)) expect([code, refusalErrorCode(code as DecisionCode)]).toEqual([code, error]);
  });

  // Any `.code.startsWith('approval.')` (or endsWith/includes/indexOf) with a string of the
  // decision namespace is a branch on a decision code by text, whatever the variable is called.
  const namespaces = new Set(Object.values(DECISION_CODES).map((c) => c.slice(0, c.indexOf('.'))));
  const stringTest = /(?:\b(?:decision|decisionCode)(?:\.code)?|\.code)\??\.(?:startsWith|endsWith|includes|indexOf)\(\s*(?:(['"`])((?:(?!\1).)*)\1)?/g;
  const branchesOnDecisionCode = (line: string): boolean => {
    for (const m of line.matchAll(stringTest)) {
      const literal = m[2];
      // decision.startsWith(x) on a variable named for a decision: a branch whatever x is.
      if (!m[0].startsWith('.code')) return true;
      if (literal === undefined) continue;
      if (namespaces.has(literal.split('.')[0]!)) return true;
      if (literal.length >= 3 && Object.values(DECISION_CODES).some((c) => c.startsWith(literal) || c.endsWith(literal))) return true;
    }
    return false;
  };

  it('the prefix guard catches any .code string test with a decision-namespace string, not only on a variable named decision', () => {
    expect(branchesOnDecisionCode("if (refusal.code.startsWith('approval.')) return;")).toBe(true);
    expect(branchesOnDecisionCode('const mine = d.code?.includes("postgres.");')).toBe(true);
    expect(branchesOnDecisionCode("if (event.payload.code.endsWith('.expired')) x();")).toBe(true);
    expect(branchesOnDecisionCode('if (decisionCode.startsWith(prefix)) x();')).toBe(true);
    expect(branchesOnDecisionCode("if (decision.code.indexOf('policy') === 0) x();")).toBe(true);
    // Error codes and SQLSTATEs are not decision codes.
    expect(branchesOnDecisionCode("if (err.code.startsWith('GH_ERR_')) x();")).toBe(false);
    expect(branchesOnDecisionCode("if (e.code.startsWith('08')) x();")).toBe(false);
    expect(branchesOnDecisionCode("if (decision.code === DECISION_CODES.permit) x();")).toBe(false);
  });

  it('are never branched on by string prefix in gateway/src', async () => {
    const offenders: string[] = [];
    for (const file of await sourceFiles(SRC)) {
      const lines = (await readFile(file, 'utf8')).split('\n');
      lines.forEach((line, i) => {
        if (branchesOnDecisionCode(line)) offenders.push(`${file.slice(SRC.length + 1)}:${i + 1}`);
      });
    }
    expect(offenders).toEqual([]);
  });
});
