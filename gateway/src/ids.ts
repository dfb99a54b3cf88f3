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

/**
 * Request ids carry their session: `r_<session ulid>.<n>`. Finding the session of a Gatehouse
 * request id then needs no index row per request (the hot path writes none); only
 * client-supplied ids (`x-request-id`) are indexed.
 */
export function requestIdFor(sessionId: string, n: number): string {
  return `r_${sessionId.slice(sessionId.indexOf('_') + 1)}.${n}`;
}

const REQUEST_ID = /^r_([0-9A-HJKMNP-TV-Z]{26})\.\d{1,12}$/;

/** The session id a Gatehouse request id belongs to, or undefined for any other string. */
export function sessionIdOfRequest(requestId: string): string | undefined {
  const m = REQUEST_ID.exec(requestId);
  return m ? `s_${m[1]}` : undefined;
}
