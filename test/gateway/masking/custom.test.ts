import { isGatehouseError } from '../../../gateway/src/errors';
import { customDetectors, customDictionaryDetector, customRegexDetector, unboundedRepetition } from '../../../gateway/src/masking/custom';

const values = (d: { find(t: string): { start: number; end: number }[] }, text: string): string[] =>
  d.find(text).map((x) => text.slice(x.start, x.end));

function configError(fn: () => unknown): boolean {
  try {
    fn();
  } catch (e) {
    return isGatehouseError(e, 'GH_ERR_CONFIG_INVALID');
  }
  return false;
}

describe('custom regex rules', () => {
  it('mask what the pattern matches, with the configured type and rule id', () => {
    const d = customRegexDetector({ kind: 'regex', id: 'employee-id', type: 'employee_id', pattern: 'EMP-\\d{6}', maxLength: 10 });
    const text = 'owner EMP-123456, reviewer EMP-654321';
    expect(values(d, text)).toEqual(['EMP-123456', 'EMP-654321']);
    expect(d.find(text)[0]).toMatchObject({ type: 'employee_id', rule: 'employee-id' });
    expect(d.family).toBe('secret');
  });

  it('can mask one capture group and honour flags', () => {
    const d = customRegexDetector({ kind: 'regex', id: 'ticket', type: 'ticket', pattern: 'ticket:\\s{0,4}(\\w{1,32})', flags: 'i', group: 1, maxLength: 40 });
    expect(values(d, 'TICKET: abc123')).toEqual(['abc123']);
    expect(values(d, 'no tickets here')).toEqual([]);
  });

  it.each([
    ['invalid regex', { pattern: '(' }],
    ['empty match', { pattern: 'a*' }],
    ['missing group', { pattern: 'a(b)', group: 2 }],
    ['infinite maxLength', { maxLength: Infinity }],
    ['zero maxLength', { maxLength: 0 }],
    ['global flag', { flags: 'g' }],
    ['bad id', { id: 'has space' }],
    ['unbounded +', { pattern: 'EMP-\\d+' }],
    ['unbounded *', { pattern: 'a(b*)c' }],
    ['unbounded {n,}', { pattern: 'x{2,}' }],
    ['maxLength above the streaming window', { maxLength: 65_537 }],
  ])('refuses a rule with %s', (_why, override) => {
    expect(configError(() => customRegexDetector({ kind: 'regex', id: 'r', type: 't', pattern: 'x', maxLength: 5, ...override }))).toBe(true);
  });
});

describe('unboundedRepetition', () => {
  it('finds *, + and {n,} outside escapes and classes, and nothing in bounded patterns', () => {
    expect(unboundedRepetition('a\\d+')).toBe('+');
    expect(unboundedRepetition('(?:ab)*')).toBe('*');
    expect(unboundedRepetition('x{3,}')).toBe('{3,}');
    expect(unboundedRepetition('[+*]\\+\\*x{1,5}y{2}z??')).toBeUndefined();
  });
});

describe('custom dictionary rules', () => {
  it('mask whole words case-insensitively, longest phrase first', () => {
    const d = customDictionaryDetector({ kind: 'dictionary', id: 'codenames', type: 'codename', words: ['Bluebird', 'Bluebird Two'] });
    expect(values(d, 'Project BLUEBIRD two ships; bluebirds are birds')).toEqual(['BLUEBIRD two']);
    expect(d.maxLength).toBe('Bluebird Two'.length);
    expect(d.family).toBe('pii');
  });

  it('escape regex metacharacters in words and can match case-sensitively inside words', () => {
    const d = customDictionaryDetector({ kind: 'dictionary', id: 'c', type: 'c', words: ['a.b'], caseSensitive: true, wholeWord: false });
    expect(values(d, 'xa.by aXb A.B')).toEqual(['a.b']);
  });

  it('refuses an empty word list', () => {
    expect(configError(() => customDictionaryDetector({ kind: 'dictionary', id: 'c', type: 'c', words: ['  '] }))).toBe(true);
  });
});

describe('customDetectors', () => {
  it('builds each kind and refuses duplicate ids', () => {
    const built = customDetectors([
      { kind: 'regex', id: 'a', type: 'a', pattern: 'x', maxLength: 1 },
      { kind: 'dictionary', id: 'b', type: 'b', words: ['y'] },
    ]);
    expect(built.map((d) => d.id)).toEqual(['a', 'b']);
    expect(configError(() => customDetectors([
      { kind: 'regex', id: 'a', type: 'a', pattern: 'x', maxLength: 1 },
      { kind: 'dictionary', id: 'a', type: 'b', words: ['y'] },
    ]))).toBe(true);
  });
});
