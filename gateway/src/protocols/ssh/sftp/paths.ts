/**
 * The one path an SFTP request is judged on: the absolute path the server will act on, or a
 * refusal when the gateway cannot know it (docs/ssh.md, "SFTP").
 *
 * - Bytes that are not UTF-8, or hold NUL: refused (policy matches strings; a NUL ends the path the
 *   server sees early).
 * - `.` components and repeated or trailing slashes are dropped: the kernel reads them the same.
 * - `..` is refused: across a symbolic link the kernel's answer differs from the lexical one, and
 *   the gateway cannot see the server's links.
 * - A relative path is resolved against the server's working directory, which an SFTP session
 *   never changes (there is no chdir) and which the gateway learns from the server's own answer to
 *   REALPATH "." (every OpenSSH client asks first). Before that answer it is refused.
 */
export type PathResult = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodePath(raw: Buffer): { ok: true; text: string } | { ok: false; reason: string } {
  if (raw.includes(0)) return { ok: false, reason: 'the path holds a NUL byte' };
  try {
    return { ok: true, text: utf8.decode(raw) };
  } catch {
    return { ok: false, reason: 'the path is not UTF-8' };
  }
}

/** True for the paths a client asks REALPATH about to learn its working directory. */
export function isCwdQuery(text: string): boolean {
  return text === '.' || text === '' || text === './';
}

export function canonicalPath(raw: Buffer, cwd: string | undefined): PathResult {
  const d = decodePath(raw);
  if (!d.ok) return d;
  let text = d.text;
  if (!text.startsWith('/')) {
    if (cwd === undefined) return { ok: false, reason: 'a relative path before the server named its working directory (REALPATH ".")' };
    text = `${cwd}/${text}`;
  }
  const parts: string[] = [];
  for (const part of text.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return { ok: false, reason: 'the path holds ".." (its meaning depends on symbolic links the gateway cannot see)' };
    parts.push(part);
  }
  return { ok: true, path: `/${parts.join('/')}` };
}
