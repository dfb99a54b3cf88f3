import { randomBytes } from 'node:crypto';
import { isGatehouseError, type ErrorCode } from '../../../../gateway/src/errors';
import type { Principal } from '../../../../gateway/src/identity';
import { createKeyring, credentialProcessOutput, mintCallerCredential, parseKeyring, verifyCallerCredential } from '../../../../gateway/src/protocols/aws/credentials';

const NOW = 1_800_000_000;
const k1 = randomBytes(32);
const k2 = randomBytes(32);
const keyring = createKeyring('k1', { k1 });
const principal: Principal = {
  issuer: 'https://idp.example',
  issuerName: 'corp',
  subject: 'agent-7',
  name: 'agent-7@example.com',
  groups: ['developers', 'ops'],
  kind: 'workload',
  tokenId: 'jti-123',
};

function refusedWith(code: ErrorCode, fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(isGatehouseError(caught) ? caught.code : caught).toBe(code);
}

describe('gateway-issued AWS caller credentials', () => {
  it('mint an AWS-shaped credential that verifies statelessly to the same principal and secret', () => {
    const c = mintCallerCredential(keyring, principal, 's3-prod', { now: NOW, ttlSeconds: 900 });
    expect(c.accessKeyId).toMatch(/^GHGW[A-Z2-7]{16}$/);
    expect(c.secretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
    expect(c.expiration).toBe(new Date((NOW + 900) * 1000).toISOString());
    // Another replica: a fresh keyring with the same key bytes.
    const v = verifyCallerCredential(createKeyring('k1', { k1: Buffer.from(k1) }), c.accessKeyId, c.sessionToken, { now: NOW + 10, connection: 's3-prod' });
    expect(v.secret).toBe(c.secretAccessKey);
    expect(v.connection).toBe('s3-prod');
    expect(v.principal).toEqual({ ...principal, expiresAt: NOW + 900 });
    // Two mints for one principal differ (nonce): one leaked credential does not reveal another.
    const d = mintCallerCredential(keyring, principal, 's3-prod', { now: NOW });
    expect([d.accessKeyId, d.secretAccessKey]).not.toEqual([c.accessKeyId, c.secretAccessKey]);
  });

  it('never outlive the token they were exchanged for; refuse an expired token and absurd lifetimes', () => {
    const c = mintCallerCredential(keyring, { ...principal, expiresAt: NOW + 60 }, 'c', { now: NOW });
    expect(c.expiration).toBe(new Date((NOW + 60) * 1000).toISOString());
    refusedWith('GH_ERR_TOKEN_EXPIRED', () => mintCallerCredential(keyring, { ...principal, expiresAt: NOW }, 'c', { now: NOW }));
    refusedWith('GH_ERR_REQUEST_INVALID', () => mintCallerCredential(keyring, principal, 'c', { now: NOW, ttlSeconds: 13 * 3600 }));
  });

  it('refuse expired, foreign, tampered, mismatched, wrong-key and wrong-connection credentials with stable codes', () => {
    const c = mintCallerCredential(keyring, principal, 's3-prod', { now: NOW, ttlSeconds: 900 });
    refusedWith('GH_ERR_AWS_CREDENTIAL_EXPIRED', () => verifyCallerCredential(keyring, c.accessKeyId, c.sessionToken, { now: NOW + 900 }));
    refusedWith('GH_ERR_AWS_CREDENTIAL_FOREIGN', () => verifyCallerCredential(keyring, 'AKIAIOSFODNN7EXAMPLE', c.sessionToken, { now: NOW }));
    refusedWith('GH_ERR_AWS_CREDENTIAL_FOREIGN', () => verifyCallerCredential(keyring, c.accessKeyId, undefined, { now: NOW }));
    refusedWith('GH_ERR_AWS_CREDENTIAL_FOREIGN', () => verifyCallerCredential(keyring, c.accessKeyId, 'FwoGZXIvYXdzEXAMPLE', { now: NOW }));
    // Tampered: a payload with more groups under the original MAC.
    const [p, body, mac] = c.sessionToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    const forged = `${p}.${Buffer.from(JSON.stringify({ ...claims, grp: ['admins'] })).toString('base64url')}.${mac}`;
    refusedWith('GH_ERR_AWS_CREDENTIAL_INVALID', () => verifyCallerCredential(keyring, c.accessKeyId, forged, { now: NOW }));
    refusedWith('GH_ERR_AWS_CREDENTIAL_INVALID', () => verifyCallerCredential(keyring, c.accessKeyId, `${p}.${body}.${Buffer.alloc(32).toString('base64url')}`, { now: NOW }));
    refusedWith('GH_ERR_AWS_CREDENTIAL_INVALID', () => verifyCallerCredential(keyring, c.accessKeyId, `${p}.${body}`, { now: NOW }));
    // Another credential's access key id with this token.
    const other = mintCallerCredential(keyring, principal, 's3-prod', { now: NOW });
    refusedWith('GH_ERR_AWS_CREDENTIAL_INVALID', () => verifyCallerCredential(keyring, other.accessKeyId, c.sessionToken, { now: NOW }));
    refusedWith('GH_ERR_AWS_CREDENTIAL_SCOPE', () => verifyCallerCredential(keyring, c.accessKeyId, c.sessionToken, { now: NOW, connection: 's3-dev' }));
    // Same key id, other key bytes (another deployment): the MAC fails.
    refusedWith('GH_ERR_AWS_CREDENTIAL_INVALID', () => verifyCallerCredential(createKeyring('k1', { k1: k2 }), c.accessKeyId, c.sessionToken, { now: NOW }));
    refusedWith('GH_ERR_AWS_CREDENTIAL_KEY_UNKNOWN', () => verifyCallerCredential(createKeyring('k2', { k2 }), c.accessKeyId, c.sessionToken, { now: NOW }));
  });

  it('rotate keys: a new current key mints, the old one still verifies until dropped', () => {
    const old = mintCallerCredential(keyring, principal, 'c', { now: NOW });
    const rotated = createKeyring('k2', { k1, k2 });
    const fresh = mintCallerCredential(rotated, principal, 'c', { now: NOW });
    expect(verifyCallerCredential(rotated, old.accessKeyId, old.sessionToken, { now: NOW }).secret).toBe(old.secretAccessKey);
    expect(verifyCallerCredential(rotated, fresh.accessKeyId, fresh.sessionToken, { now: NOW }).secret).toBe(fresh.secretAccessKey);
    refusedWith('GH_ERR_AWS_CREDENTIAL_KEY_UNKNOWN', () => verifyCallerCredential(keyring, fresh.accessKeyId, fresh.sessionToken, { now: NOW }));
  });

  it('validate the keyring eagerly', () => {
    refusedWith('GH_ERR_CONFIG_INVALID', () => createKeyring('k1', { k1: randomBytes(16) }));
    refusedWith('GH_ERR_CONFIG_INVALID', () => createKeyring('k1', { k2 }));
    refusedWith('GH_ERR_CONFIG_INVALID', () => createKeyring('bad id', { 'bad id': k1 }));
  });

  it('read the keyring from its secret value, refusing bad ones without echoing key bytes', () => {
    const ring = parseKeyring(JSON.stringify({ current: 'k2', keys: { k1: k1.toString('base64'), k2: k2.toString('base64url') } }));
    const c = mintCallerCredential(keyring, principal, 'c', { now: NOW });
    expect(verifyCallerCredential(ring, c.accessKeyId, c.sessionToken, { now: NOW }).secret).toBe(c.secretAccessKey);
    // It mints with its current key, k2 (given base64url).
    const minted = mintCallerCredential(ring, principal, 'c', { now: NOW });
    expect(verifyCallerCredential(createKeyring('k2', { k2 }), minted.accessKeyId, minted.sessionToken, { now: NOW }).secret).toBe(minted.secretAccessKey);
    for (const bad of ['not json', '{"current":"k1"}', JSON.stringify({ current: 'k1', keys: { k1: 'not base64!' } }), JSON.stringify({ current: 'k1', keys: { k1: randomBytes(8).toString('base64') } })]) {
      let caught: unknown;
      try {
        parseKeyring(bad);
      } catch (e) {
        caught = e;
      }
      expect(isGatehouseError(caught, 'GH_ERR_CONFIG_INVALID')).toBe(true);
      expect((caught as Error).message).not.toContain('base64!');
    }
  });

  it('answer credential_process in its Version 1 shape', () => {
    const c = mintCallerCredential(keyring, principal, 'c', { now: NOW });
    expect(credentialProcessOutput(c)).toEqual({ Version: 1, AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: c.expiration });
  });
});
