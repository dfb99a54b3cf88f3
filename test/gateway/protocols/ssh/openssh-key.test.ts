import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { utils } from 'ssh2';
import { ed25519FromSeed, ed25519PublicBytes, openSshEd25519 } from '../../../../gateway/src/protocols/ssh/openssh-key';
import { generateClientKeyPair } from '../../../../gateway/src/protocols/ssh/registration';
import { makeTempDir } from '../../../support/recording-helpers';

/** A seed whose public key begins with a zero byte: the case ssh2's own generator trimmed (1 key in 256). */
function leadingZeroSeed(): Buffer {
  const seed = Buffer.alloc(32);
  seed.writeUInt32BE(135);
  return seed;
}

describe('Ed25519 keys in OpenSSH formats', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await makeTempDir('gh-openssh-key-')));
  afterAll(() => cleanup());

  it('keeps a public key that begins with a zero byte whole: ssh2 parses both halves and ssh-keygen derives the same public key', () => {
    const key = ed25519FromSeed(leadingZeroSeed());
    expect(ed25519PublicBytes(key)[0]).toBe(0);
    const pair = openSshEd25519(key, 'zero-lead');
    const pub = utils.parseKey(pair.public);
    const priv = utils.parseKey(pair.private);
    if (pub instanceof Error || Array.isArray(pub) || priv instanceof Error || Array.isArray(priv)) throw new Error(`not parsed: ${String(pub)} ${String(priv)}`);
    expect(pub.getPublicSSH().equals(priv.getPublicSSH())).toBe(true);
    // The key signs, and its signature verifies with the public half.
    const data = Buffer.from('challenge');
    expect(pub.verify(data, priv.sign(data) as Buffer)).toBe(true);
    const file = join(dir, 'zero-lead');
    writeFileSync(file, pair.private, { mode: 0o600 });
    expect(execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim()).toBe(pair.public);
  });

  it('every generated pair parses (ssh2 failed about one in 256)', () => {
    for (let i = 0; i < 1000; i++) {
      const pair = generateClientKeyPair(`c${i}`);
      const pub = utils.parseKey(pair.public);
      if (pub instanceof Error || Array.isArray(pub)) throw new Error(`pair ${i} is malformed: ${pair.public}`);
      expect(pub.type).toBe('ssh-ed25519');
    }
  });
});
