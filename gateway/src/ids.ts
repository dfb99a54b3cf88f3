import { randomBytes } from 'node:crypto';

/**
 * Time-sortable ids (ULID-like, Crockford base32): 10 characters of milliseconds then 16 of
 * randomness, so ids sort by creation time across replicas without coordination.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function newId(prefix: string, now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(10);
  let rand = '';
  for (let i = 0; i < 16; i++) {
    // 10 bytes = 80 bits = 16 base32 characters.
    const bit = i * 5;
    const byte = bit >> 3;
    const shift = bit & 7;
    const word = ((bytes[byte] << 8) | (bytes[byte + 1] ?? 0)) >> (11 - shift);
    rand += ALPHABET[word & 31];
  }
  return `${prefix}_${time}${rand}`;
}
