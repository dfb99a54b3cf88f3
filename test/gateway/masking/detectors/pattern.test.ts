import { patternDetector } from '../../../../gateway/src/masking/detectors/pattern';

describe('patternDetector', () => {
  it('reports the offsets of the selected capture group only', () => {
    const d = patternDetector({ id: 't', type: 't', family: 'secret', maxLength: 20, pattern: /key=(\w+)/g, group: 1 });
    const text = 'a key=abc b key=defg';
    expect(d.find(text).map((x) => text.slice(x.start, x.end))).toEqual(['abc', 'defg']);
  });

  it('with several groups, reports the one that took part in the match', () => {
    const d = patternDetector({ id: 't', type: 't', family: 'secret', maxLength: 20, pattern: /v=(?:"([^"]+)"|(\w+))/g, group: [1, 2] });
    const text = 'v="quoted value" v=bare';
    expect(d.find(text).map((x) => text.slice(x.start, x.end))).toEqual(['quoted value', 'bare']);
  });

  it('drops candidates the accept check rejects', () => {
    const d = patternDetector({ id: 't', type: 't', family: 'pii', maxLength: 5, pattern: /\d+/g, accept: (v) => v !== '13' });
    expect(d.find('12 13 14')).toHaveLength(2);
  });

  it('refuses an infinite maxLength', () => {
    expect(() => patternDetector({ id: 't', type: 't', family: 'pii', maxLength: Infinity, pattern: /x/g })).toThrow(/maxLength/);
  });
});
