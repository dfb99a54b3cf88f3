import { usSsn } from '../../../../gateway/src/masking/detectors/us-ssn';

const found = (text: string): string[] => usSsn.find(text).map((d) => text.slice(d.start, d.end));

describe('us-ssn', () => {
  it('finds exactly the value in SSN: 123-45-6789', () => {
    expect(found('SSN: 123-45-6789')).toEqual(['123-45-6789']);
  });
  it.each([
    ['000-12-3456'],
    ['666-12-3456'],
    ['912-34-5678'],
    ['123-00-4567'],
    ['123-45-0000'],
    ['2024-01-15'],
    ['ORD-123-45-6789'],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = usSsn.find('SSN: 123-45-6789')[0]!;
    expect(d.rule).toBe(usSsn.id);
    expect(d.type).toBe(usSsn.type);
    expect(Number.isFinite(usSsn.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(usSsn.maxLength);
  });
});
