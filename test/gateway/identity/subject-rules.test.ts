import { describe, expect, it } from '@jest/globals';
import { compileSubjectRule, groupsFromSubjectRules } from '../../../gateway/src/identity/subject-rules';

describe('subject rule globs', () => {
  const matches = (pattern: string, sub: string, claims: Record<string, unknown> = {}, required: Record<string, string> = {}) =>
    compileSubjectRule({ subject: pattern, claims: required }).matches({ sub, ...claims });

  it('matches a GitHub Actions subject exactly', () => {
    expect(matches('repo:acme/api:ref:refs/heads/main', 'repo:acme/api:ref:refs/heads/main')).toBe(true);
    expect(matches('repo:acme/api:ref:refs/heads/main', 'repo:acme/api:ref:refs/heads/main2')).toBe(false);
    expect(matches('repo:acme/api:ref:refs/heads/main', 'prefix-repo:acme/api:ref:refs/heads/main')).toBe(false);
  });

  it('lets * match any run of characters, including "/" and ":" and nothing', () => {
    expect(matches('repo:acme/*', 'repo:acme/api:ref:refs/heads/feature/x')).toBe(true);
    expect(matches('repo:acme/*:environment:prod', 'repo:acme/:environment:prod')).toBe(true);
    expect(matches('repo:acme/*', 'repo:other/api')).toBe(false);
  });

  it('treats regular-expression characters literally', () => {
    expect(matches('repo:acme/a.i', 'repo:acme/api')).toBe(false);
    expect(matches('repo:acme/(x|y)+', 'repo:acme/(x|y)+')).toBe(true);
    expect(matches('repo:acme/(x|y)+', 'repo:acme/x')).toBe(false);
  });

  it('requires listed claims to be equal strings', () => {
    expect(matches('*', 's', { repository_owner: 'acme' }, { repository_owner: 'acme' })).toBe(true);
    expect(matches('*', 's', { repository_owner: 'Acme' }, { repository_owner: 'acme' })).toBe(false);
    expect(matches('*', 's', {}, { repository_owner: 'acme' })).toBe(false);
    expect(matches('*', 's', { run_number: 7 }, { run_number: '7' })).toBe(false);
  });

  it('collects groups from every matching rule and reports no match as undefined', () => {
    const rules = [
      compileSubjectRule({ subject: 'repo:acme/*', groups: ['ci'] }),
      compileSubjectRule({ subject: 'repo:acme/api:*', groups: ['api'] }),
      compileSubjectRule({ subject: 'repo:acme/web:*', groups: ['web'] }),
    ];
    expect(groupsFromSubjectRules(rules, { sub: 'repo:acme/api:ref:refs/heads/main' })).toEqual(['ci', 'api']);
    expect(groupsFromSubjectRules(rules, { sub: 'repo:evil/api' })).toBeUndefined();
    expect(groupsFromSubjectRules([], { sub: 'anything' })).toBeUndefined();
  });
});
