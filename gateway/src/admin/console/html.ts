/**
 * Server-rendered HTML for the web console, escaped by construction: every interpolated value is
 * escaped unless it is already `Html` (the result of another `html` template or `raw`). Pages are
 * built only from these, so a session's content (a prompt, a statement, a header) can never become
 * markup, and the console needs no inline script (the Content-Security-Policy forbids it).
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type Interpolation = Html | string | number | boolean | null | undefined | readonly Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** `html\`<p>${text}</p>\``: text is escaped; nested `html` results and arrays of them are kept. */
export function html(strings: TemplateStringsArray, ...values: readonly Interpolation[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Markup the caller vouches for (a constant, never request or session content). */
export function raw(markup: string): Html {
  return new Html(markup);
}
