import { DECISION_CODES } from '../../../policy/decision';
import type { SqlRefusal } from './resolve';

/**
 * Settings whose change the gateway refuses, whatever policy says, and the one it follows.
 *
 * The gateway's parser reads SQL as UTF-8 with `standard_conforming_strings = on`. PostgreSQL 15's
 * lexer (src/backend/parser/scan.l) reads three settings (scanner_init copies them into
 * core_yy_extra): `standard_conforming_strings` (whether `\` escapes inside '...'),
 * `backslash_quote` (whether `\'` is accepted) and `escape_string_warning` (a warning only:
 * harmless, allowed). Before the lexer runs, the server converts the text from `client_encoding`
 * (`SET NAMES` is the same setting): in a client-only multibyte encoding (SJIS, BIG5, GBK, ...)
 * a byte the gateway reads as a quote can be the second byte of a character. A change of any of
 * them would make the server read a statement differently from the statement judged, so it is
 * refused, at every level where it could take effect: `SET`, `SET LOCAL`, `RESET`, `set_config()`,
 * `ALTER ROLE | DATABASE | SYSTEM ... SET/RESET`, and a function's `SET` clause (its body is
 * parsed with it). The startup packet is the listener's concern (server.ts).
 *
 * `search_path` changes how unqualified names resolve. A session's `SET [LOCAL] search_path` is
 * followed (SqlSessionState records every path the session may have); the ways a change could
 * escape that are refused: `set_config('search_path', ...)` (a computed value), and
 * `ALTER ROLE | DATABASE ... SET search_path` (later sessions, which assume the default). A
 * function's own `SET search_path` (good practice for SECURITY DEFINER functions) is allowed.
 */
export const LEXING_SETTINGS: ReadonlySet<string> = new Set(['standard_conforming_strings', 'backslash_quote', 'client_encoding']);

/** Where a `SET` takes effect. */
export type SettingScope = 'session' | 'role' | 'database' | 'system' | 'function';

/** One setting a statement changes (VariableSetStmt anywhere in it, or a set_config call). */
export interface SettingChange {
  /** Lower-case parameter name; undefined for `RESET ALL` or a computed set_config name. */
  readonly name: string | undefined;
  readonly scope: SettingScope;
  /** set_config(...) rather than SET. */
  readonly viaFunction: boolean;
  /** For `SET search_path`: the schemas, as the server will store them; `DEFAULT`/`RESET` is the default path. */
  readonly values?: readonly string[];
  readonly reset: boolean;
}

export interface SettingsVerdict {
  readonly refusal?: SqlRefusal;
  /** A search_path the session may have after the statement (the default for RESET/DEFAULT). */
  readonly searchPath?: readonly string[] | 'default';
}

function lexingRefusal(name: string, how: string): SqlRefusal {
  return {
    code: DECISION_CODES.postgresLexingSetting,
    message: `gatehouse: ${how} ${name} is refused: it changes how the server reads SQL text, and the gateway judges statements as read with client_encoding UTF8 and standard_conforming_strings on`,
  };
}

export function settingsVerdict(changes: readonly SettingChange[]): SettingsVerdict {
  let searchPath: readonly string[] | 'default' | undefined;
  for (const c of changes) {
    const how = c.viaFunction ? 'set_config of' : c.reset ? 'resetting' : 'changing';
    if (c.name === undefined) {
      if (c.viaFunction) {
        return { refusal: { code: DECISION_CODES.postgresSetConfigName, message: 'gatehouse: set_config with a parameter name that is not a string literal is refused (the gateway must know which setting changes)' } };
      }
      // RESET ALL: settings go back to their session defaults (the pinned ones included).
      if (c.scope === 'session') searchPath = 'default';
      continue;
    }
    if (LEXING_SETTINGS.has(c.name)) return { refusal: lexingRefusal(c.name, how) };
    if (c.name !== 'search_path' || c.scope === 'function') continue;
    if (c.viaFunction || c.scope !== 'session') {
      return {
        refusal: {
          code: DECISION_CODES.postgresSearchPath,
          message: `gatehouse: ${c.viaFunction ? 'set_config of search_path' : `ALTER ${c.scope.toUpperCase()} ... SET search_path`} is refused: the gateway resolves names through the search_path and cannot follow this change (use SET search_path)`,
        },
      };
    }
    searchPath = c.reset || c.values === undefined ? 'default' : c.values;
  }
  return searchPath === undefined ? {} : { searchPath };
}
