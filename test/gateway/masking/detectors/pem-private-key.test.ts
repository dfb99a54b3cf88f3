import { pemPrivateKey } from '../../../../gateway/src/masking/detectors/pem-private-key';

const found = (text: string): string[] => pemPrivateKey.find(text).map((d) => text.slice(d.start, d.end));

describe('pem-private-key', () => {
  it('finds exactly the value in `key:n${-----BEGIN RSA PRIVATE KEY-----n + MIIB.re', () => {
    expect(found(`key:\n${'-----BEGIN RSA PRIVATE KEY-----\n' + 'MIIB'.repeat(16) + '\n-----END RSA PRIVATE KEY-----'}\n`)).toEqual(['-----BEGIN RSA PRIVATE KEY-----\n' + 'MIIB'.repeat(16) + '\n-----END RSA PRIVATE KEY-----']);
  });
  it('finds exactly the value in `${-----BEGIN OPENSSH PRIVATE KEY-----nb3Bln-----E', () => {
    expect(found(`${'-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----'}`)).toEqual(['-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----']);
  });
  it.each([
    ['-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----'],
    ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = pemPrivateKey.find(`key:\n${'-----BEGIN RSA PRIVATE KEY-----\n' + 'MIIB'.repeat(16) + '\n-----END RSA PRIVATE KEY-----'}\n`)[0]!;
    expect(d.rule).toBe(pemPrivateKey.id);
    expect(d.type).toBe(pemPrivateKey.type);
    expect(Number.isFinite(pemPrivateKey.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(pemPrivateKey.maxLength);
  });
});
