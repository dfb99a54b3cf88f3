import { createStreamRedactor } from '../../../../../gateway/src/masking/stream-redactor';
import { createReplacement } from '../../../../../gateway/src/masking/replacement';
import { builtInDetectors } from '../../../../../gateway/src/masking/detectors/index';
import { CHANNEL_CONTENT_BUDGET, ContentBudget, FileContent } from '../../../../../gateway/src/protocols/ssh/sftp/file-content';

const masking = { createStreamRedactor: () => createStreamRedactor({ detectors: builtInDetectors(), replacement: createReplacement({ kind: 'type_tag' }) }) };
const base = { channel: 1, path: '/srv/f', direction: 'write' as const };

describe('FileContent: the first bytes of a file, up to the cap', () => {
  it('keeps the first cap bytes in order; text is masked on a masking connection', () => {
    const c = new FileContent(30, new ContentBudget());
    c.add(Buffer.from('token=AKIAIOSFODNN7EXAMPLE '));
    c.add(Buffer.from('and more text beyond the cap'));
    const r = c.toPayload(base, 55, masking)!;
    expect(r).toMatchObject({ ...base, encoding: 'text', size: 55, recorded: 30, truncated: true });
    expect(r.text).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(r.text).toMatch(/^token=\[[A-Z_]+(:[0-9a-f]+)?\] and$/);
    expect(r.masked).toBeDefined();
  });

  it('records binary as base64 without masking, and leaves it out with masking', () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    const clear = new FileContent(1024, new ContentBudget());
    clear.add(bytes);
    expect(clear.toPayload(base, 5, undefined)).toEqual({ ...base, size: 5, truncated: false, recorded: 5, encoding: 'base64', base64: bytes.toString('base64') });
    const masked = new FileContent(1024, new ContentBudget());
    masked.add(bytes);
    expect(masked.toPayload(base, 5, masking)).toEqual({ ...base, size: 5, truncated: true, recorded: 0, encoding: 'none', reason: 'binary_masked' });
  });

  it('leaves out a character the cap cut in half rather than mangling it', () => {
    const c = new FileContent(4, new ContentBudget());
    c.add(Buffer.from('abé', 'utf8')); // 4 bytes: a, b, é (2 bytes)
    c.add(Buffer.from('日', 'utf8'));
    expect(c.toPayload(base, 7, undefined)).toMatchObject({ encoding: 'text', text: 'abé', recorded: 4 });
    const cut = new FileContent(3, new ContentBudget());
    cut.add(Buffer.from('abé', 'utf8'));
    expect(cut.toPayload(base, 4, undefined)).toMatchObject({ encoding: 'text', text: 'ab', recorded: 3, truncated: true });
  });

  it('stops at a gap, records nothing with cap 0 or no byte, and shares a budget across handles', () => {
    const c = new FileContent(100, new ContentBudget());
    c.add(Buffer.from('first '));
    c.stop();
    c.add(Buffer.from('after a gap'));
    expect(c.toPayload(base, 17, undefined)).toMatchObject({ text: 'first ', truncated: true });
    expect(new FileContent(0, new ContentBudget()).toPayload(base, 10, undefined)).toBeUndefined();
    expect(new FileContent(10, new ContentBudget()).toPayload(base, 0, undefined)).toBeUndefined();

    const budget = new ContentBudget();
    const big = new FileContent(CHANNEL_CONTENT_BUDGET, budget);
    big.add(Buffer.alloc(CHANNEL_CONTENT_BUDGET - 3, 0x61));
    const other = new FileContent(100, budget);
    other.add(Buffer.from('abcdef'));
    expect(other.toPayload(base, 6, undefined)).toMatchObject({ text: 'abc', truncated: true });
    big.toPayload(base, CHANNEL_CONTENT_BUDGET - 3, undefined);
    expect(budget.held).toBe(0);
  });
});
