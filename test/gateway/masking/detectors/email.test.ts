import { email } from '../../../../gateway/src/masking/detectors/email';

const found = (text: string): string[] => email.find(text).map((d) => text.slice(d.start, d.end));

describe('email', () => {
  it('finds exactly the value in contact alice.smith+ops@mail.example.com today', () => {
    expect(found('contact alice.smith+ops@mail.example.com today')).toEqual(['alice.smith+ops@mail.example.com']);
  });
  it.each([
    ['assets/icon@2x.png'],
    ['postgres://app@db.internal/app'],
    ['npm i @types/node@20.1.0'],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = email.find('contact alice.smith+ops@mail.example.com today')[0]!;
    expect(d.rule).toBe(email.id);
    expect(d.type).toBe(email.type);
    expect(Number.isFinite(email.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(email.maxLength);
  });
});

describe('email boundaries', () => {
  it('does not take part of an over-long local part, and finds several addresses', () => {
    expect(found(`${'a'.repeat(80)}@example.com`)).toEqual([]);
    expect(found('to: a@example.com, b.c@example.org')).toEqual(['a@example.com', 'b.c@example.org']);
  });
});
