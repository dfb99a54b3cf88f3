import type { Principal } from '../../identity/principal';
import { fingerprint, parsePublicKey, type SshPublicKey } from './host-key';

/** A registered client key: whose, until when. */
export interface RegisteredKey {
  readonly fingerprint: string;
  readonly algo: string;
  readonly principal: Principal;
  /** Never later than the OIDC token's own expiry when one is known. */
  readonly expiresAt: Date;
}

/** Why a presented key was refused (kept out of the client's answer: SSH says only "denied"). */
export type KeyRefusal = 'unknown' | 'expired';

export type KeyLookup = { readonly ok: true; readonly key: RegisteredKey } | { readonly ok: false; readonly reason: KeyRefusal };

/**
 * Short-lived client keys bound to an OIDC identity (issue 22, "login without a long-lived key"):
 * `gatehouse ssh-key` registers the public half of a fresh key pair after verifying the caller's
 * token, for at most the token's lifetime; SSH clients then use plain publickey authentication.
 * A JWT is never an SSH password.
 *
 * This registry is in memory (one replica; lost at restart, so keys must be registered again);
 * a shared store is what remains (docs/ssh.md). The clock is an input.
 */
export class SshKeyRegistry {
  private readonly keys = new Map<string, RegisteredKey>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Registers `publicKey` (OpenSSH one-line form) for `principal` until `expiresAt`, cut to the
   * principal's token expiry when that is earlier. Returns the registered entry.
   */
  registerKey(principal: Principal, publicKey: string | SshPublicKey, expiresAt: Date): RegisteredKey {
    const key = typeof publicKey === 'string' ? parsePublicKey(publicKey) : publicKey;
    const tokenEnd = principal.expiresAt === undefined ? Infinity : principal.expiresAt * 1000;
    const entry: RegisteredKey = {
      fingerprint: fingerprint(key.blob),
      algo: key.algo,
      principal,
      expiresAt: new Date(Math.min(expiresAt.getTime(), tokenEnd)),
    };
    this.keys.set(entry.fingerprint, entry);
    return entry;
  }

  /** Revokes a key by fingerprint; new authentications with it are refused. */
  revoke(fp: string): boolean {
    return this.keys.delete(fp);
  }

  /** The entry for a presented key blob, if registered and not expired (expired entries are dropped). */
  lookup(blob: Buffer): KeyLookup {
    const fp = fingerprint(blob);
    const entry = this.keys.get(fp);
    if (entry === undefined) return { ok: false, reason: 'unknown' };
    if (entry.expiresAt.getTime() <= this.now()) {
      this.keys.delete(fp);
      return { ok: false, reason: 'expired' };
    }
    return { ok: true, key: entry };
  }

  /** True while the key is still registered and unexpired (checked again before each new channel). */
  valid(fp: string): boolean {
    const entry = this.keys.get(fp);
    return entry !== undefined && entry.expiresAt.getTime() > this.now();
  }

  /** Milliseconds until the key expires (0 when it is gone or expired). */
  expiresIn(fp: string): number {
    const entry = this.keys.get(fp);
    return entry === undefined ? 0 : Math.max(0, entry.expiresAt.getTime() - this.now());
  }
}
