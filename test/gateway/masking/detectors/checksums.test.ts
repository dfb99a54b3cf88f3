import { ibanChecksumValid, luhnValid } from '../../../../gateway/src/masking/detectors/checksums';

describe('checksums', () => {
  it('Luhn accepts valid card numbers and rejects a changed digit', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('41x1')).toBe(false);
  });

  it('IBAN mod-97 accepts the reference IBANs and rejects a changed check digit', () => {
    expect(ibanChecksumValid('DE89370400440532013000')).toBe(true);
    expect(ibanChecksumValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanChecksumValid('DE88370400440532013000')).toBe(false);
    expect(ibanChecksumValid('DE89370400440532013000!')).toBe(false);
  });
});
