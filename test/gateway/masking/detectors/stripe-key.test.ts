import { stripeKey } from '../../../../gateway/src/masking/detectors/stripe-key';

const found = (text: string): string[] => stripeKey.find(text).map((d) => text.slice(d.start, d.end));

describe('stripe-key', () => {
  it('finds exactly the value in `stripe.api_key = "${sk_live_ + a1B2.repeat(6)}"`', () => {
    expect(found(`stripe.api_key = "${'sk_live_' + 'a1B2'.repeat(6)}"`)).toEqual(['sk_live_' + 'a1B2'.repeat(6)]);
  });
  it('finds exactly the value in `${rk_test_ + Z9.repeat(12)}`', () => {
    expect(found(`${'rk_test_' + 'Z9'.repeat(12)}`)).toEqual(['rk_test_' + 'Z9'.repeat(12)]);
  });
  it.each([
    [`${'pk_live_' + 'a1B2'.repeat(6)}`],
    ['sk_live_ keys must never be committed'],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = stripeKey.find(`stripe.api_key = "${'sk_live_' + 'a1B2'.repeat(6)}"`)[0]!;
    expect(d.rule).toBe(stripeKey.id);
    expect(d.type).toBe(stripeKey.type);
    expect(Number.isFinite(stripeKey.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(stripeKey.maxLength);
  });
});
