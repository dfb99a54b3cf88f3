import { createHash, generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback stand-in for the two AWS KMS calls the signer makes (no KMS emulator is available):
 * AWS JSON 1.1 over `POST /` with `X-Amz-Target: TrentService.GetPublicKey | TrentService.Sign`,
 * blobs as base64, errors as `{ "__type": ..., "message": ... }` with status 400. It holds a real
 * P-256 key and signs as KMS does: `MessageType: DIGEST` signs the given 32-byte SHA-256 as is
 * (ECDSA over a prehashed value, done here in BigInt arithmetic since node:crypto always hashes),
 * `RAW` hashes the message and refuses more than 4096 bytes.
 */
export class FakeKms {
  readonly keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';
  readonly calls: Array<{ target: string; body: Record<string, unknown>; authorized: boolean }> = [];
  /** Answer every call for this target with an error. */
  failures = new Map<string, { status: number; type: string }>();
  /** Overrides for the GetPublicKey answer (a wrong key spec, say). */
  publicKeyOverrides: Record<string, unknown> = {};
  /** Sign with this key instead (a key that does not match the public key served). */
  signWith?: KeyObject;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  private server?: Server;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    this.publicKey = publicKey;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const target = String(req.headers['x-amz-target'] ?? '');
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        this.calls.push({ target, body, authorized: String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ') });
        const reply = (status: number, json: unknown) => {
          const text = JSON.stringify(json);
          res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'TEST', 'content-length': Buffer.byteLength(text) });
          res.end(text);
        };
        const failure = this.failures.get(target);
        if (failure) return reply(failure.status, { __type: failure.type, message: `${failure.type} (fake KMS)` });
        if (req.method !== 'POST' || req.url !== '/' || !String(req.headers['content-type']).startsWith('application/x-amz-json-1.1')) {
          return reply(400, { __type: 'SerializationException', message: 'expected an AWS JSON 1.1 POST /' });
        }
        if (body.KeyId !== this.keyArn) return reply(400, { __type: 'NotFoundException', message: `Key '${String(body.KeyId)}' does not exist` });
        if (target === 'TrentService.GetPublicKey') {
          return reply(200, {
            KeyId: this.keyArn,
            KeySpec: 'ECC_NIST_P256',
            KeyUsage: 'SIGN_VERIFY',
            SigningAlgorithms: ['ECDSA_SHA_256'],
            PublicKey: this.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
            ...this.publicKeyOverrides,
          });
        }
        if (target === 'TrentService.Sign') {
          if (body.SigningAlgorithm !== 'ECDSA_SHA_256') return reply(400, { __type: 'InvalidKeyUsageException', message: 'unsupported signing algorithm' });
          const message = Buffer.from(String(body.Message ?? ''), 'base64');
          const key = this.signWith ?? this.privateKey;
          let signature: Buffer;
          if (body.MessageType === 'DIGEST') {
            if (message.length !== 32) return reply(400, { __type: 'ValidationException', message: 'Digest is invalid length for algorithm ECDSA_SHA_256.' });
            signature = signPrehashedP256(key, message);
          } else {
            if (message.length > 4096) return reply(400, { __type: 'ValidationException', message: "Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096" });
            signature = cryptoSign('sha256', message, { key, dsaEncoding: 'der' });
          }
          return reply(200, { KeyId: this.keyArn, Signature: signature.toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' });
        }
        return reply(400, { __type: 'UnknownOperationException', message: target });
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

// NIST P-256 (FIPS 186-4, D.1.2.3).
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const A = P - 3n;
const G: Point = [0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n, 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n];
type Point = readonly [bigint, bigint] | null;

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
function inv(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}
function add(p: Point, q: Point): Point {
  if (p === null) return q;
  if (q === null) return p;
  if (p[0] === q[0] && mod(p[1] + q[1], P) === 0n) return null;
  const l = p[0] === q[0] ? mod((3n * p[0] * p[0] + A) * inv(2n * p[1], P), P) : mod((q[1] - p[1]) * inv(q[0] - p[0], P), P);
  const x = mod(l * l - p[0] - q[0], P);
  return [x, mod(l * (p[0] - x) - p[1], P)];
}
function mul(k: bigint, p: Point): Point {
  let r: Point = null;
  for (let b = p; k > 0n; k >>= 1n, b = add(b, b)) if (k & 1n) r = add(r, b);
  return r;
}
const toBig = (b: Buffer) => BigInt('0x' + (b.toString('hex') || '0'));
function derInt(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let b = Buffer.from(hex, 'hex');
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return Buffer.concat([Buffer.from([0x02, b.length]), b]);
}

/** ECDSA P-256 over a given 32-byte hash, DER-encoded: what KMS Sign returns for MessageType DIGEST. */
export function signPrehashedP256(key: KeyObject, hash: Buffer): Buffer {
  const d = toBig(Buffer.from(key.export({ format: 'jwk' }).d!, 'base64url'));
  const z = toBig(hash);
  for (;;) {
    const k = mod(toBig(randomBytes(40)), N - 1n) + 1n;
    const r = mod(mul(k, G)![0], N);
    const s = mod(inv(k, N) * (z + r * d), N);
    if (r === 0n || s === 0n) continue;
    const body = Buffer.concat([derInt(r), derInt(s)]);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
  }
}

/** SHA-256, as the signer computes before calling KMS. */
export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();
