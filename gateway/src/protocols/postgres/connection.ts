import type net from 'node:net';
import { GatehouseError, toGatehouseError } from '../../errors';
import type { Logger } from '../../observability/logger';
import { pgErrorFor, pgSqlstate, SQLSTATE, type Sqlstate } from './errors';
import type { GatewaySession } from '../../pipeline/types';
import { judgeSql, lexingAmbiguous, refuseFunctionCall, refusePipelined, sqlSessionState, type Judgment, type SqlJudgmentRules } from './judge';
import { countMasked } from '../../masking/masking-policy';
import { MaskedServerStream, type RowMasker } from './row-masking';
import { pinnedViolation } from './pinned';
import { ClientFramer, type Action } from './client-framer';
import { ExtendedQueryTracker, Kind, type PreparedStatement } from './extended-query';
import { ServerFramer } from './server-framer';
import { StatementEvents } from './statement-events';
import { refusalError, refusedParse, refusedQuery } from './refusal';
import type { ConnectionObserver } from './metrics';
import {
  errorResponse,
  parseBind,
  parseDataRow,
  parseErrorFields,
  parseParse,
  parseQuery,
  parseRowDescription,
  T,
} from './messages';

/**
 * One client connection after login: forwards frames both ways as they are, judges each Query and
 * Parse before it goes upstream, and records statements and their results. Its parts:
 * client-framer.ts and server-framer.ts frame the two directions (pure, tested byte by byte),
 * extended-query.ts tracks what the server owes and the extended protocol's statements and
 * portals, refusal.ts builds what a refusal sends each side, statement-events.ts the records,
 * pinned.ts the settings watched in ParameterStatus; this class judges and ties them together.
 *
 * Hot path: only frame headers are parsed, and only the bodies of Query/Parse/Bind/Describe/
 * Execute/Close (client) and RowDescription/DataRow (up to the row cap)/CommandComplete/
 * ErrorResponse/ReadyForQuery (server) are decoded. Judgment and recording are synchronous when
 * nothing has to wait (a cached allow, buffered recording), so one 'data' chunk becomes one write
 * upstream and one server chunk one write to the client; only an approval or a durable record
 * suspends the client stream (every later client byte is held, in order).
 *
 * Refusals keep the server's transaction state what PostgreSQL's own error would make it, and never
 * tell the server what was refused or why: a refused simple Query is forwarded as its allowed
 * statements followed by a fixed failing statement (refusal.ts) at the refused statement's
 * place, so the server aborts the transaction block or implicit transaction itself; a refused Parse
 * is replaced by a Parse of a fixed text that fails, so the server skips to Sync and rolls back as
 * it would. Either way the server's error is dropped and the gateway's 42501 naming the rule takes
 * its place in the stream.
 *
 * Every client message that the server answers gets an entry in a FIFO, so the gateway knows
 * which statement a server message belongs to, and where its own answers (refusals) go in the
 * server's stream without reordering anything.
 */
export interface ProxySettings {
  /** Unparsed and oversized statements (judge.ts). */
  readonly sql: SqlJudgmentRules;
  readonly rowCap: number;
  readonly valueCap: number;
  readonly strict: boolean;
  /** Largest decoded client message (Query, Parse, Bind, ...): beyond it the connection is refused. */
  readonly maxMessageBytes: number;
  readonly logger: Logger;
  /** Result masking (row-masking.ts); undefined when the connection does not mask: the server path is then untouched. */
  readonly masking?: RowMasker;
  /** Called for each chunk either side sends (busy polling, server/busy-poll.ts). */
  readonly onActivity?: () => void;
  /**
   * Server parameters whose value judgment relies on (pinned.ts): when the server reports another
   * value in a ParameterStatus (a function, `ALTER ROLE ... SET`, anything), the connection ends
   * before another client byte is forwarded.
   */
  readonly pinned: ReadonlyMap<string, string>;
  /** Metrics and the rate-limited log (metrics.ts); absent in tests that need neither. */
  readonly observer?: ConnectionObserver;
}



const TERMINATE = Buffer.from([T.Terminate, 0, 0, 0, 4]);
const COLLECT_MAX = 1 << 20;
const HOLD_MAX = 1 << 20;

export class ProxyConnection {
  /** Frames client bytes (client-framer.ts); this connection is its sink. */
  private readonly reader: ClientFramer;
  private closed = false;
  private clientPaused = false;
  private upstreamPaused = false;
  private txStatus: number;

  /** What the server owes, in order, and the extended protocol's statements and portals (extended-query.ts). */
  private readonly q = new ExtendedQueryTracker();
  private readonly events: StatementEvents;


  /** Called once when both sides are closed and the session is being sealed. */
  onClosed: ((reason: string) => void) | undefined;
  private terminateWhenIdle = false;

  constructor(
    private readonly client: net.Socket,
    private readonly upstream: net.Socket,
    private readonly session: GatewaySession,
    private readonly settings: ProxySettings,
    initialStatus: number,
  ) {
    this.txStatus = initialStatus;
    // An outcome of this connection's traffic that cannot be stored ends the connection (the bytes
    // it describes are already on their way; nothing more goes).
    this.events = new StatementEvents(session, () => this.terminate(pgSqlstate('GH_ERR_RECORDING_FAILED', 'session'), 'terminating connection: the gateway could not record the session', 'recording_failed'));
    const conn = this;
    this.reader = new ClientFramer(
      {
        message: (type, body) => conn.clientMessage(type, body),
        forward: (bytes) => conn.writeUpstream(bytes),
        discardedSync: () => void conn.q.push(Kind.Sync),
        terminated: () => {
          conn.upstream.end();
          conn.shutdown('client_terminated');
        },
        malformed: (detail) => conn.protocolError(detail),
        tooLarge: (type, bytes) => conn.tooLarge(type, bytes),
        failed: (e) => conn.fail(e),
        settled: () => {
          if (conn.terminateWhenIdle && conn.idle) conn.terminate(pgSqlstate('GH_ERR_SHUTTING_DOWN', 'session'), 'terminating connection: the gateway is shutting down');
        },
        holding: (on) => {
          if (on && !conn.clientPaused) {
            conn.clientPaused = true;
            conn.client.pause();
          } else if (!on && conn.clientPaused && !conn.upstream.writableNeedDrain) {
            conn.clientPaused = false;
            conn.client.resume();
          }
        },
        get stopped(): boolean {
          return conn.closed;
        },
      },
      settings.maxMessageBytes,
      HOLD_MAX,
    );
  }

  /** Starts forwarding; `clientRest`/`upstreamRest` are bytes already read during start-up. */
  start(clientRest: Buffer, upstreamRest: Buffer): void {
    const { client, upstream } = this;
    const activity = this.settings.onActivity;
    const inBytes = this.settings.observer?.fromClient ?? { value: 0 };
    const outBytes = this.settings.observer?.fromServer ?? { value: 0 };
    client.on('data', activity === undefined ? (chunk: Buffer) => ((inBytes.value += chunk.length), this.reader.push(chunk)) : (chunk: Buffer) => ((inBytes.value += chunk.length), activity(), this.reader.push(chunk)));
    const masked = this.settings.masking === undefined ? undefined : this.maskedServerStream(this.settings.masking);
    const fromServer = masked === undefined ? (chunk: Buffer) => this.onUpstreamData(chunk) : (chunk: Buffer) => masked.push(chunk);
    upstream.on('data', activity === undefined ? (chunk: Buffer) => ((outBytes.value += chunk.length), fromServer(chunk)) : (chunk: Buffer) => ((outBytes.value += chunk.length), activity(), fromServer(chunk)));
    client.on('drain', () => this.resumeUpstream());
    upstream.on('drain', () => this.resumeClient());
    client.on('error', () => this.shutdown('client_error'));
    upstream.on('error', () => this.upstreamGone());
    client.on('close', () => this.shutdown('client_closed'));
    upstream.on('close', () => this.upstreamGone());
    if (upstreamRest.length > 0) {
      if (masked === undefined) this.onUpstreamData(upstreamRest);
      else masked.push(upstreamRest);
    }
    if (clientRest.length > 0) this.reader.push(clientRest);
    client.resume();
    upstream.resume();
  }

  get idle(): boolean {
    return !this.reader.busy && this.q.fifo.length === 0 && this.txStatus === 0x49 /* I */;
  }

  /** Graceful shutdown: terminate now if idle, else as soon as the connection is idle. */
  terminateGracefully(): void {
    if (this.idle) this.terminate(pgSqlstate('GH_ERR_SHUTTING_DOWN', 'session'), 'terminating connection: the gateway is shutting down');
    else this.terminateWhenIdle = true;
  }

  // ---------------------------------------------------------------- client → server

  private writeUpstream(bytes: Buffer): void {
    if (bytes.length === 0 || this.closed) return;
    if (!this.upstream.write(bytes) && !this.clientPaused) {
      this.clientPaused = true;
      this.client.pause();
    }
  }

  private resumeClient(): void {
    if (this.clientPaused && !this.reader.busy) {
      this.clientPaused = false;
      this.client.resume();
    }
  }

  /** One whole client message (client-framer.ts): judged, tracked, or passed on. */
  private clientMessage(type: number, body: Buffer): Action | Promise<Action> {
    switch (type) {
      case T.Query:
      case T.Parse:
      case T.Bind:
      case T.FunctionCall:
        return this.handleDecoded(type, body);
      case T.Describe:
        this.q.describe(body);
        return true;
      case T.Execute:
        this.q.execute(body);
        return true;
      case T.Close:
        this.q.close(body);
        return true;
      case T.Sync:
        this.q.push(Kind.Sync);
        return true;
      default:
        // Other messages are answered (or rejected) by the server itself; they execute no SQL.
        return true;
    }
  }

  /**
   * For a statement held for approval: aborts when the client goes away, so the approval is
   * cancelled (and recorded) rather than left pending. Created only when a statement waits.
   */
  private readonly clientGone = (): AbortSignal => {
    const controller = new AbortController();
    if (this.client.destroyed) controller.abort();
    else this.client.once('close', () => controller.abort());
    return controller.signal;
  };

  /** A judgment that had to wait (approval, durable record); the session closes only after it. */
  private waiting: Promise<unknown> | undefined;

  private waitFor<J>(judgment: Promise<J>): Promise<J> {
    this.waiting = judgment;
    const clear = (): void => {
      if (this.waiting === judgment) this.waiting = undefined;
    };
    judgment.then(clear, clear);
    return judgment;
  }

  /** Query, Parse, Bind, FunctionCall: judged and/or recorded before they are forwarded. */
  private handleDecoded(type: number, body: Buffer): Action | Promise<Action> {
    if (type === T.Query) {
      const text = parseQuery(body);
      const judgment = this.q.fifo.length > 0 && lexingAmbiguous(text) ? refusePipelined(this.session, text) : judgeSql(this.session, text, this.settings.sql, this.clientGone);
      return judgment instanceof Promise ? this.waitFor(judgment).then((j) => this.afterQuery(j)) : this.afterQuery(judgment);
    }
    if (type === T.Parse) {
      const { name, text } = parseParse(body);
      // The server still owes answers for earlier messages: one of them may change a lexing setting (judge.ts lexingAmbiguous).
      const judgment = this.q.fifo.length > 0 && lexingAmbiguous(text) ? refusePipelined(this.session, text) : judgeSql(this.session, text, this.settings.sql, this.clientGone);
      return judgment instanceof Promise ? this.waitFor(judgment).then((j) => this.afterParse(j, name, text)) : this.afterParse(judgment, name, text);
    }
    if (type === T.Bind) return this.onBind(body);
    // FunctionCall runs a function by oid outside SQL, where no statement can be judged: refused,
    // by the server itself at this place (so a transaction block is aborted as by any error).
    const message = 'gatehouse: the fast-path function call protocol is not supported through the gateway';
    if (this.settings.observer !== undefined) this.settings.observer.refused.value++;
    const recorded = refuseFunctionCall(this.session);
    const forward = (): Action => {
      this.q.push(Kind.Refused).refusal = refusalError(message);
      this.q.push(Kind.Sync);
      return refusedQuery([]);
    };
    return recorded === undefined ? forward() : recorded.then(forward);
  }

  /**
   * A simple Query: allowed, it goes as it is. Refused, the server gets its allowed statements
   * followed by REFUSED_STATEMENT where the refused statement was: PostgreSQL then does exactly
   * what it does when that statement fails (runs and keeps, or rolls back, what came before as its
   * transaction rules say); its error is replaced by the gateway's refusal.
   */
  private afterQuery(judgment: Judgment): Action | Promise<Action> {
    const statements = judgment.statements;
    this.count(judgment);
    const recorded = this.events.queries(statements, 'simple');
    const forward = (): Action => {
      for (const s of statements) this.q.push(Kind.Exec).requestId = s.requestId;
      if (judgment.allowed) {
        this.q.push(Kind.Sync);
        return true;
      }
      this.q.push(Kind.Refused).refusal = refusalError(judgment.refusal ?? 'gatehouse: denied');
      this.q.push(Kind.Sync);
      return refusedQuery(statements);
    };
    return recorded === undefined ? forward() : recorded.then(forward);
  }

  /**
   * A Parse. Refused, the server gets a Parse of the same name that fails, so it skips to Sync and
   * ends the implicit transaction (or marks the block failed) as after any error; the client's
   * messages up to Sync are dropped, and the server's error is replaced by the gateway's.
   */
  private afterParse(judgment: Judgment, name: string, text: string): Action | Promise<Action> {
    this.count(judgment);
    if (!judgment.allowed) {
      const unrun = this.events.unrun(judgment.statements, 'extended');
      const refuse = (): Action => {
        this.q.push(Kind.Refused).refusal = refusalError(judgment.refusal ?? 'gatehouse: denied');
        this.reader.discardUntilSync();
        return refusedParse(name);
      };
      return unrun === undefined ? refuse() : unrun.then(refuse);
    }
    this.q.statements.set(name, { text, requestId: judgment.statements[0]?.requestId, generation: sqlSessionState(this.session, this.settings.sql).generation });
    this.q.push(Kind.Parse);
    return true;
  }

  private count(judgment: Judgment): void {
    const o = this.settings.observer;
    if (o === undefined) return;
    o.allowed.value += judgment.statements.length;
    if (!judgment.allowed) o.refused.value++;
    if (judgment.unparsed === true) o.parseFailures.value++;
  }

  /**
   * A Bind. PostgreSQL plans a prepared statement again when the search_path changed, so one judged
   * before the session's scope widened (sql/session-state.ts `generation`) is judged again, in the
   * current scope, before it may run; refused, the Bind is refused as a Parse is (the server gets a
   * failing Parse of the same name and skips to Sync).
   */
  private onBind(body: Buffer): Action | Promise<Action> {
    const bind = parseBind(body);
    const stmt = this.q.statements.get(bind.statement);
    if (stmt !== undefined && stmt.generation !== sqlSessionState(this.session, this.settings.sql).generation) {
      const judgment = judgeSql(this.session, stmt.text, this.settings.sql, this.clientGone);
      return judgment instanceof Promise ? this.waitFor(judgment).then((j) => this.afterRejudge(j, bind, stmt)) : this.afterRejudge(judgment, bind, stmt);
    }
    return this.bound(bind, stmt);
  }

  private afterRejudge(judgment: Judgment, bind: ReturnType<typeof parseBind>, stmt: PreparedStatement): Action | Promise<Action> {
    this.count(judgment);
    if (!judgment.allowed) {
      const unrun = this.events.unrun(judgment.statements, 'extended');
      const refuse = (): Action => {
        this.q.push(Kind.Refused).refusal = refusalError(judgment.refusal ?? 'gatehouse: denied');
        this.reader.discardUntilSync();
        return refusedParse(bind.statement);
      };
      return unrun === undefined ? refuse() : unrun.then(refuse);
    }
    stmt.generation = sqlSessionState(this.session, this.settings.sql).generation;
    stmt.requestId = judgment.statements[0]?.requestId;
    return this.bound(bind, stmt);
  }

  private bound(bind: ReturnType<typeof parseBind>, stmt: PreparedStatement | undefined): Action | Promise<Action> {
    let requestId = stmt?.requestId;
    if (stmt !== undefined) stmt.requestId = undefined;
    if (requestId === undefined) {
      requestId = this.session.newRequestId();
      this.session.noteRequest(requestId);
    }
    const recorded = this.events.bound(bind, stmt?.text ?? null, requestId, this.settings.valueCap);
    const id = requestId;
    const forward = (): Action => {
      this.q.portals.set(bind.portal, { requestId: id, statement: bind.statement, resultFormats: bind.resultFormats });
      this.q.push(Kind.Bind);
      return true;
    };
    return recorded === undefined ? forward() : recorded.then(forward);
  }

  // ---------------------------------------------------------------- server → client

  private onUpstreamData(chunk: Buffer): void {
    if (this.closed) return;
    let out: Buffer | undefined;
    try {
      out = this.framer.push(chunk);
    } catch (e) {
      this.fail(e);
      return;
    }
    if (out !== undefined) this.writeClient(out);
  }

  /** Frames server bytes (server-framer.ts); this connection is its sink. */
  private readonly framer = ((conn: ProxyConnection) => new ServerFramer({
    wantsBody: (type, length) => conn.wantsBody(type, length),
    // The server's error for a refused statement's stand-in is replaced by the gateway's refusal.
    drops: (type) => type === T.ErrorResponse && conn.q.fifo.length > 0 && conn.q.fifo[0]!.kind === Kind.Refused,
    frame: (type, body, end) => conn.serverFrame(type, body, end),
    malformed: () => conn.upstreamProtocolError(),
    get stopped(): boolean {
      return conn.closed;
    },
  }))(this);

  private writeClient(bytes: Buffer): void {
    if (this.closed) return;
    if (!this.client.write(bytes) && !this.upstreamPaused) {
      this.upstreamPaused = true;
      this.upstream.pause();
    }
  }

  private resumeUpstream(): void {
    if (this.upstreamPaused) {
      this.upstreamPaused = false;
      this.upstream.resume();
    }
  }

  private wantsBody(type: number, length: number): boolean {
    switch (type) {
      case T.DataRow: {
        const head = this.q.fifo[0];
        return head !== undefined && head.kind === Kind.Exec && head.requestId !== undefined && head.rowCount < this.settings.rowCap && length <= COLLECT_MAX;
      }
      case T.RowDescription:
      case T.CommandComplete:
      case T.ErrorResponse:
      case T.ReadyForQuery:
      case T.ParameterStatus:
        return length <= COLLECT_MAX;
      default:
        return false;
    }
  }

  /** One complete server message; `end` is its end offset in the current chunk. */
  private serverFrame(type: number, body: Buffer, end: number): void {
    const fifo = this.q.fifo;
    const head = fifo[0];
    switch (type) {
      case T.DataRow:
        if (head !== undefined && head.kind === Kind.Exec) {
          if (head.rowCount < this.settings.rowCap && head.requestId !== undefined && body.length > 0) {
            if (head.columns === undefined) head.columns = this.q.columnsFor(head);
            const formats = head.resultFormats;
            const row = parseDataRow(body, this.settings.valueCap, (i) => formats !== undefined && formats.length > 0 && (formats.length === 1 ? formats[0] : formats[i]) === 1);
            (head.rows ??= []).push(row.values);
            if (row.truncated) head.truncated = true;
          } else if (head.rowCount >= this.settings.rowCap) head.truncated = true;
          head.rowCount++;
        }
        return;
      case T.RowDescription:
        if (head === undefined) return;
        if (head.kind === Kind.Exec) {
          if (body.length > 0) head.columns = parseRowDescription(body);
        } else if (head.kind === Kind.Describe) {
          fifo.shift();
          this.q.described(head, body.length > 0 ? parseRowDescription(body) : undefined);
        }
        return;
      case T.NoData:
        if (head !== undefined && head.kind === Kind.Describe) {
          fifo.shift();
          this.q.described(head, undefined);
        }
        return;
      case T.ParseComplete:
        if (head !== undefined && head.kind === Kind.Refused) throw new GatehouseError('GH_ERR_INTERNAL', 'the server accepted the failing Parse sent for a refused statement');
        return void this.q.popIf(Kind.Parse);
      case T.BindComplete:
        return void this.q.popIf(Kind.Bind);
      case T.CloseComplete:
        return void this.q.popIf(Kind.Close);
      case T.CommandComplete:
      case T.EmptyQueryResponse:
      case T.PortalSuspended:
        if (head !== undefined && head.kind === Kind.Refused) throw new GatehouseError('GH_ERR_INTERNAL', 'the server completed the failing statement sent for a refused one');
        if (head !== undefined && head.kind === Kind.Exec) {
          fifo.shift();
          const tag = type === T.CommandComplete && body.length > 0 ? body.toString('utf8', 0, body.length - 1) : type === T.EmptyQueryResponse ? '' : null;
          this.events.result(head, tag, type === T.PortalSuspended, undefined);
        }
        return;
      case T.ErrorResponse: {
        if (head === undefined || head.kind === Kind.Sync) return;
        if (head.kind === Kind.Refused) {
          // In place of the server's error (dropped by the framer): the gateway's refusal.
          this.framer.insert(head.refusal!);
        }
        // The server skips everything up to the next Sync (or ends the Query): so do its entries.
        const error = body.length > 0 ? parseErrorFields(body) : { severity: 'ERROR', sqlstate: '', message: '' };
        fifo.shift();
        if (head.kind === Kind.Exec) this.events.result(head, null, false, error);
        else if (head.kind === Kind.Parse || head.kind === Kind.Bind) this.events.serverError(error, head.kind === Kind.Parse ? 'parse' : 'bind');
        while (fifo.length > 0 && fifo[0]!.kind !== Kind.Sync) {
          const skipped = fifo.shift()!;
          if (skipped.kind === Kind.Exec) this.events.result(skipped, null, false, undefined, true);
        }
        return;
      }
      case T.ParameterStatus: {
        const changed = body.length > 0 ? pinnedViolation(body, this.settings.pinned) : undefined;
        if (changed !== undefined) {
          // The server now reads SQL differently from what was judged: nothing more may reach it.
          this.framer.flushUpTo(end);
          this.settings.logger.warn({ code: 'GH_ERR_PG_PARAMETER_CHANGED', sessionId: this.session.id, parameter: changed.name }, 'postgres server parameter changed; connection closed');
          this.events.fatalError({ sqlstate: pgSqlstate('GH_ERR_PG_PARAMETER_CHANGED', 'session'), message: `the server reported ${changed.name} = ${changed.value}`, phase: 'parameter' });
          this.terminate(pgSqlstate('GH_ERR_PG_PARAMETER_CHANGED', 'session'), `gatehouse: the server reported ${changed.name} = "${changed.value}", but the gateway judges SQL only with ${changed.name} = "${this.settings.pinned.get(changed.name)}"; the connection is closed`, 'parameter_changed');
        }
        return;
      }
      case T.ReadyForQuery: {
        if (body.length > 0) this.txStatus = body[0]!;
        while (fifo.length > 0) {
          const e = fifo.shift()!;
          if (e.kind === Kind.Sync) break;
          if (e.kind === Kind.Exec) this.events.result(e, null, false, undefined, true);
        }
        if (this.terminateWhenIdle && this.idle) {
          this.framer.flushUpTo(end);
          this.terminate(pgSqlstate('GH_ERR_SHUTTING_DOWN', 'session'), 'terminating connection: the gateway is shutting down');
        }
        return;
      }
      default:
        return;
    }
  }




  // ---------------------------------------------------------------- result masking (row-masking.ts)

  /**
   * Server bytes go through the masker first; it hands whole messages to onUpstreamData (so the
   * record holds masked rows) and reads each row with the head statement's description. A masking
   * failure ends the connection with FATAL XX000 in place of the row: nothing after it is sent.
   */
  private maskedServerStream(masker: RowMasker): MaskedServerStream {
    return new MaskedServerStream(masker, {
      forward: (bytes) => this.onUpstreamData(bytes),
      shape: () => {
        const head = this.q.fifo[0];
        if (head === undefined || head.kind !== Kind.Exec) return undefined;
        return { columns: head.columns ?? this.q.columnsFor(head), formats: head.resultFormats };
      },
      counted: (counts) => countMasked(this.session, counts),
      failed: (err) => {
        const head = this.q.fifo[0];
        const requestId = head !== undefined && head.kind === Kind.Exec ? head.requestId : undefined;
        this.events.maskingFailed(err, requestId);
        this.settings.logger.warn({ code: err.code, sessionId: this.session.id }, 'postgres result masking failed; connection closed');
        if (this.closed) return;
        // Whole messages only reach the client in this mode, so the error lands on a message boundary.
        this.client.write(errorResponse('FATAL', pgSqlstate('GH_ERR_MASKING_FAILED', 'session'), `gatehouse: masking the result failed, so it was not delivered and the connection is closed (${err.code}): ${err.message}`));
        this.client.end();
        this.upstream.destroy();
        this.shutdown('masking_failed');
      },
      closed: () => this.closed,
    }, this.settings.maxMessageBytes);
  }

  // ---------------------------------------------------------------- endings

  private protocolError(detail: string): void {
    this.settings.observer?.protocolError('client', 'GH_ERR_REQUEST_INVALID', this.session.id);
    this.events.fatalError({ sqlstate: SQLSTATE.protocolViolation, message: detail, phase: 'protocol' });
    this.terminate(SQLSTATE.protocolViolation, `gatehouse: protocol violation: ${detail}`);
  }

  /** A client message over maxMessageBytes: refused before it is read, so the connection cannot buffer it. */
  private tooLarge(type: number, bytes: number): void {
    const limit = this.settings.maxMessageBytes;
    this.events.fatalError({ sqlstate: pgSqlstate('GH_ERR_MESSAGE_TOO_LARGE', 'session'), message: `a client message of ${bytes} bytes exceeds maxMessageBytes (${limit})`, phase: 'protocol' });
    this.settings.observer?.protocolError('client', 'GH_ERR_MESSAGE_TOO_LARGE', this.session.id);
    this.terminate(pgSqlstate('GH_ERR_MESSAGE_TOO_LARGE', 'session'), `gatehouse: the ${String.fromCharCode(type)} message of ${bytes} bytes exceeds this connection's limit of ${limit} bytes (maxMessageBytes, GH_ERR_MESSAGE_TOO_LARGE); the connection is closed`, 'message_too_large');
  }

  private upstreamProtocolError(): void {
    this.settings.observer?.protocolError('server', 'GH_ERR_UPSTREAM_UNAVAILABLE', this.session.id);
    this.terminate(SQLSTATE.protocolViolation, 'gatehouse: the upstream sent a malformed message');
  }

  /** Sends a FATAL ErrorResponse (when the client's stream is at a message boundary) and closes both sides. */
  terminate(sqlstate: Sqlstate, text: string, reason?: string): void {
    if (this.closed) return;
    // Server messages already due go first: the FATAL follows them at a message boundary.
    const due = this.framer.take();
    if (due !== undefined) this.client.write(due);
    if (this.framer.atBoundary) this.client.write(errorResponse('FATAL', sqlstate, text));
    this.client.end();
    this.upstream.destroy();
    this.shutdown(reason ?? (sqlstate === SQLSTATE.adminShutdown ? 'terminated' : 'protocol_error'));
  }

  private upstreamGone(): void {
    if (this.closed) return;
    this.terminate(SQLSTATE.connectionFailure, 'gatehouse: the upstream database closed the connection');
  }

  private fail(e: unknown): void {
    const err = toGatehouseError(e, 'GH_ERR_INTERNAL');
    if (this.closed) return;
    if (err.code === 'GH_ERR_INTERNAL' && e instanceof RangeError) {
      this.protocolError(`malformed message: ${e.message}`);
      return;
    }
    this.settings.logger.warn({ code: err.code, sessionId: this.session.id }, 'postgres connection stopped');
    const native = pgErrorFor(err, 'session');
    this.terminate(native.sqlstate, native.message);
  }

  private shutdown(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.client.destroySoon();
    // A polite Terminate lets the server end the backend without logging an unexpected EOF.
    if (!this.upstream.destroyed && this.upstream.writable) this.upstream.end(TERMINATE);
    else this.upstream.destroy();
    // A statement still being judged (e.g. waiting for approval, now cancelled by clientGone)
    // records its outcome in the session first: the session is closed after it.
    const waiting = this.waiting;
    if (waiting === undefined) this.onClosed?.(reason);
    else {
      const done = (): void => this.onClosed?.(reason);
      waiting.then(done, done);
    }
  }
}
