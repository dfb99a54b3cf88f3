import { githubToken } from '../../../../gateway/src/masking/detectors/github-token';

const found = (text: string): string[] => githubToken.find(text).map((d) => text.slice(d.start, d.end));

describe('github-token', () => {
  it('finds exactly the value in `token ${ghp_ + aB3.repeat(12)} used`', () => {
    expect(found(`token ${'ghp_' + 'aB3'.repeat(12)} used`)).toEqual(['ghp_' + 'aB3'.repeat(12)]);
  });
  it('finds exactly the value in `GH=${github_pat_ + A1.repeat(11) + _ + b2.repeat(', () => {
    expect(found(`GH=${'github_pat_' + 'A1'.repeat(11) + '_' + 'b2'.repeat(29) + 'c'}`)).toEqual(['github_pat_' + 'A1'.repeat(11) + '_' + 'b2'.repeat(29) + 'c']);
  });
  it.each([
    [`${'ghp_' + 'a'.repeat(20)}`],
    ['use ghp_ tokens for git over https'],
    [`${'ghx_' + 'a'.repeat(36)}`],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = githubToken.find(`token ${'ghp_' + 'aB3'.repeat(12)} used`)[0]!;
    expect(d.rule).toBe(githubToken.id);
    expect(d.type).toBe(githubToken.type);
    expect(Number.isFinite(githubToken.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(githubToken.maxLength);
  });
});
