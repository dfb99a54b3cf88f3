import { createReplacement, DEFAULT_MASK } from '../../../gateway/src/masking/replacement';
import { isGatehouseError } from '../../../gateway/src/errors';

const KEY = 'k'.repeat(32);

describe('createReplacement', () => {
  it('fixed mask replaces every value with [MASKED] by default, or the configured text', () => {
    expect(createReplacement({ kind: 'mask' })('alice@example.com', 'email')).toBe(DEFAULT_MASK);
    expect(DEFAULT_MASK).toBe('[MASKED]');
    expect(createReplacement({ kind: 'mask', text: '***' })('x', 'email')).toBe('***');
  });

  it('type tag names the type in upper case', () => {
    expect(createReplacement({ kind: 'type_tag' })('alice@example.com', 'email')).toBe('[EMAIL]');
    expect(createReplacement({ kind: 'type_tag' })('AKIA...', 'aws_access_key')).toBe('[AWS_ACCESS_KEY]');
  });

  it('keyed hash keeps equal values equal and different values different, without containing the value', () => {
    const r = createReplacement({ kind: 'keyed_hash', key: KEY });
    const a1 = r('alice@example.com', 'email');
    expect(a1).toMatch(/^\[EMAIL:[0-9a-f]{8}\]$/);
    expect(r('alice@example.com', 'email')).toBe(a1);
    expect(r('bob@example.com', 'email')).not.toBe(a1);
    expect(a1).not.toContain('alice');
  });

  it('keyed hash is HMAC-SHA-256 of the value under the key, truncated', async () => {
    const { createHmac } = await import('node:crypto');
    const expected = createHmac('sha256', KEY).update('v').digest('hex');
    expect(createReplacement({ kind: 'keyed_hash', key: KEY })('v', 'secret')).toBe(`[SECRET:${expected.slice(0, 8)}]`);
    expect(createReplacement({ kind: 'keyed_hash', key: KEY, hexChars: 16 })('v', 'secret')).toBe(`[SECRET:${expected.slice(0, 16)}]`);
  });

  it('a different key gives a different tag for the same value', () => {
    const a = createReplacement({ kind: 'keyed_hash', key: KEY })('alice@example.com', 'email');
    const b = createReplacement({ kind: 'keyed_hash', key: new Uint8Array(32).fill(7) })('alice@example.com', 'email');
    expect(a).not.toBe(b);
  });

  it('refuses a short key and an out-of-range length with GH_ERR_CONFIG_INVALID', () => {
    for (const config of [
      { kind: 'keyed_hash' as const, key: 'short' },
      { kind: 'keyed_hash' as const, key: KEY, hexChars: 4 },
      { kind: 'keyed_hash' as const, key: KEY, hexChars: 65 },
    ]) {
      let error: unknown;
      try {
        createReplacement(config);
      } catch (e) {
        error = e;
      }
      expect(isGatehouseError(error, 'GH_ERR_CONFIG_INVALID')).toBe(true);
      expect((error as Error).message).not.toContain('short');
    }
  });
});
