import { isGatehouseError } from '../../../../gateway/src/errors';
import { PII_DETECTORS, SECRET_DETECTORS, builtInDetectors } from '../../../../gateway/src/masking/detectors/index';

describe('built-in detector packs', () => {
  it('have unique ids, the right family and a finite maxLength each', () => {
    const all = [...SECRET_DETECTORS, ...PII_DETECTORS];
    expect(new Set(all.map((d) => d.id)).size).toBe(all.length);
    expect(SECRET_DETECTORS.every((d) => d.family === 'secret')).toBe(true);
    expect(PII_DETECTORS.every((d) => d.family === 'pii')).toBe(true);
    expect(all.every((d) => Number.isFinite(d.maxLength) && d.maxLength > 0)).toBe(true);
  });

  it('returns every built-in rule by default', () => {
    expect(builtInDetectors()).toHaveLength(SECRET_DETECTORS.length + PII_DETECTORS.length);
  });

  it('selects by family, include and exclude', () => {
    expect(builtInDetectors({ families: ['pii'] }).map((d) => d.id)).toEqual(PII_DETECTORS.map((d) => d.id));
    expect(builtInDetectors({ include: ['email', 'jwt'] }).map((d) => d.id).sort()).toEqual(['email', 'jwt']);
    expect(builtInDetectors({ families: ['secret'], include: ['email', 'jwt'] }).map((d) => d.id)).toEqual(['jwt']);
    expect(builtInDetectors({ exclude: ['phone'] }).some((d) => d.id === 'phone')).toBe(false);
  });

  it('refuses unknown rule ids so a typo cannot turn masking off', () => {
    let caught: unknown;
    try {
      builtInDetectors({ exclude: ['phnoe'] });
    } catch (e) {
      caught = e;
    }
    expect(isGatehouseError(caught, 'GH_ERR_CONFIG_INVALID')).toBe(true);
  });

  it('detectors are reentrant: repeated calls give the same result', () => {
    const text = 'mail alice@example.com and bob@example.org';
    const [first, second] = [builtInDetectors({ include: ['email'] })[0]!.find(text), builtInDetectors({ include: ['email'] })[0]!.find(text)];
    expect(first).toHaveLength(2);
    expect(second).toEqual(first);
  });
});
