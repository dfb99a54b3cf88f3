import { maskingSchema } from '../../../../../gateway/src/config/schema';
import { prepareMasking, type MaskingPolicy } from '../../../../../gateway/src/masking/masking-policy';
import { createJsonFragmentRedactor } from '../../../../../gateway/src/protocols/http/llm/json-fragments';

const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const EMAIL = 'ada.lovelace@example.com';

async function policy(): Promise<MaskingPolicy> {
  const parsed = maskingSchema.parse({ replacement: { kind: 'type_tag' } });
  return prepareMasking(parsed, { connection: 'llm' })!.resolve({ get: async () => Promise.reject(new Error('no secrets needed')) });
}

/** Feeds `text` in pieces of `n` characters; returns everything released. */
function feed(r: ReturnType<typeof createJsonFragmentRedactor>, text: string, n: number): { during: string; total: string } {
  let during = '';
  for (let i = 0; i < text.length; i += n) during += r.push(text.slice(i, i + n));
  return { during, total: during + r.end() };
}

describe('createJsonFragmentRedactor (tool input streamed as JSON pieces)', () => {
  const input = JSON.stringify({ path: '.env', content: `REGION=eu\n${AWS_KEY}\n${EMAIL}\nDONE=1` });

  test('holds the pieces and masks the whole input as JSON at the end: escapes are decoded, the result parses', async () => {
    const r = createJsonFragmentRedactor(await policy());
    const { during, total } = feed(r, input, 7);
    expect(during).toBe('');
    expect(JSON.parse(total)).toEqual({ path: '.env', content: 'REGION=eu\n[AWS_ACCESS_KEY_ID]\n[EMAIL]\nDONE=1' });
    expect(r.counts).toEqual({ aws_access_key_id: 1, email: 1 });
  });

  test('past its limit it masks as a text stream (released as it goes, nothing unmasked), as plain deltas are', async () => {
    const filler = 'x'.repeat(300);
    const long = JSON.stringify({ note: `${filler} ${EMAIL} ${filler} ${AWS_KEY} ${filler}` });
    const r = createJsonFragmentRedactor(await policy(), 200);
    const { during, total } = feed(r, long, 50);
    expect(during.length).toBeGreaterThan(0);
    expect(total).not.toContain(EMAIL);
    expect(total).not.toContain(AWS_KEY);
    expect(JSON.parse(total)).toEqual({ note: `${filler} [EMAIL] ${filler} [AWS_ACCESS_KEY_ID] ${filler}` });
    expect(r.counts).toEqual({ email: 1, aws_access_key_id: 1 });
  });

  test('input that never becomes JSON (cut off by max_tokens) is still masked as text', async () => {
    const r = createJsonFragmentRedactor(await policy());
    const cut = input.slice(0, input.indexOf('DONE'));
    const { total } = feed(r, cut, 5);
    expect(total).not.toContain(EMAIL);
    expect(total).not.toContain(AWS_KEY.slice(4));
  });
});
