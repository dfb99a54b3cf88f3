/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum Google Cloud KMS uses for its
 * request and response integrity fields (https://cloud.google.com/kms/docs/data-integrity-guidelines).
 * node:zlib has only the IEEE CRC-32 (and only from Node 22), so it is computed here.
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
