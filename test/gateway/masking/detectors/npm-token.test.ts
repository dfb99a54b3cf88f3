import { npmToken } from '../../../../gateway/src/masking/detectors/npm-token';

const TOKEN = `npm_${'a1B2c3D4e5F6'.repeat(3)}`;

const found = (text: string): string[] => npmToken.find(text).map((d) => text.slice(d.start, d.end));

describe('npm-token', () => {
  it.each([
    [`//registry.npmjs.org/:_authToken=${TOKEN}`, TOKEN],
    [`NPM_TOKEN: ${TOKEN}`, TOKEN],
  ])('finds exactly the value in %s', (text: string, value: string) => {
    expect(found(text)).toEqual([value]);
  });
  it.each([
    ['npm_config_registry=https://registry.npmjs.org/'],
    [`npm_${'a1B2c3'.repeat(5)}`],
    ['run npm_lifecycle_event to see the script'],
  ])('ignores %s', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = npmToken.find(`//registry.npmjs.org/:_authToken=${TOKEN}`)[0]!;
    expect(d.rule).toBe(npmToken.id);
    expect(d.type).toBe(npmToken.type);
    expect(d.end - d.start).toBeLessThanOrEqual(npmToken.maxLength);
  });
});
