/**
 * ECDSA signature encodings. Digests store DER (ASN.1 `SEQUENCE { INTEGER r, INTEGER s }`, what
 * AWS KMS and Google Cloud KMS return); Azure Key Vault returns the JOSE form, raw r||s of fixed
 * width (RFC 7518 §3.4), which `p1363ToDer` converts so one verifier path checks all three.
 */

/** Raw r||s (IEEE P1363 / JOSE) → DER. Throws on a length that is not 2 × `size`. */
export function p1363ToDer(raw: Uint8Array, size = 32): Buffer {
  if (raw.length !== 2 * size) throw new Error(`an ECDSA r||s signature for this curve has ${2 * size} bytes, got ${raw.length}`);
  const int = (bytes: Uint8Array): Buffer => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    let b = Buffer.from(bytes.subarray(i));
    // DER INTEGERs are signed: a leading 1 bit needs a 0x00 pad to stay positive.
    if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
    return Buffer.concat([Buffer.from([0x02, b.length]), b]);
  };
  const body = Buffer.concat([int(raw.subarray(0, size)), int(raw.subarray(size))]);
  // For P-256 the body is at most 2 × (2 + 33) = 70 bytes: short-form length suffices.
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** DER → raw r||s of `size` bytes each (for stand-ins that answer in the JOSE form). */
export function derToP1363(der: Uint8Array, size = 32): Buffer {
  const buf = Buffer.from(der);
  if (buf[0] !== 0x30 || buf[1] !== buf.length - 2) throw new Error('not a DER ECDSA signature');
  let at = 2;
  const read = (): Buffer => {
    if (buf[at] !== 0x02) throw new Error('not a DER ECDSA signature');
    const len = buf[at + 1]!;
    let v = buf.subarray(at + 2, at + 2 + len);
    at += 2 + len;
    while (v.length > size && v[0] === 0) v = v.subarray(1);
    if (v.length > size) throw new Error('DER integer too large for the curve');
    return Buffer.concat([Buffer.alloc(size - v.length), v]);
  };
  const r = read();
  const s = read();
  return Buffer.concat([r, s]);
}
