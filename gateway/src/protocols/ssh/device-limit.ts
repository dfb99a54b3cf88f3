import net from 'node:net';
import { GatehouseError } from '../../errors';

/**
 * Bounds on the device sign-ins waiting at once (listeners.ssh.deviceLogin.maxPending and
 * maxPendingPerAddress). Each one costs the gateway a device authorization request at the issuer
 * and a poll of its token endpoint until it ends, and any unauthenticated client can start one:
 * without a bound, clients could exhaust the issuer's quota or make the gateway flood it.
 */
export interface DeviceSignInLimits {
  /** @default 64 */
  readonly maxPending: number;
  /** From one client address (IPv6: its /64). @default 8 */
  readonly maxPendingPerAddress: number;
}

export const DEFAULT_DEVICE_SIGN_IN_LIMITS: DeviceSignInLimits = { maxPending: 64, maxPendingPerAddress: 8 };

/**
 * The places for device sign-ins in progress. A sign-in takes one before the issuer is asked and
 * gives it back when it ends (approved, refused, expired, or the client went away); a sign-in
 * beyond a bound is refused at once, never queued.
 */
export class DeviceSignInSlots {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly limits: DeviceSignInLimits = DEFAULT_DEVICE_SIGN_IN_LIMITS) {}

  /** Sign-ins in progress. */
  get pending(): number {
    return this.total;
  }

  /** A place for a sign-in from `address`, given back by the returned function (once), or why not (GH_ERR_SSH_DEVICE_LIMIT). */
  acquire(address: string): (() => void) | GatehouseError {
    const key = addressKey(address);
    const mine = this.byAddress.get(key) ?? 0;
    if (mine >= this.limits.maxPendingPerAddress) {
      return new GatehouseError('GH_ERR_SSH_DEVICE_LIMIT', `${mine} device sign-in(s) from ${key} are already waiting for approval (listeners.ssh.deviceLogin.maxPendingPerAddress): finish or cancel one first`);
    }
    if (this.total >= this.limits.maxPending) {
      return new GatehouseError('GH_ERR_SSH_DEVICE_LIMIT', `the gateway has ${this.total} device sign-ins waiting for approval (listeners.ssh.deviceLogin.maxPending): try again in a few minutes, or log in with a key (gatehouse ssh-key)`);
    }
    this.total++;
    this.byAddress.set(key, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.byAddress.get(key) ?? 1) - 1;
      if (left === 0) this.byAddress.delete(key);
      else this.byAddress.set(key, left);
    };
  }
}

/**
 * Who a per-address bound counts: an IPv4 address (also when IPv4-mapped), or an IPv6 address's
 * /64, since one IPv6 client usually holds a whole /64 and could otherwise take a new address per
 * connection.
 */
export function addressKey(address: string): string {
  const plain = address.replace(/%.*$/, ''); // a zone id (fe80::1%eth0)
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(plain);
  if (mapped !== null) return mapped[1]!;
  if (!net.isIPv6(plain)) return plain;
  const [head, tail] = plain.split('::') as [string, string | undefined];
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const full = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${full
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
