import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';
import type { Principal } from '../../identity/principal';

/**
 * The console's cookies: encrypted and authenticated (JWE, dir + A256GCM) with the session key, so
 * the browser holds nothing it can read or forge. `__Host-` names force Secure, Path=/ and no
 * Domain; HttpOnly keeps them from scripts; SameSite=Lax keeps them off cross-site POSTs.
 */
export const SESSION_COOKIE = '__Host-gatehouse-console';
/** Holds state, nonce and the PKCE verifier between the redirect to the issuer and the callback. */
export const LOGIN_COOKIE = '__Host-gatehouse-console-login';
const LOGIN_LIFETIME_SECONDS = 600;

export interface ConsoleSession {
  readonly principal: Principal;
  /** Synchronizer token every POST must echo. */
  readonly csrf: string;
  /** Seconds since epoch. */
  readonly expiresAt: number;
}

export interface LoginState {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** A path under /console/ to land on after login. */
  readonly returnTo: string;
}

export class CookieSealer {
  private readonly key: Uint8Array;

  /** `secret`: 32 bytes or more; reduced to the 256-bit key with SHA-256. */
  constructor(secret: Uint8Array | string) {
    const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
    if (bytes.length < 32) throw new Error('the console session key must be at least 32 bytes');
    this.key = createHash('sha256').update(bytes).digest();
  }

  static generate(): CookieSealer {
    return new CookieSealer(randomBytes(32));
  }

  async sealSession(principal: Principal, lifetimeSeconds: number, now = Date.now()): Promise<{ value: string; session: ConsoleSession }> {
    const expiresAt = Math.floor(now / 1000) + lifetimeSeconds;
    const session: ConsoleSession = { principal, csrf: randomBytes(24).toString('base64url'), expiresAt };
    const value = await new EncryptJWT({ p: principal, c: session.csrf, k: 'session' })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(expiresAt)
      .encrypt(this.key);
    return { value, session };
  }

  /** The session in a cookie value, or undefined when it is missing, forged, from another key or expired. */
  async openSession(value: string | undefined, now = Date.now()): Promise<ConsoleSession | undefined> {
    const payload = await this.open(value, 'session', now);
    if (payload === undefined || typeof payload.c !== 'string' || typeof payload.p !== 'object' || payload.p === null) return undefined;
    return { principal: payload.p as Principal, csrf: payload.c, expiresAt: payload.exp as number };
  }

  async sealLogin(login: LoginState, now = Date.now()): Promise<string> {
    return new EncryptJWT({ ...login, k: 'login' })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(now / 1000) + LOGIN_LIFETIME_SECONDS)
      .encrypt(this.key);
  }

  async openLogin(value: string | undefined, now = Date.now()): Promise<LoginState | undefined> {
    const p = await this.open(value, 'login', now);
    if (p === undefined) return undefined;
    if (typeof p.state !== 'string' || typeof p.nonce !== 'string' || typeof p.codeVerifier !== 'string' || typeof p.returnTo !== 'string') return undefined;
    return { state: p.state, nonce: p.nonce, codeVerifier: p.codeVerifier, returnTo: p.returnTo };
  }

  private async open(value: string | undefined, kind: string, now: number): Promise<Record<string, unknown> | undefined> {
    if (value === undefined || value.length === 0 || value.length > 8192) return undefined;
    try {
      const { payload } = await jwtDecrypt(value, this.key, { currentDate: new Date(now), keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
      // A login cookie can never pass as a session, nor the reverse.
      return payload.k === kind ? (payload as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
}

export function setCookie(name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}`;
}

export function clearCookie(name: string): string {
  return `${name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
