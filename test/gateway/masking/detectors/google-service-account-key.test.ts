import { googleServiceAccountKey } from '../../../../gateway/src/masking/detectors/google-service-account-key';

const found = (text: string): string[] => googleServiceAccountKey.find(text).map((d) => text.slice(d.start, d.end));

describe('google-service-account-key', () => {
  it('finds exactly the value in `{"private_key_id":"${ab12.repeat(10)}"}`', () => {
    expect(found(`{"private_key_id":"${'ab12'.repeat(10)}"}`)).toEqual(['ab12'.repeat(10)]);
  });
  it('finds exactly the value in `{"private_key":"${-----BEGIN PRIVATE KEY-----n + ', () => {
    expect(found(`{"private_key":"${'-----BEGIN PRIVATE KEY-----\\n' + 'MIIE'.repeat(8) + '\\n-----END PRIVATE KEY-----\\n'}","x":1}`)).toEqual(['-----BEGIN PRIVATE KEY-----\\n' + 'MIIE'.repeat(8) + '\\n-----END PRIVATE KEY-----\\n']);
  });
  it.each([
    ['{"private_key": null, "private_key_id": ""}'],
    [`{"key_id":"${'ab12'.repeat(10)}"}`],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = googleServiceAccountKey.find(`{"private_key_id":"${'ab12'.repeat(10)}"}`)[0]!;
    expect(d.rule).toBe(googleServiceAccountKey.id);
    expect(d.type).toBe(googleServiceAccountKey.type);
    expect(Number.isFinite(googleServiceAccountKey.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(googleServiceAccountKey.maxLength);
  });
});
