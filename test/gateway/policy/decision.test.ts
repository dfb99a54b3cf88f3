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

  it('are never branched on by string prefix in gateway/src', async () => {
    const prefixBranch = /\b(?:decision|decisionCode)(?:\.code)?\.(?:startsWith|endsWith|includes|indexOf)\(/;
    const offenders: string[] = [];
    for (const file of await sourceFiles(SRC)) {
      const lines = (await readFile(file, 'utf8')).split('\n');
      lines.forEach((line, i) => {
        if (prefixBranch.test(line)) offenders.push(`${file.slice(SRC.length + 1)}:${i + 1}`);
      });
    }
    expect(offenders).toEqual([]);
  });
});
