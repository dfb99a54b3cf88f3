import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPolicies } from '../../../gateway/src/policy/engine';
import { readPolicySources } from '../../../gateway/src/policy/sources';

describe('readPolicySources', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads inline text and files in order, so problems name the file they are in', () => {
    writeFileSync(join(dir, 'ok.cedar'), 'permit(principal, action, resource);\n');
    writeFileSync(join(dir, 'bad.cedar'), '\n\nforbid(principal, action, resource)\n');
    const sources = readPolicySources({ cedar: 'permit(principal, action, resource);', files: ['ok.cedar', 'bad.cedar'] }, dir);
    expect(sources.map((s) => s.name)).toEqual(['inline', 'ok.cedar', 'bad.cedar']);
    const problems = checkPolicies(sources);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ source: 'bad.cedar', line: 3 });
  });

  it('reports every unreadable file at once', () => {
    expect(() => readPolicySources({ files: ['a.cedar', 'b.cedar'] }, dir)).toThrow(
      /policy files cannot be read: a\.cedar \(ENOENT\), b\.cedar \(ENOENT\)/,
    );
  });
});
