import { pypiToken } from '../../../../gateway/src/masking/detectors/pypi-token';

const TOKEN = `pypi-AgEIcHlwaS5vcmc${'CJGE2ZjQ3LWI5_-Mz'.repeat(8)}`;
const TEST = `pypi-AgENdGVzdC5weXBpLm9yZw${'IkNjQ5ZmQ3LWI5'.repeat(6)}`;

const found = (text: string): string[] => pypiToken.find(text).map((d) => text.slice(d.start, d.end));

describe('pypi-token', () => {
  it.each([
    [`password = ${TOKEN}`, TOKEN],
    [`TWINE_PASSWORD=${TEST}`, TEST],
  ])('finds exactly the value in %s', (text: string, value: string) => {
    expect(found(text)).toEqual([value]);
  });
  it.each([
    ['pypi-AgEIcHlwaS5vcmc'],
    ['pip install pypi-simple-server'],
    [`pypi-AgEIcHlwaS5vcm${'C'.repeat(60)}`],
  ])('ignores %s', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = pypiToken.find(`password = ${TOKEN}`)[0]!;
    expect(d.rule).toBe(pypiToken.id);
    expect(d.type).toBe(pypiToken.type);
    expect(d.end - d.start).toBeLessThanOrEqual(pypiToken.maxLength);
  });
});
