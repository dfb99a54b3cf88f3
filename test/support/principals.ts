import type { Principal } from '../../gateway/src/identity/principal';

/**
 * A principal as the identity verifier would produce it, for tests that hand one to a component
 * directly (the console's cookies, an approver's vote, a session opened without a token). Tests
 * that need a token the gateway verifies mint one from test/support/oidc-issuer.ts instead.
 */
export function testPrincipal(subject: string, extra: Partial<Principal> = {}): Principal {
  return {
    issuer: 'https://issuer.test',
    issuerName: 'test',
    subject,
    name: `${subject}@example.test`,
    groups: [],
    kind: 'human',
    tokenId: `tok-${subject}`,
    ...extra,
  };
}
