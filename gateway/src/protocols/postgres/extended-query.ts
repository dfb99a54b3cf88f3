import { parseExecute, parseTarget, type Column } from './messages';

/**
 * What the server owes the client, in order: every client message the server answers gets an
 * entry in a FIFO, so the gateway knows which statement a server message belongs to and where its
 * own answers (refusals) go in the server's stream. Also the extended protocol's named objects:
 * prepared statements (their text and judgment) and portals (their statement and result formats).
 */
export const Kind = {
  Parse: 0,
  Bind: 1,
  Close: 2,
  Describe: 3,
  Exec: 4,
  Sync: 5,
  /** A refused statement: the server's ErrorResponse for the failing stand-in sent in its place is replaced by `refusal`. */
  Refused: 6,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export interface Entry {
  kind: Kind;
  requestId?: string;
  started: number;
  /** Exec: the portal's statement name; Describe: the target name. */
  name?: string;
  portal?: string;
  describeStatement?: boolean;
  resultFormats?: readonly number[];
  columns?: Column[];
  rows?: (string | null)[][];
  rowCount: number;
  truncated: boolean;
  refusal?: Buffer;
}

export interface PreparedStatement {
  readonly text: string;
  /** Request id of the judgment whose decision the first execution's pg.query carries. */
  requestId?: string;
  /** The generation of the session's name-resolution scope it was judged in (sql/session-state.ts). */
  generation: number;
  columns?: Column[];
}

export interface Portal {
  readonly requestId: string;
  readonly statement: string;
  readonly resultFormats: readonly number[];
}

export class ExtendedQueryTracker {
  /** Entries in the order the server answers them. */
  readonly fifo: Entry[] = [];
  readonly statements = new Map<string, PreparedStatement>();
  readonly portals = new Map<string, Portal>();
  /** The portal last described, and its columns (drivers describe the portal, then execute it). */
  private lastPortal: string | undefined;
  private lastPortalColumns: Column[] | undefined;

  push(kind: Kind): Entry {
    const e: Entry = { kind, started: kind === Kind.Exec ? performance.now() : 0, rowCount: 0, truncated: false };
    this.fifo.push(e);
    return e;
  }

  /** Removes the head when it is of `kind`; true when it did. */
  popIf(kind: Kind): boolean {
    if (this.fifo[0]?.kind !== kind) return false;
    this.fifo.shift();
    return true;
  }

  // client messages

  describe(body: Buffer): void {
    const t = parseTarget(body);
    const e = this.push(Kind.Describe);
    e.name = t.name;
    e.describeStatement = t.kind === 0x53;
  }

  execute(body: Buffer): void {
    const e = parseExecute(body);
    const portal = this.portals.get(e.portal);
    const entry = this.push(Kind.Exec);
    entry.portal = e.portal;
    if (portal !== undefined) {
      entry.requestId = portal.requestId;
      entry.name = portal.statement;
      entry.resultFormats = portal.resultFormats;
    }
  }

  close(body: Buffer): void {
    const t = parseTarget(body);
    if (t.kind === 0x53) this.statements.delete(t.name);
    else this.portals.delete(t.name);
    this.push(Kind.Close);
  }

  // server messages

  /** A Describe's answer (RowDescription, or NoData: undefined), for the Describe at the head (already shifted). */
  described(entry: Entry, columns: Column[] | undefined): void {
    if (entry.describeStatement) {
      const s = this.statements.get(entry.name ?? '');
      if (s !== undefined) s.columns = columns;
    } else {
      this.lastPortal = entry.name;
      this.lastPortalColumns = columns;
    }
  }

  /** The columns an Exec's rows have, from a Describe of its portal or of its statement. */
  columnsFor(entry: Entry): Column[] | undefined {
    if (entry.portal !== undefined && entry.portal === this.lastPortal && this.lastPortalColumns !== undefined) return this.lastPortalColumns;
    return entry.name !== undefined ? this.statements.get(entry.name)?.columns : undefined;
  }
}
