import { genericAssignment } from '../../../../gateway/src/masking/detectors/generic-assignment';

const found = (text: string): string[] => genericAssignment.find(text).map((d) => text.slice(d.start, d.end));

describe('generic-assignment', () => {
  it('finds exactly the value in password=Tr0ub4dor&3', () => {
    expect(found('password=Tr0ub4dor&3')).toEqual(['Tr0ub4dor']);
  });
  it('finds exactly the value in {"api_key": "k3y-v4lue-0123456789"}', () => {
    expect(found('{"api_key": "k3y-v4lue-0123456789"}')).toEqual(['k3y-v4lue-0123456789']);
  });
  it('finds exactly the value in "client_secret: abc123def456"', () => {
    expect(found("client_secret: 'abc123def456'")).toEqual(['abc123def456']);
  });
  it.each([
    ['password: ${DB_PASSWORD}'],
    ['"password": null'],
    ['const apiKey = process.env.OPENAI_API_KEY;'],
    ['{"prompt_tokens": 12}'],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = genericAssignment.find('password=Tr0ub4dor&3')[0]!;
    expect(d.rule).toBe(genericAssignment.id);
    expect(d.type).toBe(genericAssignment.type);
    expect(Number.isFinite(genericAssignment.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(genericAssignment.maxLength);
  });
});
