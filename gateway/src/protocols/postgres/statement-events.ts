import type { GatehouseError } from '../../errors';
import type { EventType, GatewaySession, PayloadOf, PgErrorPayload, PgResultPayload } from '../../pipeline/types';
import type { Entry } from './extended-query';
import type { JudgedStatement } from './judge';
import { rowsFromTag, type BindMessage, type ErrorFields } from './messages';

/**
 * Every record one connection makes after login, through the session seam only: the request
 * events of its statements (`pg.query`, before a statement is forwarded: `recordRequest`) and what
 * followed forwarding (`pg.result`, `pg.error`, `masking.failed`: `recordOutcome`). connection.ts
 * calls these and records nothing itself.
 */
export class StatementEvents {
  /**
   * @param recordingFailed called (after the call that recorded) when an outcome of this
   * connection's traffic could not be stored: the connection ends there.
   */
  constructor(
    private readonly session: GatewaySession,
    private readonly recordingFailed: (error: GatehouseError) => void,
  ) {}

  /**
   * Records a request event before its operation is forwarded (session.recordRequest): in this
   * turn when recording is buffered (undefined = done), else a promise for the durable
   * acknowledgement (strict mode). Throws (buffered) or rejects (strict) when the event cannot be
   * stored: the operation must not go.
   */
  recordRequest<T extends EventType>(type: T, payload: PayloadOf<T>, requestId: string): Promise<void> | undefined {
    return this.session.recordRequest(type, payload, requestId);
  }

  /** The `pg.query` of each judged statement that goes upstream. */
  queries(statements: readonly JudgedStatement[], protocol: string): Promise<void> | undefined {
    let pending: Promise<void>[] | undefined;
    for (const s of statements) {
      const p = this.recordRequest('pg.query', { protocol, text: s.text, command: s.command, kind: s.kind, tables: s.tables }, s.requestId);
      if (p !== undefined) (pending ??= []).push(p);
    }
    if (pending === undefined) return undefined;
    return pending.length === 1 ? pending[0] : Promise.all(pending).then(() => undefined);
  }

  /** Allowed statements of a refused Parse never run (a Parse holds one statement for the server); their pg.query says so. */
  unrun(statements: readonly JudgedStatement[], protocol: string): Promise<void> | undefined {
    let pending: Promise<void>[] | undefined;
    for (const s of statements) {
      const p = this.recordRequest('pg.query', { protocol, text: s.text, command: s.command, kind: s.kind, tables: s.tables, executed: false, reason: 'another statement of the same message was refused' }, s.requestId);
      if (p !== undefined) (pending ??= []).push(p);
    }
    return pending === undefined ? undefined : Promise.all(pending).then(() => undefined);
  }

  /** The `pg.query` of a Bind (its parameters capped at `valueCap` bytes each), before it is forwarded. */
  bound(bind: BindMessage, text: string | null, requestId: string, valueCap: number): Promise<void> | undefined {
    return this.recordRequest('pg.query', { protocol: 'extended', text, statement: bind.statement || null, portal: bind.portal || null, parameters: bindParameters(bind, valueCap) }, requestId);
  }

  /** The `pg.result` of an Exec entry the server answered (or skipped); the rows are already on their way to the client. */
  result(entry: Entry, tag: string | null, suspended: boolean, error: ErrorFields | undefined, skipped = false): void {
    if (entry.requestId === undefined) return;
    this.session.recordOutcome('pg.result', resultPayload(entry, tag, suspended, error, skipped), entry.requestId, this.recordingFailed);
  }

  /** The server refused a Parse or Bind: forwarded, so an outcome (a failure to store it ends the connection). */
  serverError(error: ErrorFields, phase: 'parse' | 'bind'): void {
    this.session.recordOutcome('pg.error', { sqlstate: error.sqlstate, message: error.message, severity: error.severity, phase }, undefined, this.recordingFailed);
  }

  /** An error that ends the connection anyway (a protocol violation, a pinned setting changed). */
  fatalError(payload: PgErrorPayload): void {
    this.session.recordOutcome('pg.error', payload);
  }

  /** A result that could not be masked (neither delivered nor recorded); the connection ends. */
  maskingFailed(err: GatehouseError, requestId: string | undefined): void {
    this.session.count('masking.failed');
    this.session.recordOutcome('masking.failed', { code: err.code, phase: 'result', message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) }, requestId);
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
