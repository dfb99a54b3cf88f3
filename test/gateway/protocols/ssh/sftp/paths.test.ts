import { canonicalPath, decodePath, isCwdQuery } from '../../../../../gateway/src/protocols/ssh/sftp/paths';

const p = (s: string | Buffer, cwd?: string) => canonicalPath(typeof s === 'string' ? Buffer.from(s, 'utf8') : s, cwd);

describe('SFTP canonical paths', () => {
  it('drops "." components and repeated or trailing slashes: the kernel reads them the same', () => {
    expect(p('/srv//data/./x/')).toEqual({ ok: true, path: '/srv/data/x' });
    expect(p('/')).toEqual({ ok: true, path: '/' });
    expect(p('/ünï/cödé')).toEqual({ ok: true, path: '/ünï/cödé' });
  });

  it('refuses ".." (a symbolic link makes the lexical answer wrong)', () => {
    expect(p('/srv/link/../etc/passwd')).toMatchObject({ ok: false, reason: expect.stringContaining('..') });
    expect(p('../x', '/home/u')).toMatchObject({ ok: false });
  });

  it('resolves a relative path against the working directory the server named, and refuses it before', () => {
    expect(p('notes/a.txt', '/home/u')).toEqual({ ok: true, path: '/home/u/notes/a.txt' });
    expect(p('.', '/home/u')).toEqual({ ok: true, path: '/home/u' });
    expect(p('notes/a.txt')).toMatchObject({ ok: false, reason: expect.stringContaining('relative') });
  });

  it('refuses NUL bytes and bytes that are not UTF-8', () => {
    expect(p(Buffer.from('/etc/passwd\0.txt'))).toMatchObject({ ok: false, reason: expect.stringContaining('NUL') });
    expect(p(Buffer.from([0x2f, 0xff, 0xfe]))).toMatchObject({ ok: false, reason: expect.stringContaining('UTF-8') });
    expect(decodePath(Buffer.from([0xc3]))).toMatchObject({ ok: false });
  });

  it('knows the requests a client learns its working directory with', () => {
    expect(['.', '', './'].every(isCwdQuery)).toBe(true);
    expect(isCwdQuery('/home')).toBe(false);
  });
});
