import { phone } from '../../../../gateway/src/masking/detectors/phone';

const found = (text: string): string[] => phone.find(text).map((d) => text.slice(d.start, d.end));

describe('phone', () => {
  it('finds exactly the value in call +14155552671 now', () => {
    expect(found('call +14155552671 now')).toEqual(['+14155552671']);
  });
  it('finds exactly the value in {"phone":"(415) 555-2671"}', () => {
    expect(found('{"phone":"(415) 555-2671"}')).toEqual(['(415) 555-2671']);
  });
  it('finds exactly the value in tel 06 12 34 56 78', () => {
    expect(found('tel 06 12 34 56 78')).toEqual(['06 12 34 56 78']);
  });
  it('finds exactly the value in office +44 20 7946 0958', () => {
    expect(found('office +44 20 7946 0958')).toEqual(['+44 20 7946 0958']);
  });
  it.each([
    ['{"ts":1700000000,"id":5551234567}'],
    ['2024-01-15 10:30:45'],
    ['version 415.555.26'],
    ['order ORD-415-555-2671'],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = phone.find('call +14155552671 now')[0]!;
    expect(d.rule).toBe(phone.id);
    expect(d.type).toBe(phone.type);
    expect(Number.isFinite(phone.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(phone.maxLength);
  });
});
