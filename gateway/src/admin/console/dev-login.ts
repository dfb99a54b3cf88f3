import { GatehouseError } from '../../errors';
import { assertDevIssuerAllowed, mintDevToken } from '../../identity/dev-issuer';
import type { Principal } from '../../identity/principal';
import type { IdentityVerifier } from '../../pipeline/types';

/**
 * Logging in to the console with the local development issuer (`console.issuer: dev`), so
 * `gatehouse dev` has a console without any IdP. The development issuer has no login of its own
 * (it is a key file, as for `gatehouse token --dev`): the console asks who you are, mints a
 * short-lived development token with that key and passes it through the gateway's own verifier,
 * exactly as an ID token from a real issuer is. What the development issuer already allows
 * (whoever can read its key can be anyone) is allowed here only to loopback clients, in
 * development mode; production refuses the development issuer altogether.
 */
export interface DevLoginOptions {
  readonly mode: 'development' | 'production';
  /** `identity.devIssuer.keyPath`: the key the gateway trusts. */
  readonly keyPath: string;
  /** `identity.devIssuer.audience`. */
  readonly audience: string;
  readonly verifier: IdentityVerifier;
}

/** Subjects and group names a person may type: what shows in the record, nothing that needs escaping to mean something else. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;
const MAX_GROUPS = 20;

export class DevLogin {
  constructor(private readonly options: DevLoginOptions) {
    assertDevIssuerAllowed(options.mode);
  }

  /** The Principal of a development token for `subject` in `groups`, as the verifier reads it. */
  async login(subject: string, groupsText: string): Promise<Principal> {
    const groups = parseGroups(groupsText);
    if (!NAME.test(subject)) throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'the user name must be 1 to 64 letters, digits or . _ @ + -', { details: { parameter: 'subject' } });
    // Short-lived: it is only read once, right here; the console session carries its own lifetime.
    const token = await mintDevToken({ subject, groups, audience: this.options.audience, keyPath: this.options.keyPath, ttlSeconds: 60, createKey: false });
    return this.options.verifier.verify(token);
  }
}

/** `a, b c` → `['a', 'b', 'c']`; refuses names outside NAME and more than MAX_GROUPS. */
export function parseGroups(text: string): string[] {
  const groups = [...new Set(text.split(/[\s,]+/).filter((g) => g !== ''))];
  if (groups.length > MAX_GROUPS || groups.some((g) => !NAME.test(g))) {
    throw new GatehouseError('GH_ERR_REQUEST_INVALID', `groups: up to ${MAX_GROUPS} names of letters, digits or . _ @ + -, separated by commas or spaces`, { details: { parameter: 'groups' } });
  }
  return groups;
}

/** Loopback peers only (IPv4 127/8, IPv6 ::1 and IPv4-mapped loopback). */
export function isLoopbackPeer(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}
