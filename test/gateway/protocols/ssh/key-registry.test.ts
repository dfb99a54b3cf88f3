import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Principal } from '../../../../gateway/src/identity/principal';
import { parsePublicKey } from '../../../../gateway/src/protocols/ssh/host-key';
import { SshKeyRegistry } from '../../../../gateway/src/protocols/ssh/key-registry';
import { resolveTarget } from '../../../../gateway/src/protocols/ssh/target';
import { sshConnectionSchema } from '../../../../gateway/src/config/schema';
import { makeTempDir } from '../../../support/recording-helpers';

const principal = (expiresAt?: number): Principal => ({ issuer: 'https://idp', issuerName: 'idp', subject: 'agent', name: 'agent', groups: [], kind: 'workload', tokenId: 't', expiresAt });

let pub: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  const t = await makeTempDir('gh-sshkey-');
  cleanup = t.cleanup;
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(t.dir, 'k')]);
  pub = readFileSync(join(t.dir, 'k.pub'), 'utf8');
});
afterAll(() => cleanup());

describe('SshKeyRegistry', () => {
  it('finds a registered key until it expires, then refuses it as expired; revocation forgets it', () => {
    let now = 1_000_000;
    const reg = new SshKeyRegistry(() => now);
    const blob = parsePublicKey(pub).blob;
    expect(reg.lookup(blob)).toEqual({ ok: false, reason: 'unknown' });
    const entry = reg.registerKey(principal(), pub, new Date(now + 60_000));
    expect(entry.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(reg.lookup(blob)).toMatchObject({ ok: true, key: { principal: { subject: 'agent' } } });
    now += 60_000;
    expect(reg.valid(entry.fingerprint)).toBe(false);
    expect(reg.lookup(blob)).toEqual({ ok: false, reason: 'expired' });
    reg.registerKey(principal(), pub, new Date(now + 60_000));
    expect(reg.revoke(entry.fingerprint)).toBe(true);
    expect(reg.lookup(blob)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('never outlives the OIDC token it was registered with', () => {
    const reg = new SshKeyRegistry(() => 0);
    const entry = reg.registerKey(principal(30), pub, new Date(3_600_000));
    expect(entry.expiresAt.getTime()).toBe(30_000);
  });

  it('refuses what is not a public key', () => {
    expect(() => new SshKeyRegistry().registerKey(principal(), 'eyJhbGciOi.not.a.key', new Date(1))).toThrow(/not an SSH public key/);
  });
});

describe('resolveTarget', () => {
  const box = sshConnectionSchema.parse({ name: 'box', kind: 'ssh', upstream: { host: 'h', user: 'deploy', privateKey: 'env:K', hostKey: 'ssh-ed25519 AAAA' } });
  it('takes `connection` or `user@connection` with the configured user only', () => {
    expect(resolveTarget('box', [box])).toBe(box);
    expect(resolveTarget('deploy@box', [box])).toBe(box);
    expect(resolveTarget('root@box', [box])).toBeUndefined();
    expect(resolveTarget('other', [box])).toBeUndefined();
    expect(box.upstream.port).toBe(22);
  });
});
