import { DEFAULT_SEARCH_PATH, makeScope, type SqlScope } from './resolve';

/** Most distinct search_paths one session may have set: beyond it a further change is refused. */
export const MAX_SEARCH_PATHS = 8;
/** SQL-level prepared statements remembered per session; beyond it the oldest is forgotten (see `preparedForgotten`). */
export const MAX_PREPARED = 4096;

/** A SQL-level `PREPARE`, as judged: its own text and the generation of the scope it was judged in. */
export interface PreparedSql {
  readonly text: string;
  readonly generation: number;
}

/**
 * What name resolution needs to know about one client session (one per connection): the connected
 * database, the upstream role, and every search_path the session may have now.
 *
 * Why every path and not the current one: a `SET search_path` inside a transaction block is undone
 * by ROLLBACK, `SET LOCAL` ends with the transaction, and a statement may fail after the gateway
 * judged it; tracking all of that exactly would mean mirroring the server's transaction state.
 * The union of every path the session ever set is what the session may have in every case, and
 * resolving in all of them lists every table a name can mean (resolve.ts). A session that sets
 * many different paths is refused past MAX_SEARCH_PATHS rather than made ever slower.
 */
export class SqlSessionState {
  private current: SqlScope;
  /**
   * Incremented whenever the scope widens. PostgreSQL re-plans a prepared statement under a changed
   * search_path, so a statement judged in an older generation should be judged again before it
   * runs (the connection compares this at Bind / EXECUTE).
   */
  generation = 0;
  /** SQL-level prepared statements by name (`PREPARE`), to re-judge at `EXECUTE` when the generation changed. */
  private readonly prepared = new Map<string, PreparedSql>();
  /**
   * True once a prepared statement was forgotten (more than MAX_PREPARED): an `EXECUTE` of a name
   * the session does not know may then be one judged in an older scope, so it is refused.
   */
  preparedForgotten = false;

  constructor(
    readonly database: string | undefined,
    readonly user: string | undefined,
  ) {
    this.current = makeScope(database, user, [DEFAULT_SEARCH_PATH]);
  }

  get scope(): SqlScope {
    return this.current;
  }

  /**
   * Records a search_path the session may have from now on ('default' for RESET: already known).
   * Returns false, recording nothing, when that would exceed MAX_SEARCH_PATHS.
   */
  noteSearchPath(path: readonly string[] | 'default'): boolean {
    if (path === 'default') return true;
    const key = JSON.stringify(path);
    if (this.current.searchPaths.some((p) => JSON.stringify(p) === key)) return true;
    if (this.current.searchPaths.length >= MAX_SEARCH_PATHS) return false;
    this.current = makeScope(this.database, this.user, [...this.current.searchPaths, path]);
    this.generation++;
    return true;
  }

  /** Notes an allowed `PREPARE name AS ...`, judged in the current scope. */
  notePrepared(name: string, text: string): void {
    this.prepared.delete(name);
    this.prepared.set(name, { text, generation: this.generation });
    if (this.prepared.size > MAX_PREPARED) {
      this.prepared.delete(this.prepared.keys().next().value!);
      this.preparedForgotten = true;
    }
  }

  preparedSql(name: string): PreparedSql | undefined {
    return this.prepared.get(name);
  }
}
