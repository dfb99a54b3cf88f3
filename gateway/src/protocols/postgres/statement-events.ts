import type { EventType, GatewaySession, PayloadOf, PgResultPayload } from '../../pipeline/types';
import type { Entry } from './extended-query';
import type { JudgedStatement } from './judge';
import { rowsFromTag, type BindMessage, type ErrorFields } from './messages';

/**
 * The request events of one connection's statements (`pg.query` before a statement is forwarded)
 * and the payloads of their outcomes (`pg.result`).
 */
export class StatementEvents {
  constructor(private readonly session: GatewaySession) {}

  /**
   * Records a request event before its operation is forwarded (session.recordRequest): in this
   * turn when recording is buffered (undefined = done), else a promise for the durable
   * acknowledgement (strict mode). Throws (buffered) or rejects (strict) when the event cannot be
   * stored: the operation must not go.
   */
  record<T extends EventType>(type: T, payload: PayloadOf<T>, requestId: string): Promise<void> | undefined {
    return this.session.recordRequest(type, payload, requestId);
  }

  /** The `pg.query` of each judged statement that goes upstream. */
  queries(statements: readonly JudgedStatement[], protocol: string): Promise<void> | undefined {
    let pending: Promise<void>[] | undefined;
    for (const s of statements) {
      const p = this.record('pg.query', { protocol, text: s.text, command: s.command, kind: s.kind, tables: s.tables }, s.requestId);
      if (p !== undefined) (pending ??= []).push(p);
    }
    if (pending === undefined) return undefined;
    return pending.length === 1 ? pending[0] : Promise.all(pending).then(() => undefined);
  }

  /** Allowed statements of a refused Parse never run (a Parse holds one statement for the server); their pg.query says so. */
  unrun(statements: readonly JudgedStatement[], protocol: string): Promise<void> | undefined {
    let pending: Promise<void>[] | undefined;
    for (const s of statements) {
      const p = this.record('pg.query', { protocol, text: s.text, command: s.command, kind: s.kind, tables: s.tables, executed: false, reason: 'another statement of the same message was refused' }, s.requestId);
      if (p !== undefined) (pending ??= []).push(p);
    }
    return pending === undefined ? undefined : Promise.all(pending).then(() => undefined);
  }
}

/** A Bind's parameters for its `pg.query`: text or base64, each capped at `cap` bytes, truncation marked. */
export function bindParameters(bind: BindMessage, cap: number): unknown[] {
  const parameters: unknown[] = new Array(bind.params.length);
  for (let i = 0; i < bind.params.length; i++) {
    const p = bind.params[i]!;
    if (p === null) {
      parameters[i] = null;
      continue;
    }
    const binary = bind.paramFormats[i] === 1;
    const v: Record<string, unknown> = binary ? { format: 'binary', base64: p.toString('base64', 0, Math.min(p.length, cap)) } : { format: 'text', value: p.toString('utf8', 0, Math.min(p.length, cap)) };
    if (p.length > cap) {
      v.truncated = true;
      v.bytes = p.length;
    }
    parameters[i] = v;
  }
  return parameters;
}

/** The `pg.result` of an Exec entry: time, tag and rows affected, error, columns and the recorded rows. */
export function resultPayload(entry: Entry, tag: string | null, suspended: boolean, error: ErrorFields | undefined, skipped: boolean): PgResultPayload {
  const payload: PgResultPayload = { ms: Math.round((performance.now() - entry.started) * 100) / 100 };
  if (skipped) payload.skipped = true;
  if (tag !== null) {
    payload.tag = tag;
    payload.rowsAffected = rowsFromTag(tag);
  }
  if (suspended) payload.suspended = true;
  if (error !== undefined) payload.error = { sqlstate: error.sqlstate, message: error.message, severity: error.severity };
  if (entry.columns !== undefined || entry.rows !== undefined) {
    payload.columns = entry.columns?.map((c) => ({ name: c.name, typeOid: c.typeOid })) ?? null;
    payload.rows = entry.rows ?? [];
    payload.rowCount = entry.rowCount;
    payload.truncated = entry.truncated;
  }
  return payload;
}
