import { randomBytes } from 'node:crypto';
import { createKeyring, mintCallerCredential } from '../../../../gateway/src/protocols/aws/credentials';
import { mintPresignTicket, verifyPresignTicket } from '../../../../gateway/src/protocols/aws/presign';
import type { Principal } from '../../../../gateway/src/identity';

/** Gateway presigned-URL tickets: bound, unforgeable, verified statelessly by any holder of the keyring. */
const keyring = createKeyring('k1', { k1: randomBytes(32) });
const NOW = 1_800_000_000;
const principal: Principal = { issuer: 'https://idp.example', issuerName: 'corp', subject: 'ada', name: 'Ada', groups: ['developers'], kind: 'human', tokenId: 't1', expiresAt: NOW + 600 };
const grant = { connection: 's3', method: 'GET' as const, operation: 'GetObject', bucket: 'b', key: 'dir/k.txt' };

describe('presign tickets', () => {
  it('round-trips on another replica holding the same keyring (rotated: old key still verifies)', () => {
    const { ticket, claims } = mintPresignTicket(keyring, principal, grant, { now: NOW, ttlSeconds: 300 });
    const rotated = createKeyring('k2', { k1: keyring.keys.get('k1')!, k2: randomBytes(32) });
    expect(verifyPresignTicket(rotated, ticket, 's3', NOW + 10)).toEqual(claims);
    expect(claims).toMatchObject({ ...grant, principal: { subject: 'ada', groups: ['developers'], expiresAt: NOW + 300 }, expiresAt: NOW + 300 });
  });

  it('never outlives the caller\'s token, and lives at most an hour', () => {
    expect(mintPresignTicket(keyring, principal, grant, { now: NOW, ttlSeconds: 3600 }).claims.expiresAt).toBe(NOW + 600);
    expect(() => mintPresignTicket(keyring, principal, grant, { now: NOW, ttlSeconds: 3601 })).toThrow(expect.objectContaining({ code: 'GH_ERR_REQUEST_INVALID' }));
  });

  it('refuses expired, changed, foreign-key, other-connection tickets and a caller-credential session token', () => {
    const { ticket } = mintPresignTicket(keyring, principal, grant, { now: NOW, ttlSeconds: 60 });
    const verify = (t: string, connection = 's3', now = NOW) => () => verifyPresignTicket(keyring, t, connection, now);
    expect(verify(ticket, 's3', NOW + 60)).toThrow(/expired/);
    expect(verify(ticket, 'other')).toThrow(/another connection/);
    const [prefix, payload, mac] = ticket.split('.');
    const changed = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), key: 'other.txt' })).toString('base64url');
    expect(verify(`${prefix}.${changed}.${mac}`)).toThrow(/integrity check/);
    const foreign = mintPresignTicket(createKeyring('k1', { k1: randomBytes(32) }), principal, grant, { now: NOW }).ticket;
    expect(verify(foreign)).toThrow(/integrity check/);
    // Same keyring, another purpose: a caller credential's ticket is no presign ticket (own prefix, own MAC key).
    const credential = mintCallerCredential(keyring, principal, 's3', { now: NOW });
    expect(verify(credential.sessionToken)).toThrow(/no gateway ticket/);
    expect(verify(credential.sessionToken.replace(/^GHGW1/, 'GHPS1'))).toThrow(/integrity check|does not parse/);
    for (const t of [ticket, foreign, credential.sessionToken, '', 'GHPS1..', 'GHPS1.e30.AAAA']) {
      expect(() => verifyPresignTicket(keyring, `${t}x`, 'other', NOW + 9999)).toThrow(expect.objectContaining({ code: 'GH_ERR_AWS_PRESIGN_INVALID' }));
    }
  });
});
