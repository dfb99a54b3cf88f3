import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { utils } from 'ssh2';
import type { Principal } from '../../../../gateway/src/identity/principal';
import { parsePublicKey } from '../../../../gateway/src/protocols/ssh/host-key';
import { UserCertificateAuthority } from '../../../../gateway/src/protocols/ssh/user-certificate';
import { makeTempDir } from '../../../support/recording-helpers';

const principal: Principal = { issuer: 'https://idp.example', issuerName: 'corp', subject: 'ada', name: 'ada@example.com', groups: ['developers'], kind: 'human', tokenId: 'tok-1', expiresAt: 1_900_000_000 };
const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);

function fresh() {
  const ca = new UserCertificateAuthority(utils.generateKeyPairSync('ed25519').private);
  const user = parsePublicKey(utils.generateKeyPairSync('ed25519').public);
  const cert = ca.issue(user, principal, new Date(T0 - 60_000), new Date(T0 + 600_000));
  return { ca, user, cert, blob: Buffer.from(cert.line.split(' ')[1]!, 'base64') };
}

describe('gateway-signed OpenSSH user certificates', () => {
  it('round-trips: the signed principal, the certified key and its expiry come back; OpenSSH parses it as a user certificate', async () => {
    const { ca, user, cert, blob } = fresh();
    const check = ca.verify(blob, T0);
    expect(check).toMatchObject({ ok: true, principal, fingerprint: cert.fingerprint, expiresAt: new Date(T0 + 600_000) });
    if (check.ok) expect(check.key.blob.equals(user.blob)).toBe(true);
    const { dir, cleanup } = await makeTempDir('gh-cert-');
    try {
      writeFileSync(join(dir, 'k-cert.pub'), `${cert.line}\n`);
      const listed = execFileSync('ssh-keygen', ['-L', '-f', join(dir, 'k-cert.pub')], { encoding: 'utf8' });
      expect(listed).toContain('ssh-ed25519-cert-v01@openssh.com user certificate');
      expect(listed).toContain(`Serial: ${cert.serial}`);
    } finally {
      await cleanup();
    }
  });

  it('refuses it outside its validity, from another CA, and with any byte changed', () => {
    const { ca, blob } = fresh();
    expect(ca.verify(blob, T0 + 600_000)).toEqual({ ok: false, reason: 'expired' });
    expect(ca.verify(blob, T0 - 120_000)).toEqual({ ok: false, reason: 'not_yet_valid' });
    expect(fresh().ca.verify(blob, T0)).toEqual({ ok: false, reason: 'foreign_ca' });
    // Flip a byte in the signed principal (the extension near the end of the signed part).
    const tampered = Buffer.from(blob);
    const at = tampered.indexOf(Buffer.from('"developers"'));
    tampered[at + 1] = 'D'.charCodeAt(0);
    expect(ca.verify(tampered, T0)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(ca.verify(blob.subarray(0, 40), T0)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('certifies only ed25519 keys and loads only an ed25519 private key as the CA', () => {
    const { ca } = fresh();
    const rsa = parsePublicKey(utils.generateKeyPairSync('rsa', { bits: 2048 }).public);
    expect(() => ca.issue(rsa, principal, new Date(T0), new Date(T0 + 1000))).toThrow(/only ed25519/);
    expect(() => new UserCertificateAuthority(utils.generateKeyPairSync('ecdsa', { bits: 256 }).private)).toThrow(/ed25519/);
  });
});
