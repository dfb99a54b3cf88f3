import { jwt } from '../../../../gateway/src/masking/detectors/jwt';

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
const JWT = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ sub: 'fake-user', exp: 1700000000 })}.${'sig_-'.repeat(8)}`;
const UNSIGNED = `${b64({ alg: 'none' })}.${b64({ sub: 'fake-user' })}.`;

const found = (text: string): string[] => jwt.find(text).map((d) => text.slice(d.start, d.end));

describe('jwt', () => {
  it('finds exactly the value in `Authorization: Bearer ${JWT}`', () => {
    expect(found(`Authorization: Bearer ${JWT}`)).toEqual([JWT]);
  });
  it('finds exactly the value in `{"id_token":"${UNSIGNED}"}`', () => {
    expect(found(`{"id_token":"${UNSIGNED}"}`)).toEqual([UNSIGNED]);
  });
  it.each([
    [`${Buffer.from('{"typ":"x"}').toString('base64url')}.eyJzdWIiOiIxIn0.c2ln`],
    ['eyJhbGciOiJIUzI1NiJ9 alone'],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = jwt.find(`Authorization: Bearer ${JWT}`)[0]!;
    expect(d.rule).toBe(jwt.id);
    expect(d.type).toBe(jwt.type);
    expect(Number.isFinite(jwt.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(jwt.maxLength);
  });
});
