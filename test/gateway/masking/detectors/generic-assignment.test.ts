import { genericAssignment } from '../../../../gateway/src/masking/detectors/generic-assignment';
import { findDetections } from '../../../../gateway/src/masking/redact';

const found = (text: string): string[] => genericAssignment.find(text).map((d) => text.slice(d.start, d.end));

describe('generic-assignment', () => {
  it('finds the whole value in password=Tr0ub4dor&3 (an & that starts no parameter is part of it)', () => {
    expect(found('password=Tr0ub4dor&3')).toEqual(['Tr0ub4dor&3']);
  });
  it('stops at the & of a query string’s next parameter', () => {
    expect(found('https://x.example/login?password=s3cret-pw&user=bob')).toEqual(['s3cret-pw']);
    expect(found('token_url?api_key=AbC123xyz&foo.bar[]=1')).toEqual(['AbC123xyz']);
  });
  it.each([
    [String.raw`{"password": "ab\"cd-ef"}`, String.raw`ab\"cd-ef`],
    [String.raw`password="p4ss\"word\\"`, String.raw`p4ss\"word\\`],
    [String.raw`secret: 'it\'s-a-secret'`, String.raw`it\'s-a-secret`],
    [String.raw`log: {\"password\":\"hunter2-xyz\"} end`, 'hunter2-xyz'],
    [String.raw`{\\\"api_key\\\": \\\"q9f8e7d6c5\\\"}`, 'q9f8e7d6c5'],
    [String.raw`{\"password\":\"a\\\"b-c\"}`, String.raw`a\\\"b-c`],
  ])('finds the whole value, escapes and all, in %s', (text, value) => {
    expect(found(text)).toEqual([value]);
  });
  it.each([[String.raw`{\"password\":\"\"}`], [String.raw`{\"password\": null}`], [String.raw`{\"passwordHint\":\"first pet\"}`]])(
    'ignores the escaped pair %s (empty, null, another key)',
    (text) => {
      expect(found(text)).toEqual([]);
    },
  );
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

describe('generic-assignment bounds', () => {
  // Masking fails closed when a rule returns a match longer than its maxLength, so an unbounded
  // quantifier would let a body (a run of backslashes) turn every response into a 502.
  it.each([
    ['escaped pair over a long backslash run', `{\\"password\\":\\"${'\\'.repeat(2000)}a\\"}`],
    ['escaped pair of many nested escapes', `{\\"api_key\\":\\"${'\\\\\\"x'.repeat(400)}\\"}`],
    ['quoted value of escapes', `password="${'\\x'.repeat(2000)}"`],
    ['bare value with ampersands', `secret=${'a&'.repeat(2000)}`],
  ])('never matches beyond maxLength: %s', (_name, text) => {
    for (const d of genericAssignment.find(text)) expect(d.end - d.start).toBeLessThanOrEqual(genericAssignment.maxLength);
    expect(() => findDetections(text, [genericAssignment])).not.toThrow();
  });
});
