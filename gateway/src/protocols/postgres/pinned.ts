import { GatehouseError } from '../../errors';
import { readCString } from './messages';

/**
 * The server settings that decide how PostgreSQL tokenizes SQL, pinned to what the gateway's parser
 * assumes. From PostgreSQL's lexer (src/backend/parser/scan.l) and the path text takes to it:
 *
 * - `client_encoding`: the server converts the client's bytes to the server encoding before lexing.
 *   The gateway reads them as UTF-8; in a client-only encoding (SJIS, BIG5, GBK, UHC, GB18030) a
 *   multibyte character can end in a `\` or `'` byte the gateway reads as a quote or an escape, so
 *   text the gateway judged inside a literal would run as statements. Only UTF8 is accepted.
 * - `standard_conforming_strings`: whether `\` escapes in `'...'` literals (scan.l's `<xq>` rules).
 * - `backslash_quote`: whether `\'` is accepted in escape strings (scan.l's `xqescape`/`check_escape_warning`).
 *
 * `escape_string_warning` only adds warnings, and the rest of the settings affect parse analysis,
 * not tokenization (search_path and friends are judged at statement level: sql/).
 */
export const LEXING_PARAMETERS: ReadonlyMap<string, string> = new Map([
  ['client_encoding', 'UTF8'],
  ['standard_conforming_strings', 'on'],
  ['backslash_quote', 'safe_encoding'],
]);

/** Startup parameters passed on upstream (lower-cased names; PostgreSQL's names are case-insensitive). */
const FORWARDED = new Set(['application_name', 'datestyle', 'timezone', 'intervalstyle', 'extra_float_digits']);

function refuse(message: string): never {
  throw new GatehouseError('GH_ERR_PG_PARAMETER_PINNED', message);
}

/** PostgreSQL's parse_bool: on/off, true/false, yes/no, 1/0 and unique prefixes; undefined when none. */
export function parseBool(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (v === '') return undefined;
  if (v === 'on' || v === '1' || 'true'.startsWith(v) || 'yes'.startsWith(v)) return true;
  if (v === 'off' || v === '0' || 'false'.startsWith(v) || 'no'.startsWith(v)) return false;
  return undefined;
}

/** Whether `value` means the pinned value of `name` (spelling as PostgreSQL accepts it). */
function meansPinned(name: string, value: string): boolean {
  switch (name) {
    case 'client_encoding': {
      // PostgreSQL's clean_encoding_name: lower case, letters and digits only; "unicode" is an alias.
      const clean = value.toLowerCase().replace(/[^a-z0-9]/g, '');
      return clean === 'utf8' || clean === 'unicode';
    }
    case 'standard_conforming_strings':
      return parseBool(value) === true;
    case 'backslash_quote':
      return value.trim().toLowerCase() === 'safe_encoding';
    default:
      return false;
  }
}

function pinnedMessage(name: string, value: string, where: string): string {
  const pinned = LEXING_PARAMETERS.get(name)!;
  const hint = name === 'client_encoding' ? ' (set PGCLIENTENCODING=UTF8 or your driver\'s encoding option)' : '';
  return `gatehouse: ${where} ${name} = "${value.slice(0, 64)}" is not supported: the gateway judges SQL as the server reads it only with ${name} = ${pinned}${hint}`;
}

/**
 * Splits a startup `options` value as the server does (pg_split_opts: whitespace separates,
 * a backslash escapes the next character).
 */
export function splitOptions(options: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  for (let i = 0; i < options.length; i++) {
    const c = options[i]!;
    if (c === '\\' && i + 1 < options.length) {
      cur += options[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** `-c name=value`, `-cname=value` and `--name=value` settings of an `options` value; anything else is refused. */
function optionSettings(options: string): [string, string][] {
  const words = splitOptions(options);
  const out: [string, string][] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    let setting: string | undefined;
    if (w === '-c') setting = words[++i];
    else if (w.startsWith('-c')) setting = w.slice(2);
    else if (w.startsWith('--')) setting = w.slice(2);
    if (setting === undefined) refuse(`gatehouse: the startup option "${w.slice(0, 64)}" is not supported: the gateway passes no server options upstream`);
    const eq = setting.indexOf('=');
    if (eq <= 0) refuse(`gatehouse: the startup option "-c ${setting.slice(0, 64)}" has no value`);
    out.push([setting.slice(0, eq).toLowerCase().replace(/-/g, '_'), setting.slice(eq + 1)]);
  }
  return out;
}

/**
 * Checks a client's startup parameters and returns those passed on upstream. Refused (GatehouseError
 * GH_ERR_PG_PARAMETER_PINNED, the message naming the parameter): a lexing parameter with another
 * value than the pinned one, directly or as `options=-c name=value`; any other `options` content
 * (the gateway passes no server options upstream: `-c role=...` or `-c default_transaction_read_only=off`
 * would change what was judged); a replication connection. Other parameters are not passed on.
 */
export function clientStartupParameters(params: Readonly<Record<string, string>>): Record<string, string> {
  const forwarded: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    const name = key.toLowerCase();
    if (LEXING_PARAMETERS.has(name)) {
      if (!meansPinned(name, value)) refuse(pinnedMessage(name, value, 'the startup parameter'));
    } else if (name === 'options') {
      for (const [n, v] of optionSettings(value)) {
        if (!LEXING_PARAMETERS.has(n)) refuse(`gatehouse: the startup option "-c ${n}" is not supported: the gateway passes no server options upstream`);
        if (!meansPinned(n, v)) refuse(pinnedMessage(n, v, 'the startup option'));
      }
    } else if (name === 'replication') {
      if (parseBool(value) !== false) refuse('gatehouse: the startup parameter replication is not supported: replication connections are not proxied');
    } else if (name === 'default_transaction_read_only') {
      // A client may ask for read-only (never weaker than what the gateway sets); "off" is decided in upstreamStartupParameters.
      forwarded[key] = value;
    } else if (FORWARDED.has(name)) forwarded[key] = value;
  }
  return forwarded;
}

/**
 * What goes upstream: the client's forwarded parameters plus the pinned lexing parameters and,
 * for a read-only session, `default_transaction_read_only = on` (a client asking for off is refused).
 */
export function upstreamStartupParameters(forwarded: Readonly<Record<string, string>>, readOnly: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(forwarded)) {
    if (key.toLowerCase() === 'default_transaction_read_only') {
      const on = parseBool(value);
      if (on === undefined) refuse(`gatehouse: the startup parameter default_transaction_read_only = "${value.slice(0, 64)}" is not a boolean`);
      if (!on && readOnly) refuse('gatehouse: the startup parameter default_transaction_read_only = off is not allowed: this principal\'s session is read-only');
      if (on) out.default_transaction_read_only = 'on';
      continue;
    }
    out[key] = value;
  }
  for (const [name, value] of LEXING_PARAMETERS) out[name] = value;
  if (readOnly) out.default_transaction_read_only = 'on';
  return out;
}

/** The server parameters a session watches in ParameterStatus: the lexing ones, and read-only when it is. */
export function watchedParameters(readOnly: boolean): ReadonlyMap<string, string> {
  if (!readOnly) return LEXING_PARAMETERS;
  return new Map([...LEXING_PARAMETERS, ['default_transaction_read_only', 'on']]);
}

/** For a ParameterStatus body: the watched parameter it reports with another value, if any. */
export function pinnedViolation(body: Buffer, watched: ReadonlyMap<string, string>): { name: string; value: string } | undefined {
  const name = readCString(body, 0);
  const expected = watched.get(name.value);
  if (expected === undefined) return undefined;
  const value = readCString(body, name.next).value;
  return value === expected ? undefined : { name: name.value, value };
}
