import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * SCRAM-SHA-256 (RFC 5802 / RFC 7677) as PostgreSQL speaks it, client side, without channel
 * binding (`n,,`). The server's final signature is verified: a server that cannot prove it knows
 * the password is refused, so a spoofed upstream cannot pretend the login succeeded.
 */
export class ScramClient {
  private readonly nonce = randomBytes(18).toString('base64');
  private clientFirstBare = '';
  private expectedServerSignature: Buffer | undefined;

  constructor(private readonly password: string) {}

  /** SASLInitialResponse body: mechanism name, then the client-first message. */
  initialResponse(): Buffer {
    // PostgreSQL ignores the user name here (it uses the startup user); an empty `n=` is usual.
    this.clientFirstBare = `n=,r=${this.nonce}`;
    const first = Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
    const mech = Buffer.from('SCRAM-SHA-256\0', 'utf8');
    const len = Buffer.alloc(4);
    len.writeInt32BE(first.length, 0);
    return Buffer.concat([mech, len, first]);
  }

  /** Answers the server-first message with the client-final message (SASLResponse body). */
  continue(serverFirst: string): Buffer {
    const attrs = parseAttributes(serverFirst);
    const nonce = attrs.get('r');
    const salt = attrs.get('s');
    const iterations = Number(attrs.get('i'));
    if (!nonce || !nonce.startsWith(this.nonce) || nonce.length === this.nonce.length) throw new Error('SCRAM: server nonce does not extend the client nonce');
    if (!salt || !Number.isInteger(iterations) || iterations < 1 || iterations > 10_000_000) throw new Error('SCRAM: invalid salt or iteration count');
    const saltedPassword = pbkdf2Sync(this.password.normalize('NFKC'), Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
    const clientKey = hmac(saltedPassword, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const clientFinalWithoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
    const clientSignature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!;
    const serverKey = hmac(saltedPassword, 'Server Key');
    this.expectedServerSignature = hmac(serverKey, authMessage);
    return Buffer.from(`${clientFinalWithoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  /** Verifies the server-final message; throws when the server's signature does not match. */
  finish(serverFinal: string): void {
    const attrs = parseAttributes(serverFinal);
    if (attrs.has('e')) throw new Error(`SCRAM: server reported ${attrs.get('e')}`);
    const v = attrs.get('v');
    const expected = this.expectedServerSignature;
    if (!v || !expected) throw new Error('SCRAM: missing server signature');
    const got = Buffer.from(v, 'base64');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new Error('SCRAM: the server signature does not match');
  }
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function parseAttributes(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) map.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return map;
}

/** PostgreSQL's md5 password hash: "md5" + md5(md5(password + user) + salt). */
export function md5Password(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password + user).digest('hex');
  return `md5${createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex')}`;
}
