import { iban } from '../../../../gateway/src/masking/detectors/iban';

const found = (text: string): string[] => iban.find(text).map((d) => text.slice(d.start, d.end));

describe('iban', () => {
  it('finds exactly the value in IBAN: DE89 3704 0044 0532 0130 00', () => {
    expect(found('IBAN: DE89 3704 0044 0532 0130 00')).toEqual(['DE89 3704 0044 0532 0130 00']);
  });
  it('finds exactly the value in {"iban":"GB82WEST12345698765432"}', () => {
    expect(found('{"iban":"GB82WEST12345698765432"}')).toEqual(['GB82WEST12345698765432']);
  });
  it.each([
    ['DE88 3704 0044 0532 0130 00'],
    ['GB82WEST1234569876543'],
    ['XX89370400440532013000'],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = iban.find('IBAN: DE89 3704 0044 0532 0130 00')[0]!;
    expect(d.rule).toBe(iban.id);
    expect(d.type).toBe(iban.type);
    expect(Number.isFinite(iban.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(iban.maxLength);
  });
});
