import { anthropicApiKey } from '../../../../gateway/src/masking/detectors/anthropic-api-key';

const body = (n: number): string => 'Ab9_-xY7Qz'.repeat(20).slice(0, n);
const API03 = `sk-ant-api03-${body(93)}AA`;
const ADMIN01 = `sk-ant-admin01-${body(93)}AA`;
const OAT01 = `sk-ant-oat01-${body(90)}AA`;

const found = (text: string): string[] => anthropicApiKey.find(text).map((d) => text.slice(d.start, d.end));

describe('anthropic-api-key', () => {
  it.each([
    [`ANTHROPIC_API_KEY=${API03}`, API03],
    [`x-api-key: ${ADMIN01}`, ADMIN01],
    [`{"accessToken":"${OAT01}","expiresAt":1}`, OAT01],
  ])('finds exactly the value in %s', (text: string, value: string) => {
    expect(found(text)).toEqual([value]);
  });
  it.each([
    ['ANTHROPIC_API_KEY=sk-ant-api03-...'],
    ['set it to sk-ant-api03-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx (a placeholder)'],
    [`sk-ant-api03-${body(40)}`],
    [`xsk-ant-api03-${body(93)}AA`],
    [`sk-ant-ap03-${body(93)}AA`],
  ])('ignores %s', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = anthropicApiKey.find(`ANTHROPIC_API_KEY=${API03}`)[0]!;
    expect(d.rule).toBe(anthropicApiKey.id);
    expect(d.type).toBe(anthropicApiKey.type);
    expect(d.end - d.start).toBeLessThanOrEqual(anthropicApiKey.maxLength);
  });
});
