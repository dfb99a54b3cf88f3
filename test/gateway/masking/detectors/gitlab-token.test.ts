import { gitlabToken } from '../../../../gateway/src/masking/detectors/gitlab-token';

const found = (text: string): string[] => gitlabToken.find(text).map((d) => text.slice(d.start, d.end));

describe('gitlab-token', () => {
  it('finds exactly the value in `PRIVATE-TOKEN: ${glpat- + x1Y2-z3_W4.repeat(2)}`', () => {
    expect(found(`PRIVATE-TOKEN: ${'glpat-' + 'x1Y2-z3_W4'.repeat(2)}`)).toEqual(['glpat-' + 'x1Y2-z3_W4'.repeat(2)]);
  });
  it.each([
    [`${'glpat-' + 'short'}`],
    ['glpat- tokens expire'],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = gitlabToken.find(`PRIVATE-TOKEN: ${'glpat-' + 'x1Y2-z3_W4'.repeat(2)}`)[0]!;
    expect(d.rule).toBe(gitlabToken.id);
    expect(d.type).toBe(gitlabToken.type);
    expect(Number.isFinite(gitlabToken.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(gitlabToken.maxLength);
  });
});
