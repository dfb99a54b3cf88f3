import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { derToP1363, p1363ToDer } from '../../../../gateway/src/recording/signers/ecdsa-der';

describe('ECDSA signature encodings (JOSE r||s from Key Vault → DER for digests)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('r||s signatures from node:crypto convert to DER that verifies, and back (high-bit and short r, s included)', () => {
    // 200 signatures cover both padding cases: a leading 1 bit needs a 0x00 pad, a leading 0x00 is dropped.
    for (let i = 0; i < 200; i++) {
      const message = Buffer.from(`message ${i}`);
      const raw = cryptoSign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      const der = p1363ToDer(raw);
      expect(cryptoVerify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, der)).toBe(true);
      expect(derToP1363(der)).toEqual(raw);
    }
  });

  it('handles extreme integers and refuses a wrong length', () => {
    const raw = Buffer.concat([Buffer.alloc(31, 0), Buffer.from([1]), Buffer.alloc(32, 0xff)]);
    const der = p1363ToDer(raw);
    expect(der.toString('hex')).toBe('3026' + '020101' + '022100' + 'ff'.repeat(32));
    expect(derToP1363(der)).toEqual(raw);
    expect(() => p1363ToDer(Buffer.alloc(63))).toThrow(/64 bytes/);
  });
});
