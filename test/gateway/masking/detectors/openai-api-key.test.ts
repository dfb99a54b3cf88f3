import { openaiApiKey } from '../../../../gateway/src/masking/detectors/openai-api-key';

const urlsafe = (n: number): string => 'aB3-dE6_gH9jK2mN5pQ8'.repeat(10).slice(0, n);
const alnum = (n: number): string => 'aB3dE6gH9jK2mN5pQ8rS'.repeat(10).slice(0, n);
const PROJ = `sk-proj-${urlsafe(74)}T3BlbkFJ${urlsafe(74)}`;
const SVC = `sk-svcacct-${urlsafe(58)}T3BlbkFJ${urlsafe(58)}`;
const ADMIN = `sk-admin-${urlsafe(58)}T3BlbkFJ${urlsafe(58)}`;
const LEGACY = `sk-${alnum(20)}T3BlbkFJ${alnum(20)}`;
const PROJ48 = `sk-proj-${alnum(48)}`;

const found = (text: string): string[] => openaiApiKey.find(text).map((d) => text.slice(d.start, d.end));

describe('openai-api-key', () => {
  it.each([
    [`OPENAI_API_KEY=${PROJ}`, PROJ],
    [`Authorization: Bearer ${SVC}`, SVC],
    [`"key": "${ADMIN}"`, ADMIN],
    [`openai.api_key = '${LEGACY}'`, LEGACY],
    [`OPENAI_API_KEY=${PROJ48}`, PROJ48],
  ])('finds exactly the value in %s', (text: string, value: string) => {
    expect(found(text)).toEqual([value]);
  });
  it.each([
    ['OPENAI_API_KEY=sk-proj-...'],
    [`sk-${alnum(48)}`],
    ['model: gpt-4o-mini, task-id: sk-proj-short-1'],
    [`ask-${alnum(20)}T3BlbkFJ${alnum(20)}`],
  ])('ignores %s', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = openaiApiKey.find(`OPENAI_API_KEY=${PROJ}`)[0]!;
    expect(d.rule).toBe(openaiApiKey.id);
    expect(d.type).toBe(openaiApiKey.type);
    expect(d.end - d.start).toBeLessThanOrEqual(openaiApiKey.maxLength);
  });
});
