import { isGatehouseError } from '../../../../gateway/src/errors';
import { CredentialScrubber, credentialForms, scrubHeaders } from '../../../../gateway/src/protocols/http/credential-scrubber';

const SECRET = 'sk-live-0123456789abcdef';

function run(scrubber: CredentialScrubber, pieces: string[]): string {
  let out = '';
  for (const p of pieces) out += scrubber.push(Buffer.from(p)).toString();
  return out + scrubber.end().toString();
}

describe('CredentialScrubber', () => {
  const forms = credentialForms({ type: 'bearer', secret: 'env:X' }, SECRET);

  it('masks the credential with the same length, wherever the chunks split it', () => {
    const body = `{"echo":"Bearer ${SECRET}","again":"${SECRET}"}`;
    const expected = body.split(SECRET).join('*'.repeat(SECRET.length));
    for (let cut = 0; cut <= body.length; cut++) {
      for (const cut2 of [cut, Math.min(body.length, cut + 3), Math.min(body.length, cut + 11)]) {
        const s = new CredentialScrubber(forms, 'mask');
        expect(run(s, [body.slice(0, cut), body.slice(cut, cut2), body.slice(cut2)])).toBe(expected);
        expect(s.found).toBe(2);
      }
    }
  });

  it('passes everything else through unchanged, holding back only a possible beginning', () => {
    const s = new CredentialScrubber(forms, 'mask');
    expect(s.push(Buffer.from('hello sk-li')).toString()).toBe('hello ');
    expect(s.push(Buffer.from('ke it')).toString()).toBe('sk-like it');
    expect(s.end().toString()).toBe('');
    expect(s.found).toBe(0);
  });

  it('finds the forms an upstream would quote: Basic base64, URL-encoded, JSON-escaped', () => {
    const secret = 'p@ss/"word"+1';
    const basic = credentialForms({ type: 'basic', username: 'svc', secret: 'env:X' }, secret);
    const b64 = Buffer.from(`svc:${secret}`).toString('base64');
    for (const text of [`Authorization: Basic ${b64}`, `url=${encodeURIComponent(secret)}`, `{"v":${JSON.stringify(secret)}}`, secret]) {
      const s = new CredentialScrubber(basic, 'mask');
      expect(run(s, [text])).not.toContain(text.includes(b64) ? b64 : secret.slice(0, 5));
      expect(s.found).toBeGreaterThan(0);
    }
  });

  it('with forms that share a prefix (a secret and its escaped forms), each form is still found wherever the chunks split it', () => {
    const secret = 'sk-ant-api03-abc/def+ghi=jkl"q';
    const shared = credentialForms({ type: 'bearer', secret: 'env:X' }, secret);
    // The forms share their first 16 bytes: a chunk without them is passed by one search.
    expect(shared.bytes).toHaveLength(3);
    expect(shared.gate?.toString()).toBe('sk-ant-api03-abc');
    for (const form of [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]) {
      const body = `data: {"x":"${form}"} and sk-ant-api03-abX\n\n`;
      const expected = body.split(form).join('*'.repeat(Buffer.byteLength(form)));
      for (let cut = 0; cut <= body.length; cut++) {
        const s = new CredentialScrubber(shared, 'mask');
        expect([form, cut, run(s, [body.slice(0, cut), body.slice(cut)])]).toEqual([form, cut, expected]);
        expect(s.found).toBe(1);
      }
    }
    // A held-back tail that turns out not to be a form is released unchanged.
    const s = new CredentialScrubber(shared, 'mask');
    expect(s.push(Buffer.from('tail sk-ant-api03-abc/de')).toString()).toBe('tail ');
    expect(s.push(Buffer.from('f+nope')).toString()).toBe('sk-ant-api03-abc/def+nope');
    expect(credentialForms({ type: 'basic', username: 'svc', secret: 'env:X' }, secret).gate).toBeUndefined();
  });

  it('refuses in refuse mode (GH_ERR_CREDENTIAL_REFLECTED)', () => {
    const s = new CredentialScrubber(forms, 'refuse');
    expect(s.push(Buffer.from('abc sk-live-0123'))).toBeDefined();
    try {
      s.push(Buffer.from('456789abcdef done'));
      throw new Error('not refused');
    } catch (e) {
      expect(isGatehouseError(e, 'GH_ERR_CREDENTIAL_REFLECTED')).toBe(true);
      expect((e as Error).message).not.toContain(SECRET);
    }
  });

  it('scrubs header values and leaves clean headers as the same object', () => {
    const s = new CredentialScrubber(forms, 'mask');
    const clean = { 'content-type': 'text/plain' };
    expect(scrubHeaders(clean, s)).toBe(clean);
    const out = scrubHeaders({ 'x-debug': `token=${SECRET}`, 'set-cookie': [`a=${SECRET}`, 'b=1'] }, s);
    expect(JSON.stringify(out)).not.toContain(SECRET);
    expect(out['set-cookie']).toEqual([`a=${'*'.repeat(SECRET.length)}`, 'b=1']);
  });
});
