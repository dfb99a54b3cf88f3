import { paymentCard } from '../../../../gateway/src/masking/detectors/payment-card';

const found = (text: string): string[] => paymentCard.find(text).map((d) => text.slice(d.start, d.end));

describe('payment-card', () => {
  it('finds exactly the value in card 4111 1111 1111 1111 exp 12/29', () => {
    expect(found('card 4111 1111 1111 1111 exp 12/29')).toEqual(['4111 1111 1111 1111']);
  });
  it('finds exactly the value in {"number":"378282246310005"}', () => {
    expect(found('{"number":"378282246310005"}')).toEqual(['378282246310005']);
  });
  it('finds exactly the value in 5555-5555-5555-4444', () => {
    expect(found('5555-5555-5555-4444')).toEqual(['5555-5555-5555-4444']);
  });
  it.each([
    ['4111 1111 1111 1112'],
    ['ts_ms=1700000000000'],
    ['9111111111111111'],
    ['4111 1111-1111 1111'],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = paymentCard.find('card 4111 1111 1111 1111 exp 12/29')[0]!;
    expect(d.rule).toBe(paymentCard.id);
    expect(d.type).toBe(paymentCard.type);
    expect(Number.isFinite(paymentCard.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(paymentCard.maxLength);
  });
});
