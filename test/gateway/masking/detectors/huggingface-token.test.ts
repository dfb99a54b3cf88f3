import { huggingfaceToken } from '../../../../gateway/src/masking/detectors/huggingface-token';

const TOKEN = `hf_${'QwErTyUiOpAsDfGhJkLzXcVbNmQwErTyUi'}`;

const found = (text: string): string[] => huggingfaceToken.find(text).map((d) => text.slice(d.start, d.end));

describe('huggingface-token', () => {
  it.each([
    [`HF_TOKEN=${TOKEN}`, TOKEN],
    [`huggingface-cli login --token ${TOKEN}`, TOKEN],
  ])('finds exactly the value in %s', (text: string, value: string) => {
    expect(found(text)).toEqual([value]);
  });
  it.each([
    ['from huggingface_hub import hf_hub_download'],
    [`hf_${'abcdefghijklmnopqrstuvwxyzabcdefgh'}`],
    [`hf_${'QwErTyUiOpAsDfGhJkLzXcVbNmQwErTyUi'}x`],
  ])('ignores %s', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = huggingfaceToken.find(`HF_TOKEN=${TOKEN}`)[0]!;
    expect(d.rule).toBe(huggingfaceToken.id);
    expect(d.type).toBe(huggingfaceToken.type);
    expect(d.end - d.start).toBeLessThanOrEqual(huggingfaceToken.maxLength);
  });
});
