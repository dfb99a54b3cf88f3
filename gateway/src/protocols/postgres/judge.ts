import type { GatewaySession } from '../../pipeline/types';
import type { Decision, Operation } from '../../policy/decision';
import { classifySql, sqlOperation, type SqlStatement } from './sql/classify';

/** What judging one SQL text (a Query, or a Parse) decided. */
export interface Judgment {
  readonly allowed: boolean;
  /** One request id per statement, in order; the first allowed ones carry their decision to pg.query. */
  readonly statements: readonly JudgedStatement[];
  /** The refusal, when not allowed: message for the client's ErrorResponse. */
  readonly refusal?: string;
  /** True when the refusal came from the unparsed-statement setting, not from policy. */
  readonly unparsed?: boolean;
}

export interface JudgedStatement {
  readonly requestId: string;
  readonly text: string;
  readonly command: string;
  readonly kind: string;
  readonly tables: readonly string[];
}

export type UnparsedMode = 'deny' | 'review' | 'allow';

const operations = new WeakMap<SqlStatement, Operation>();

/** The classifier caches statements by text, so their operations can be cached per statement object. */
function operationOf(statement: SqlStatement): Operation {
  let op = operations.get(statement);
  if (op === undefined) {
    op = sqlOperation(statement);
    operations.set(statement, op);
  }
  return op;
}

function refusalMessage(decision: Decision): string {
  const rule = decision.reasons.length > 0 ? ` (rule ${decision.reasons.join(', ')})` : ` (${decision.code})`;
  return `gatehouse: ${decision.message || 'denied by policy'}${rule}`;
}

/**
 * Judges every statement of one SQL text in order, through the session (which records denials and
 * waits for approvals). The first denial refuses the whole text: a multi-statement Query is one
 * unit for PostgreSQL too (it runs in one implicit transaction).
 */
export async function judgeSql(session: GatewaySession, text: string, unparsed: UnparsedMode): Promise<Judgment> {
  const classification = classifySql(text);
  if (!classification.ok) return judgeUnparsed(session, text, classification.error, unparsed);
  const judged: JudgedStatement[] = [];
  const statements = classification.statements;
  for (let i = 0; i < statements.length; i++) {
    const stmt = statements[i]!;
    const requestId = session.newRequestId();
    session.noteRequest(requestId);
    const decision = await session.authorize(operationOf(stmt), requestId);
    const entry = { requestId, text: stmt.text, command: stmt.command, kind: stmt.kind, tables: stmt.tables };
    if (decision.effect !== 'allow') return { allowed: false, statements: judged, refusal: refusalMessage(decision) };
    judged.push(entry);
  }
  return { allowed: true, statements: judged };
}

/**
 * A statement PostgreSQL's parser cannot read: `deny` refuses it without asking policy (recorded
 * as a denial); `allow` and `review` ask policy about the action `sql:unparsed` (attribute
 * `unparsed: true`); with `review` only an approval lets it through, never a plain allow.
 */
async function judgeUnparsed(session: GatewaySession, text: string, error: string, mode: UnparsedMode): Promise<Judgment> {
  const requestId = session.newRequestId();
  session.noteRequest(requestId);
  const summary = text.length > 200 ? `${text.slice(0, 199)}…` : text;
  const operation: Operation = { protocol: 'postgres', action: 'sql:unparsed', attributes: { unparsed: true, error, kind: 'other', command: 'unparsed', tables: [] }, summary };
  const statement = { requestId, text, command: 'unparsed', kind: 'other', tables: [] };
  if (mode === 'deny') {
    const message = `gatehouse: the statement could not be parsed (${error}); unparsed statements are refused on this connection`;
    await session.record(
      'policy.denied',
      { effect: 'deny', code: 'postgres.unparsed', reasons: ['unparsedStatements'], operation: summary, action: operation.action, message },
      { requestId, durable: true },
    );
    session.count('denied.unparsed');
    return { allowed: false, statements: [], refusal: message, unparsed: true };
  }
  const decision = await session.authorize(operation, requestId);
  if (decision.effect !== 'allow') return { allowed: false, statements: [], refusal: refusalMessage(decision), unparsed: true };
  if (mode === 'review' && !decision.code.startsWith('approval')) {
    const message = 'gatehouse: the statement could not be parsed and needs an approval, but policy did not ask for one (add a review rule for action "sql:unparsed")';
    await session.record('policy.denied', { effect: 'deny', code: 'postgres.unparsed_review', reasons: ['unparsedStatements'], operation: summary, action: operation.action, message }, { requestId, durable: true });
    return { allowed: false, statements: [], refusal: message, unparsed: true };
  }
  return { allowed: true, statements: [statement] };
}
