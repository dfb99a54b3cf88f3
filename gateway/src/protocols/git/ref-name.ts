/**
 * Ref names as `git check-ref-format` accepts them (git-check-ref-format(1)), restricted to what
 * receive-pack updates: full names under `refs/`. A name git itself would refuse is refused here
 * too, so what policy judges is exactly the ref the server moves.
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\x00-\x20\x7f~^:?*[\\]/;

/** Why `name` is not a ref receive-pack updates, or undefined when it is one. */
export function refNameProblem(name: string): string | undefined {
  if (!name.startsWith('refs/')) return 'a ref name must start with refs/';
  if (FORBIDDEN.test(name)) return 'a ref name must not contain control characters, spaces or any of ~^:?*[\\';
  if (name.includes('..')) return 'a ref name must not contain ..';
  if (name.includes('@{')) return 'a ref name must not contain @{';
  if (name.endsWith('/') || name.endsWith('.')) return 'a ref name must not end with / or .';
  for (const part of name.split('/')) {
    if (part === '') return 'a ref name must not contain an empty component';
    if (part.startsWith('.')) return 'a ref name component must not start with .';
    if (part.endsWith('.lock')) return 'a ref name component must not end with .lock';
  }
  return undefined;
}
