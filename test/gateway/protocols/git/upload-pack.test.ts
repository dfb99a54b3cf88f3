import { decodeUploadPack } from '../../../../gateway/src/protocols/git/upload-pack';
import { DELIM_PKT, encodePktLine as pkt, FLUSH_PKT } from '../../../../gateway/src/protocols/git/pkt-line';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const body = (...parts: (string | Buffer)[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? pkt(p + '\n') : p)));

describe('upload-pack request decoder', () => {
  it('records the wants, want-refs, haves and filter of a v2 fetch', () => {
    const r = decodeUploadPack(body('command=fetch', 'agent=git/2.39.5', 'object-format=sha1', DELIM_PKT, 'thin-pack', 'ofs-delta', `want ${A}`, `want ${B}`, 'want-ref refs/heads/main', `have ${B}`, 'filter blob:none', 'done', FLUSH_PKT), 2);
    expect(r).toEqual({
      ok: true,
      request: { version: 2, command: 'fetch', capabilities: ['agent=git/2.39.5', 'object-format=sha1'], objectFormat: 'sha1', wants: [A, B], wantRefs: ['refs/heads/main'], haves: 1, done: true, refPrefixes: [], filter: 'blob:none', deepen: [] },
    });
  });

  it('records the ref prefixes of a v2 ls-refs', () => {
    const r = decodeUploadPack(body('command=ls-refs', DELIM_PKT, 'peel', 'symrefs', 'ref-prefix refs/heads/', 'ref-prefix HEAD', FLUSH_PKT), 2);
    expect(r).toMatchObject({ ok: true, request: { command: 'ls-refs', refPrefixes: ['refs/heads/', 'HEAD'], wants: [] } });
  });

  it('decodes a v0 request: wants with capabilities, flush, haves, done', () => {
    const r = decodeUploadPack(body(`want ${A} multi_ack_detailed side-band-64k ofs-delta`, `want ${B}`, 'deepen 1', FLUSH_PKT, `have ${B}`, `have ${A}`, 'done'), 0);
    expect(r).toMatchObject({ ok: true, request: { version: 0, wants: [A, B], haves: 2, done: true, deepen: ['deepen 1'], capabilities: ['multi_ack_detailed', 'side-band-64k', 'ofs-delta'] } });
  });

  it.each([
    ['v2 without a command', 2, body('agent=x', FLUSH_PKT), /command=/],
    ['v2 with a want that is no id', 2, body('command=fetch', DELIM_PKT, 'want main', FLUSH_PKT), /want without an object id/],
    ['v2 with an unknown fetch argument', 2, body('command=fetch', DELIM_PKT, 'sneaky x', FLUSH_PKT), /does not know/],
    ['v2 without its flush', 2, body('command=fetch', DELIM_PKT, `want ${A}`), /end with one flush/],
    ['v2 with packets after its flush', 2, body('command=ls-refs', FLUSH_PKT, 'command=fetch', FLUSH_PKT), /end with one flush/],
    ['v2 with a bad want-ref', 2, body('command=fetch', DELIM_PKT, 'want-ref refs/heads/../x', FLUSH_PKT), /want-ref/],
    ['v0 without a want', 0, body(FLUSH_PKT, 'done'), /want/],
    ['v0 with a have before the flush', 0, body(`want ${A}`, `have ${B}`, FLUSH_PKT), /does not expect/],
    ['a truncated packet', 2, Buffer.from('0010comm'), /inside a pkt-line/],
  ])('refuses %s', (_name, version, bytes, reason) => {
    const r = decodeUploadPack(bytes, version as 0 | 2);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});
