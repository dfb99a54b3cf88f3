import type { IncomingHttpHeaders } from 'node:http';
import { GatehouseError } from '../../errors';

/**
 * Method overrides: ways a request asks the upstream framework to treat it as another method
 * (Rails, Laravel, Symfony, Express's method-override, ASP.NET, Google APIs). Policy would judge the
 * wire method (`POST`) while the upstream runs the overriding one (`DELETE`), so a connection either
 * refuses them (the default) or judges the request as the overriding method (`methodOverride: judge`).
 */
export const METHOD_OVERRIDE_HEADERS: readonly string[] = ['x-http-method-override', 'x-http-method', 'x-method-override'];

/** The query or form parameter frameworks read (lower-cased, as `CanonicalTarget.params`). */
export const METHOD_OVERRIDE_PARAM = '_method';

const TOKEN = /^[A-Za-z]{1,32}$/;

function normalized(value: string): string {
  const v = value.trim();
  if (!TOKEN.test(v)) throw new GatehouseError('GH_ERR_METHOD_OVERRIDE', 'the request carries a method override that is not a method name');
  return v.toUpperCase();
}

/**
 * The method a request's headers and query parameters ask for, or undefined when none does.
 * Several overrides that disagree (or one header sent twice with different values) are refused
 * (GH_ERR_METHOD_OVERRIDE): which one a framework honours differs.
 */
export function methodOverrideOf(headers: IncomingHttpHeaders, params: Readonly<Record<string, string>>): string | undefined {
  let found: string | undefined;
  const note = (value: string): void => {
    const m = normalized(value);
    if (found !== undefined && found !== m) throw new GatehouseError('GH_ERR_METHOD_OVERRIDE', 'the request carries method overrides that disagree');
    found = m;
  };
  const noteHeader = (v: string | string[] | undefined): void => {
    if (v === undefined) return;
    if (Array.isArray(v)) for (const x of v) note(x);
    else for (const x of v.split(',')) note(x);
  };
  for (const name of METHOD_OVERRIDE_HEADERS) noteHeader(headers[name]);
  // CGI/WSGI/Rack read `x_http_method_override` as the same header: every spelling counts.
  for (const name in headers) {
    if (name.indexOf('_') === -1 || name.charCodeAt(0) !== 0x78) continue;
    if (METHOD_OVERRIDE_HEADERS.includes(name.replace(/_/g, '-'))) noteHeader(headers[name]);
  }
  const q = params[METHOD_OVERRIDE_PARAM];
  if (q !== undefined) note(q);
  return found;
}

const FORM = /^\s*application\/x-www-form-urlencoded\s*(;|$)/i;
const MULTIPART = /^\s*multipart\/form-data\s*(;|$)/i;

/** True when a body of this content type can carry a `_method` field frameworks honour. */
export function isFormBody(contentType: string | undefined): boolean {
  return contentType !== undefined && (FORM.test(contentType) || MULTIPART.test(contentType));
}

/**
 * The method a form body asks for through a `_method` field, or undefined. `complete` says whether
 * `body` is the whole body: a form whose end was not read (longer than the connection's body cap)
 * cannot be shown free of an override and is refused. Names are compared after decoding, ignoring case.
 */
export function formMethodOverride(contentType: string, body: Buffer, complete: boolean): string | undefined {
  if (!complete) throw new GatehouseError('GH_ERR_METHOD_OVERRIDE', 'the form body is longer than the body cap, so a "_method" override in it cannot be ruled out; raise bodyCapBytes or send another content type');
  const text = body.toString('latin1');
  if (FORM.test(contentType)) {
    let found: string | undefined;
    for (const part of text.split('&')) {
      const eq = part.indexOf('=');
      let name: string;
      let value: string;
      try {
        name = decodeURIComponent((eq === -1 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
        value = eq === -1 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
      } catch {
        if (/_method|%5f/i.test(part)) throw new GatehouseError('GH_ERR_METHOD_OVERRIDE', 'the form body has an undecodable field that may be a method override');
        continue;
      }
      if (name.trim().toLowerCase() !== METHOD_OVERRIDE_PARAM) continue;
      const m = normalized(value);
      if (found !== undefined && found !== m) throw new GatehouseError('GH_ERR_METHOD_OVERRIDE', 'the form body carries method overrides that disagree');
      found = m;
    }
    return found;
  }
  // multipart/form-data: a part named `_method` (quoted or not), in any case.
  const re = /content-disposition:[^\r\n]*;\s*name\s*=\s*"?_method"?\s*(;[^\r\n]*)?\r?\n(?:[^\r\n]+\r?\n)*\r?\n([^\r\n]*)/gi;
  let found: string | undefined;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const v = normalized(m[2]!);
    if (found !== undefined && found !== v) throw new GatehouseError('GH_ERR_METHOD_OVERRIDE', 'the form body carries method overrides that disagree');
    found = v;
  }
  return found;
}
