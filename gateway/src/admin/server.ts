import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { GatehouseError, isGatehouseError, toGatehouseError } from '../errors';
import type { Principal } from '../identity/principal';
import type { Logger } from '../observability/logger';
import type { IdentityVerifier } from '../pipeline/types';
import type { SessionIndex, SessionRow } from '../state/session-index';
import { parseSessionFilter } from './query';
import type { ApprovalService } from '../approvals/service';
import { APPROVAL_STATUSES, approvalJson, type ApprovalStatus } from '../approvals/types';
import type { AdminAudit } from './audit';
import type { ConsoleHandler } from './console/router';

/**
 * The admin API, as a request handler: the integrator owns the listener (admin port) and its TLS.
 *
 *   GET /healthz                     liveness, no auth
 *   GET /readyz                      readiness (503 when not ready), no auth
 *   GET /metrics                     Prometheus text, no auth: scrapers cannot present OIDC tokens,
 *                                    so it is served on the admin listener only, which must not be
 *                                    exposed beyond the operators' network
 *   GET /api/sessions?user=&connection=&from=&to=&request_id=&status=&limit=
 *   GET /api/sessions/:id
 *   GET /api/sessions/:id/export     the full JSON transcript (download)
 *   GET /api/approvals?status=&limit=  approval requests, newest first (admins and approvers)
 *   GET /api/approvals/:id
 *   POST /api/approvals/:id/approve  JSON `{ "reason": "..." }` (optional); the decider is the
 *   POST /api/approvals/:id/deny     caller's verified principal, who must be in an approver group
 *
 * `/api/*` needs `Authorization: Bearer <OIDC token>` whose principal is in one of `adminGroups`:
 * 401 (with the token error code) without a valid token, 403 when not an admin. Errors are JSON
 * `{ "error": { "code", "message" } }`.
 */
export interface HealthReport {
  readonly live: boolean;
  readonly ready: boolean;
  /** Per-component state (e.g. `{ recording: 'ok', state: 'unreachable' }`); no secrets. */
  readonly details?: Record<string, unknown>;
}

export interface AdminServerOptions {
  readonly index: SessionIndex;
  readonly verifier: IdentityVerifier;
  /** Members of any of these groups may use `/api/*`. */
  readonly adminGroups: readonly string[];
  /** The session's transcript (events in order) for export; throws GH_ERR_NOT_FOUND when unknown. */
  readonly readSession: (id: string) => Promise<object>;
  readonly metrics: Registry;
  readonly health: () => HealthReport | Promise<HealthReport>;
  readonly logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** Counts refused admin tokens (e.g. GatewayMetrics.authFailure with protocol `admin`). */
  readonly onAuthFailure?: (code: string) => void;
  /** Serves `/api/approvals*` when approvals are configured; approvers need not be admins. */
  readonly approvals?: Pick<ApprovalService, 'isApprover' | 'list' | 'get' | 'decide' | 'watchPending'>;
  /**
   * Records every `/api/*` action (before it is served; a failure refuses it) and every refused
   * admin token in the tamper-evident record (audit.ts).
   */
  readonly audit?: AdminAudit;
  /** The web console (console/router.ts), served under /console/ when configured. */
  readonly console?: ConsoleHandler;
}

export type AdminRequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

const SESSION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createAdminServer(options: AdminServerOptions): AdminRequestHandler {
  if (options.adminGroups.length === 0) {
    // An empty list would make every authenticated caller either an admin or nobody; refuse to guess.
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'the admin API needs at least one admin group');
  }
  const adminGroups = new Set(options.adminGroups);
  const { logger } = options;

  const authorize = async (req: IncomingMessage, approvalsRoute = false): Promise<Principal> => {
    const token = bearerToken(req);
    let principal: Principal;
    try {
      principal = await options.verifier.verify(token);
    } catch (e) {
      // Anything the verifier did not classify is still a refusal: fail closed.
      throw isGatehouseError(e) ? e : toGatehouseError(e, 'GH_ERR_TOKEN_MALFORMED', 'the token could not be verified');
    }
    const approver = approvalsRoute && options.approvals?.isApprover(principal) === true;
    if (!approver && !principal.groups.some((g) => adminGroups.has(g))) {
      throw new GatehouseError('GH_ERR_FORBIDDEN', approvalsRoute && options.approvals !== undefined ? 'the caller is in neither an admin nor an approver group' : 'the caller is not in an admin group', { details: { subject: principal.subject } });
    }
    return principal;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const decisionRoute = method === 'POST' && APPROVAL_DECISION.test(path);
    if (method !== 'GET' && method !== 'HEAD' && !decisionRoute) {
      res.setHeader('allow', APPROVAL_DECISION.test(path) ? 'POST' : 'GET, HEAD');
      throw new GatehouseError('GH_ERR_METHOD_NOT_ALLOWED', `${method} is not allowed; the admin API is read-only here`);
    }

    if (path === '/healthz' || path === '/readyz') {
      let report: HealthReport;
      try {
        report = await options.health();
      } catch (e) {
        logger.warn({ err: (e as Error)?.message }, 'health check failed');
        report = { live: false, ready: false, details: { health: 'check failed' } };
      }
      const ok = path === '/healthz' ? report.live : report.live && report.ready;
      sendJson(res, ok ? 200 : 503, path === '/healthz' ? { live: report.live } : { ready: ok, details: report.details ?? {} });
      return;
    }
    if (path === '/metrics') {
      const text = await options.metrics.metrics();
      send(res, 200, options.metrics.contentType, text);
      return;
    }
    if (path !== '/api' && !path.startsWith('/api/')) throw notFound(path);

    let principal: Principal;
    try {
      principal = await authorize(req, path === '/api/approvals' || path.startsWith('/api/approvals/'));
    } catch (e) {
      const err = toGatehouseError(e, 'GH_ERR_TOKEN_MALFORMED');
      options.onAuthFailure?.(err.code);
      logger.warn({ code: err.code, path, address: req.socket.remoteAddress }, 'admin API request refused');
      const subject = typeof err.details?.subject === 'string' ? err.details.subject : undefined;
      // The refusal stands either way; a failure to record it is logged, never turned into a pass.
      await options.audit
        ?.record('admin.auth.failure', undefined, { code: err.code, path: clip(path), ...(subject !== undefined ? { subject } : {}) }, req.socket.remoteAddress)
        .catch((e: unknown) => logger.error({ err: (e as Error)?.message }, 'could not record a refused admin API request'));
      if (err.status === 401) res.setHeader('www-authenticate', `Bearer realm="gatehouse-admin", error="invalid_token"`);
      throw err;
    }

    if (path === '/api/approvals' || path.startsWith('/api/approvals/')) {
      await handleApprovals(req, res, url, principal, decisionRoute);
      return;
    }
    const address = req.socket.remoteAddress;
    if (path === '/api/sessions') {
      const filter = parseSessionFilter(url.searchParams);
      await options.audit?.record('admin.sessions.list', principal, { path, query: queryOf(url) }, address);
      const sessions = await options.index.list(filter);
      sendJson(res, 200, { sessions: sessions.map(sessionJson), limit: filter.limit });
      return;
    }
    const match = /^\/api\/sessions\/([^/]+)(\/export)?$/.exec(path);
    if (match !== null) {
      const id = decodeId(match[1]!);
      if (match[2] === undefined) {
        await options.audit?.record('admin.session.read', principal, { path: clip(path), sessionId: id }, address);
        const row = await options.index.get(id);
        if (row === undefined) throw new GatehouseError('GH_ERR_NOT_FOUND', `no session with id ${id}`);
        sendJson(res, 200, { session: sessionJson(row) });
        return;
      }
      // Exports hand out whole transcripts: leave a trail of who took which.
      logger.info({ sessionId: id, subject: principal.subject, issuer: principal.issuer }, 'session exported through the admin API');
      await options.audit?.record('admin.session.export', principal, { path: clip(path), sessionId: id }, address);
      const transcript = await options.readSession(id);
      res.setHeader('content-disposition', `attachment; filename="session-${id}.json"`);
      sendJson(res, 200, transcript);
      return;
    }
    throw notFound(path);
  };

  const handleApprovals = async (req: IncomingMessage, res: ServerResponse, url: URL, principal: Principal, decisionRoute: boolean): Promise<void> => {
    const approvals = options.approvals;
    if (approvals === undefined) throw new GatehouseError('GH_ERR_NOT_FOUND', 'approvals are not configured on this gateway (approvals.approverGroups is empty)');
    const path = url.pathname;
    const address = req.socket.remoteAddress;
    if (path === '/api/approvals') {
      await options.audit?.record('admin.approvals.read', principal, { path, query: queryOf(url) }, address);
      const status = url.searchParams.get('status') ?? undefined;
      if (status !== undefined && status !== 'all' && !APPROVAL_STATUSES.includes(status as ApprovalStatus)) {
        throw new GatehouseError('GH_ERR_REQUEST_INVALID', `status must be one of ${APPROVAL_STATUSES.join(', ')} or all`, { details: { parameter: 'status' } });
      }
      const rawLimit = url.searchParams.get('limit');
      const limit = rawLimit === null ? 100 : Number(rawLimit);
      if (!Number.isInteger(limit) || limit < 1) throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'limit must be a positive integer', { details: { parameter: 'limit' } });
      const list = await approvals.list({ status: status === undefined || status === 'all' ? undefined : (status as ApprovalStatus), limit });
      sendJson(res, 200, { approvals: list.map(approvalJson) });
      return;
    }
    const match = /^\/api\/approvals\/([^/]+)(?:\/(approve|deny))?$/.exec(path);
    if (match === null) throw notFound(path);
    const id = decodeId(match[1]!);
    if (match[2] === undefined) {
      await options.audit?.record('admin.approvals.read', principal, { path: clip(path), approvalId: id }, address);
      sendJson(res, 200, { approval: approvalJson(await approvals.get(id)) });
      return;
    }
    if (!decisionRoute) {
      res.setHeader('allow', 'POST');
      throw new GatehouseError('GH_ERR_METHOD_NOT_ALLOWED', `use POST to ${match[2]} an approval`);
    }
    const reason = await readReason(req);
    const verdict = match[2] === 'approve' ? 'approve' : 'deny';
    // Recorded before the decision takes effect: a decision that cannot be recorded is not made.
    await options.audit?.record('admin.approval.decide', principal, { approvalId: id, verdict, reason }, address);
    const approval = await approvals.decide(id, principal, match[2] === 'approve' ? 'approve' : 'deny', reason);
    logger.info({ approvalId: id, verdict: match[2], status: approval.status, subject: principal.subject, issuer: principal.issuer }, 'approval decided through the admin API');
    sendJson(res, 200, { approval: approvalJson(approval) });
  };

  return (req, res) => {
    const served = options.console === undefined ? handle(req, res) : options.console.handle(req, res).then((done) => (done ? undefined : handle(req, res)));
    served.catch((e: unknown) => {
      const err = isGatehouseError(e) ? e : new GatehouseError('GH_ERR_INTERNAL', 'internal error', { cause: e });
      if (err.code === 'GH_ERR_INTERNAL' || err.status >= 500) logger.error({ err: e, code: err.code, path: req.url }, 'admin API request failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = err.code === 'GH_ERR_INTERNAL' ? 'internal error' : err.message;
      const body: { error: { code: string; message: string; parameter?: unknown } } = { error: { code: err.code, message } };
      if (err.code === 'GH_ERR_REQUEST_INVALID' && err.details?.parameter !== undefined) body.error.parameter = err.details.parameter;
      sendJson(res, httpStatus(err.status), body);
    });
  };
}

const APPROVAL_DECISION = /^\/api\/approvals\/[^/]+\/(approve|deny)$/;
const MAX_DECISION_BODY = 8192;
const MAX_REASON = 2000;

/** The optional `{ "reason": "..." }` of a decision; an empty body means no reason. */
async function readReason(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_DECISION_BODY) throw new GatehouseError('GH_ERR_REQUEST_INVALID', `the decision body is larger than ${MAX_DECISION_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return null;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'the decision body must be JSON such as {"reason": "..."}');
  }
  const reason = (body as { reason?: unknown } | null)?.reason;
  if (reason === undefined || reason === null) return null;
  if (typeof reason !== 'string') throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'reason must be a string', { details: { parameter: 'reason' } });
  return reason.length > MAX_REASON ? reason.slice(0, MAX_REASON) : reason;
}

function clip(path: string): string {
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

/** The query as asked (first value per name, names and values clipped): what was looked for. */
function queryOf(url: URL): Record<string, string> {
  const seen = new Map<string, string>();
  for (const [k, v] of url.searchParams) if (!seen.has(k) && seen.size < 20) seen.set(k.slice(0, 64), v.slice(0, 256));
  return Object.fromEntries(seen);
}

function bearerToken(req: IncomingMessage): string {
  const header = req.headers.authorization;
  if (header === undefined || header.trim() === '') throw new GatehouseError('GH_ERR_TOKEN_MISSING', 'an Authorization: Bearer token is required');
  const match = /^Bearer +([^\s]+)\s*$/i.exec(header);
  if (match === null) throw new GatehouseError('GH_ERR_TOKEN_MALFORMED', 'the Authorization header must be "Bearer <token>"');
  return match[1]!;
}

function decodeId(raw: string): string {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    id = '';
  }
  if (!SESSION_ID.test(id)) throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'the session id in the path is not a valid session id', { details: { parameter: 'id' } });
  return id;
}

function notFound(path: string): GatehouseError {
  return new GatehouseError('GH_ERR_NOT_FOUND', `no admin route for ${path.length > 100 ? `${path.slice(0, 100)}…` : path}`);
}

/** Codes outside HTTP's range (e.g. GH_ERR_VERIFY_FAILED's exit status) answer 500. */
function httpStatus(status: number): number {
  return status >= 400 && status <= 599 ? status : 500;
}

/** The wire form of a session row: ISO times, everything else as stored. */
export function sessionJson(row: SessionRow): Record<string, unknown> {
  return { ...row, startedAt: row.startedAt.toISOString(), endedAt: row.endedAt === null ? null : row.endedAt.toISOString() };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

function send(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(res.req?.method === 'HEAD' ? undefined : text);
}
