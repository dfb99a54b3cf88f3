import { googleApiKey } from '../../../../gateway/src/masking/detectors/google-api-key';

const KEY = `AIza${'Sy0aB-_c'.repeat(5).slice(0, 35)}`;

const found = (text: string): string[] => googleApiKey.find(text).map((d) => text.slice(d.start, d.end));

describe('google-api-key', () => {
  it.each([
    [`https://maps.googleapis.com/maps/api/geocode/json?address=x&key=${KEY}`, KEY],
    [`GEMINI_API_KEY="${KEY}"`, KEY],
  ])('finds exactly the value in %s', (text: string, value: string) => {
    expect(found(text)).toEqual([value]);
  });
  it.each([
    ['AIza is the prefix of Google API keys'],
    [`${KEY}x`],
    [`AIzb${'Sy0aB-_c'.repeat(5).slice(0, 35)}`],
  ])('ignores %s', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = googleApiKey.find(`https://maps.googleapis.com/maps/api/geocode/json?address=x&key=${KEY}`)[0]!;
    expect(d.rule).toBe(googleApiKey.id);
    expect(d.type).toBe(googleApiKey.type);
    expect(d.end - d.start).toBeLessThanOrEqual(googleApiKey.maxLength);
  });
});
