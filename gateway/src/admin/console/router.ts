import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApprovalService } from '../../approvals/service';
import type { Approval } from '../../approvals/types';
import { GatehouseError, isGatehouseError } from '../../errors';
import type { Principal } from '../../identity/principal';
import type { Logger } from '../../observability/logger';
import type { SessionIndex, SessionRow } from '../../state/session-index';
import type { SessionSearch, SessionViewer } from '../../state/session-search';
import type { SessionTranscript } from '../../recording/reader';
import type { AdminAudit } from '../audit';
import { clearCookie, LOGIN_COOKIE, readCookie, SESSION_COOKIE, setCookie, tokensEqual, type ConsoleSession, type CookieSealer } from './cookies';
import type { Html } from './html';
import { isLoopbackPeer, type DevLogin } from './dev-login';
import type { OidcLogin } from './oidc-login';
import { approvalPage, approvalsPage, devLoginPage, errorPage, layout, loginPage, sessionPage, sessionsPage, type PageChrome, type SessionPageInput } from './pages';
import { parseConsoleQuery } from './query';
import { consoleAssets, sessionJsonExport, type SessionPageService } from './session-page';
import { STATIC_ASSETS } from './static';

/**
 * The web console under /console/ on the admin listener: server-rendered pages, a cookie session
 * from an OIDC login, and the same authorization as the admin API, checked on every route:
 * admins see every session, anyone else only their own; approvers (and admins, read-only) see
 * approvals, and only approvers decide (through ApprovalService.decide, as the API does).
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The terminal player (asciinema-player) compiles its WebAssembly terminal emulator: the session
 * page of a terminal session, and only it, also allows that ('wasm-unsafe-eval' permits
 * WebAssembly compilation, not JavaScript eval).
 */
export const PLAYER_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'");

/** The session page's assets (stylesheet, terminal player, its loader), served like the console's own. */
let sessionPageAssets: ReadonlyMap<string, { body: Buffer; contentType: string; etag: string }> | undefined;
function sessionPageAsset(path: string): { body: Buffer; contentType: string; etag: string } | undefined {
  if (!path.startsWith('/console/assets/')) return undefined;
  sessionPageAssets ??= new Map(consoleAssets().map((a) => [a.path, { body: a.body, contentType: a.contentType, etag: `"${createHash('sha256').update(a.body).digest('base64url').slice(0, 16)}"` }]));
  return sessionPageAssets.get(path);
}

export interface ConsoleOptions {
  readonly sealer: CookieSealer;
  /** People log in at an OIDC issuer (authorization code + PKCE)... */
  readonly login?: Pick<OidcLogin, 'start' | 'finish'>;
  /** ...or, in development, with the local development issuer (dev-login.ts). Exactly one of the two. */
  readonly devLogin?: Pick<DevLogin, 'login'>;
  /** The console's external base URL (its origin is the only one allowed to POST). */
  readonly externalUrl: string;
  readonly sessionSeconds: number;
  readonly adminGroups: readonly string[];
  readonly search: SessionSearch;
  readonly index: Pick<SessionIndex, 'get'>;
  /** The session's transcript (admin API's readSession). */
  readonly readSession: (id: string) => Promise<object>;
  readonly approvals?: Pick<ApprovalService, 'isApprover' | 'list' | 'get' | 'decide' | 'watchPending'>;
  readonly audit?: AdminAudit;
  readonly logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** The full session page (console/session-page/: timeline, verification badge, exports); without it, the minimal page. */
  readonly sessionPages?: SessionPageService;
  readonly now?: () => Date;
}

export interface ConsoleHandler {
  /** Serves `/console` and `/console/*`; returns false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

const ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_FORM = 8192;
const PAGE_SIZE = 50;

export function createConsole(options: ConsoleOptions): ConsoleHandler {
  if ((options.login === undefined) === (options.devLogin === undefined)) throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'the console needs exactly one way to log in (an OIDC issuer or the development issuer)');
  const adminGroups = new Set(options.adminGroups);
  const origin = new URL(options.externalUrl).origin;
  const now = options.now ?? (() => new Date());
  const isAdmin = (p: Principal): boolean => p.groups.some((g) => adminGroups.has(g));
  const viewerOf = (p: Principal): SessionViewer => (isAdmin(p) ? { scope: 'all' } : { scope: 'own', issuer: p.issuer, subject: p.subject });
  const canSee = (p: Principal, row: SessionRow): boolean => isAdmin(p) || (row.issuer === p.issuer && row.subject === p.subject);
  const chromeOf = (s: ConsoleSession, title: string, nav?: PageChrome['nav'], live?: string): PageChrome => ({ title, principal: s.principal, csrf: s.csrf, nav, live });

  /**
   * A terminal channel's download (`?channel=N`, default the first): `.cast` (asciicast v2, or v3
   * with `version=3`) or the plain-text transcript (`kind` text).
   */
  const terminalExport = async (transcript: SessionTranscript, url: URL, kind: 'cast' | 'text'): Promise<{ filename: string; contentType: string; body: string }> => {
    const terminals = options.sessionPages?.terminals(transcript) ?? [];
    const wanted = url.searchParams.get('channel');
    const channel = wanted === null ? terminals[0]?.channel : Number(wanted);
    const version = url.searchParams.get('version');
    if (version !== null && version !== '2' && version !== '3') throw new GatehouseError('GH_ERR_REQUEST_INVALID', `asciicast version ${JSON.stringify(version.slice(0, 20))} is not one of 2, 3`);
    const pages = options.sessionPages;
    const download =
      channel === undefined || !Number.isSafeInteger(channel) || pages === undefined
        ? undefined
        : kind === 'text'
          ? await pages.text(transcript, channel)
          : pages.cast(transcript, channel, version === '3' ? 3 : 2);
    if (download === undefined) throw new GatehouseError('GH_ERR_NOT_FOUND', `session ${transcript.session.id} has no terminal recording${wanted === null ? '' : ` on channel ${wanted}`}`);
    return download;
  };

  const startSession = async (res: ServerResponse, principal: Principal, returnTo: string): Promise<void> => {
    // Fixed lifetime, no refresh: after it the console sends the person through the issuer again.
    const lifetime = options.sessionSeconds;
    const { value } = await options.sealer.sealSession(principal, lifetime);
    res.setHeader('set-cookie', [clearCookie(LOGIN_COOKIE), setCookie(SESSION_COOKIE, value, lifetime)]);
    options.logger.info({ subject: principal.subject, issuer: principal.issuer }, 'console login');
    redirect(res, returnTo);
  };

  /**
   * The development issuer's login (console.issuer: dev): GET asks who you are, POST mints a
   * development token and verifies it into the Principal. Loopback clients only; the form must come
   * from the console's own origin and echo the state sealed in the login cookie (no login CSRF).
   */
  const devLogin = async (req: IncomingMessage, res: ServerResponse, url: URL, dev: Pick<DevLogin, 'login'>): Promise<void> => {
    const address = req.socket.remoteAddress;
    if (!isLoopbackPeer(address)) {
      await options.audit?.record('admin.auth.failure', undefined, { code: 'GH_ERR_FORBIDDEN', path: '/console/login' }, address).catch(() => undefined);
      throw new GatehouseError('GH_ERR_FORBIDDEN', 'the development login is open to loopback clients only');
    }
    const method = req.method ?? 'GET';
    if (isRead(method)) {
      const returnTo = safeReturn(url.searchParams.get('return_to'));
      const login = { state: randomBytes(24).toString('base64url'), nonce: '', codeVerifier: '', returnTo };
      res.setHeader('set-cookie', setCookie(LOGIN_COOKIE, await options.sealer.sealLogin(login), 600));
      return sendHtml(res, 200, devLoginPage({ state: login.state, groups: options.adminGroups.join(', ') }));
    }
    if (method !== 'POST') {
      res.setHeader('allow', 'GET, HEAD, POST');
      throw new GatehouseError('GH_ERR_METHOD_NOT_ALLOWED', `${method} is not allowed`);
    }
    checkOrigin(req, origin);
    const form = await readForm(req);
    const login = await options.sealer.openLogin(readCookie(req.headers.cookie, LOGIN_COOKIE));
    const state = form.get('state');
    if (login === undefined || state === null || !tokensEqual(state, login.state)) return sendHtml(res, 400, loginPage('The login expired or was started in another browser; log in again.'));
    let principal: Principal;
    try {
      principal = await dev.login((form.get('subject') ?? '').trim(), form.get('groups') ?? '');
    } catch (e) {
      const err = isGatehouseError(e) ? e : new GatehouseError('GH_ERR_TOKEN_MALFORMED', 'the login failed');
      options.logger.warn({ code: err.code, address }, 'console development login refused');
      await options.audit?.record('admin.auth.failure', undefined, { code: err.code, path: '/console/login' }, address).catch(() => undefined);
      return sendHtml(res, err.status === 400 ? 400 : 401, devLoginPage({ state: login.state, groups: form.get('groups') ?? '', error: `The login was refused (${err.code}): ${err.message}` }));
    }
    return startSession(res, principal, login.returnTo);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const address = req.socket.remoteAddress;
    securityHeaders(res);

    const asset = STATIC_ASSETS.get(path) ?? sessionPageAsset(path);
    if (asset !== undefined) {
      res.setHeader('cache-control', 'public, max-age=300');
      res.setHeader('etag', asset.etag);
      if (req.headers['if-none-match'] === asset.etag) {
        res.statusCode = 304;
        res.end();
        return;
      }
      send(res, 200, asset.contentType, asset.body);
      return;
    }
    if (path === '/console' || path === '/console/') return redirect(res, '/console/sessions');
    if (path === '/console/welcome') return sendHtml(res, 200, loginPage(url.searchParams.has('signed_out') ? 'You are logged out.' : undefined));
    if (path === '/console/login' && options.devLogin !== undefined) return devLogin(req, res, url, options.devLogin);
    if (path === '/console/login' && isRead(method) && options.login !== undefined) {
      const returnTo = safeReturn(url.searchParams.get('return_to'));
      const { url: to, login } = await options.login.start(returnTo);
      res.setHeader('set-cookie', setCookie(LOGIN_COOKIE, await options.sealer.sealLogin(login), 600));
      return redirect(res, to);
    }
    if (path === '/console/callback' && isRead(method) && options.login !== undefined) {
      const login = await options.sealer.openLogin(readCookie(req.headers.cookie, LOGIN_COOKIE));
      if (login === undefined) return sendHtml(res, 400, loginPage('The login expired or was started in another browser; log in again.'));
      let principal: Principal;
      try {
        principal = await options.login.finish(new URL(`${options.externalUrl.replace(/\/$/, '')}${req.url ?? ''}`), login);
      } catch (e) {
        const err = isGatehouseError(e) ? e : new GatehouseError('GH_ERR_TOKEN_MALFORMED', 'the login failed');
        options.logger.warn({ code: err.code, address }, 'console login refused');
        await options.audit?.record('admin.auth.failure', undefined, { code: err.code, path: '/console/callback' }, address).catch(() => undefined);
        res.setHeader('set-cookie', clearCookie(LOGIN_COOKIE));
        return sendHtml(res, 401, loginPage(`The login was refused (${err.code}).`));
      }
      return startSession(res, principal, login.returnTo);
    }

    const session = await options.sealer.openSession(readCookie(req.headers.cookie, SESSION_COOKIE));
    if (session === undefined) {
      if (!isRead(method)) throw new GatehouseError('GH_ERR_SESSION_EXPIRED', 'your console session has expired; log in again');
      return redirect(res, `/console/login?return_to=${encodeURIComponent(path + url.search)}`);
    }
    const principal = session.principal;
    let form: URLSearchParams | undefined;
    if (method === 'POST') {
      form = await readForm(req);
      checkCsrf(req, form, session, origin);
    } else if (!isRead(method)) {
      res.setHeader('allow', 'GET, HEAD, POST');
      throw new GatehouseError('GH_ERR_METHOD_NOT_ALLOWED', `${method} is not allowed`);
    }

    if (path === '/console/logout' && method === 'POST') {
      res.setHeader('set-cookie', clearCookie(SESSION_COOKIE));
      return redirect(res, '/console/welcome?signed_out=1');
    }

    if (path === '/console/sessions' && isRead(method)) {
      const viewer = viewerOf(principal);
      const { filter, cursor, shown } = parseConsoleQuery(url.searchParams);
      await options.audit?.record('admin.sessions.list', principal, { path, query: shown }, address);
      const result = await options.search.search(filter, { limit: PAGE_SIZE, cursor }, viewer);
      const next = result.nextCursor === null ? null : `/console/sessions?${new URLSearchParams({ ...shown, cursor: result.nextCursor }).toString()}`;
      return sendHtml(res, 200, sessionsPage({ chrome: chromeOf(session, 'Sessions', 'sessions'), query: shown, rows: result.rows, nextUrl: next, supports: options.search.supports, scope: viewer.scope }));
    }

    const sessionMatch = /^\/console\/sessions\/([^/]+)(\/export\.json|\/export\.cast|\/export\.txt)?$/.exec(path);
    if (sessionMatch !== null && isRead(method)) {
      const id = decodeId(sessionMatch[1]!);
      const row = await options.index.get(id);
      // Someone else's session answers exactly as a missing one: its existence is not disclosed.
      if (row === undefined || !canSee(principal, row)) throw new GatehouseError('GH_ERR_NOT_FOUND', `no session ${id} that you may see`);
      if (sessionMatch[2] !== undefined) {
        await options.audit?.record('admin.session.export', principal, { path, sessionId: id }, address);
        options.logger.info({ sessionId: id, subject: principal.subject, issuer: principal.issuer }, 'session exported through the console');
        const transcript = (await options.readSession(id)) as SessionTranscript;
        // The same bytes as `gatehouse sessions export`.
        const download = sessionMatch[2] === '/export.json' ? sessionJsonExport(transcript) : await terminalExport(transcript, url, sessionMatch[2] === '/export.txt' ? 'text' : 'cast');
        // A transcript may be viewed in the browser (`view=1`): plain text, never rendered as markup.
        const inline = sessionMatch[2] === '/export.txt' && url.searchParams.get('view') === '1';
        res.setHeader('content-disposition', `${inline ? 'inline' : 'attachment'}; filename="${download.filename}"`);
        return send(res, 200, download.contentType, download.body);
      }
      await options.audit?.record('admin.session.read', principal, { path, sessionId: id }, address);
      let transcript: unknown;
      let events: SessionPageInput['events'];
      try {
        transcript = await options.readSession(id);
        events = (transcript as { events: SessionPageInput['events'] }).events;
      } catch (e) {
        events = { error: isGatehouseError(e) ? `${e.code}: ${e.message}` : 'the transcript could not be read' };
      }
      const input: SessionPageInput = { chrome: chromeOf(session, `Session ${id}`, 'sessions'), row, events };
      const pages = options.sessionPages;
      if (pages === undefined || transcript === undefined) return sendHtml(res, 200, sessionPage(input));
      const t = transcript as SessionTranscript;
      const body = pages.render(t, { name: principal.name, subject: principal.subject }, await pages.verify(id));
      if (pages.terminals(t).length > 0) res.setHeader('content-security-policy', PLAYER_CONTENT_SECURITY_POLICY);
      return sendHtml(res, 200, layout(input.chrome, body));
    }

    if (path === '/console/approvals' || path.startsWith('/console/approvals/')) {
      const approvals = options.approvals;
      if (approvals === undefined) throw new GatehouseError('GH_ERR_NOT_FOUND', 'approvals are not configured on this gateway (approvals.approverGroups is empty)');
      const approver = approvals.isApprover(principal);
      if (!approver && !isAdmin(principal)) throw new GatehouseError('GH_ERR_FORBIDDEN', 'you are in neither an approver nor an admin group');

      if (path === '/console/approvals' && isRead(method)) {
        await options.audit?.record('admin.approvals.read', principal, { path }, address);
        const [pending, all] = await Promise.all([approvals.list({ status: 'pending', limit: 200 }), approvals.list({ limit: 50 })]);
        return sendHtml(
          res,
          200,
          approvalsPage({ chrome: chromeOf(session, 'Approvals', 'approvals', '/console/approvals/events'), pending, recent: all.filter((a) => a.status !== 'pending').slice(0, 20), now: now(), canDecide: approver }),
        );
      }
      if (path === '/console/approvals/events' && isRead(method)) return liveApprovals(req, res, approvals);

      const m = /^\/console\/approvals\/([^/]+)(\/decide)?$/.exec(path);
      if (m === null) throw new GatehouseError('GH_ERR_NOT_FOUND', 'no such console page');
      const id = decodeId(m[1]!);
      if (m[2] !== undefined) {
        if (method !== 'POST' || form === undefined) {
          res.setHeader('allow', 'POST');
          throw new GatehouseError('GH_ERR_METHOD_NOT_ALLOWED', 'decide with POST');
        }
        const verdict = form.get('verdict');
        if (verdict !== 'approve' && verdict !== 'deny') throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'verdict must be approve or deny', { details: { parameter: 'verdict' } });
        const rawReason = (form.get('reason') ?? '').trim();
        const reason = rawReason === '' ? null : rawReason.slice(0, 2000);
        try {
          // Recorded before the decision takes effect, as through the API.
          await options.audit?.record('admin.approval.decide', principal, { approvalId: id, verdict, reason }, address);
          const decided = await approvals.decide(id, principal, verdict, reason);
          options.logger.info({ approvalId: id, verdict, status: decided.status, subject: principal.subject, issuer: principal.issuer }, 'approval decided through the console');
        } catch (e) {
          if (!isGatehouseError(e) || e.status >= 500) throw e;
          const approval = await approvals.get(id);
          return sendHtml(res, e.status, approvalPage({ chrome: chromeOf(session, `Approval ${id}`, 'approvals'), approval, now: now(), canDecide: false, notice: `Refused (${e.code}): ${e.message}` }));
        }
        return redirect(res, `/console/approvals/${encodeURIComponent(id)}?decided=${verdict}`);
      }
      if (!isRead(method)) throw new GatehouseError('GH_ERR_METHOD_NOT_ALLOWED', 'this page is read-only');
      await options.audit?.record('admin.approvals.read', principal, { path, approvalId: id }, address);
      const approval = await approvals.get(id);
      const cannot = cannotDecide(approval, principal, approver);
      const decided = url.searchParams.get('decided');
      return sendHtml(
        res,
        200,
        approvalPage({
          chrome: chromeOf(session, `Approval ${id}`, 'approvals', approval.status === 'pending' ? '/console/approvals/events' : undefined),
          approval,
          now: now(),
          canDecide: cannot === undefined,
          cannotDecide: cannot,
          notice: decided === 'approve' || decided === 'deny' ? `Your ${decided === 'approve' ? 'approval' : 'denial'} is recorded.` : undefined,
        }),
      );
    }
    throw new GatehouseError('GH_ERR_NOT_FOUND', 'no such console page');
  };

  return {
    async handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://console.invalid');
      if (url.pathname !== '/console' && !url.pathname.startsWith('/console/')) return false;
      try {
        await handle(req, res, url);
      } catch (e) {
        const err = isGatehouseError(e) ? e : new GatehouseError('GH_ERR_INTERNAL', 'internal error', { cause: e });
        if (err.status >= 500) options.logger.error({ err: e, code: err.code, path: url.pathname }, 'console request failed');
        if (res.headersSent) {
          res.destroy();
          return true;
        }
        const status = err.status >= 400 && err.status <= 599 ? err.status : 500;
        const session = await options.sealer.openSession(readCookie(req.headers.cookie, SESSION_COOKIE)).catch(() => undefined);
        sendHtml(res, status, errorPage({ principal: session?.principal, csrf: session?.csrf }, status, err.code, err.code === 'GH_ERR_INTERNAL' ? 'internal error' : err.message));
      }
      return true;
    },
  };
}

/** What stops this viewer deciding, as the service would refuse it (shown instead of the buttons). */
function cannotDecide(a: Approval, p: Principal, approver: boolean): string | undefined {
  if (!approver) return 'You may read approvals but are not in an approver group.';
  if (a.requester.subject === p.subject && a.requester.issuer === p.issuer) return 'You asked for this operation; someone else must decide it.';
  if (a.votes.some((v) => v.subject === p.subject && v.issuer === p.issuer)) return 'You have already voted on this request.';
  return undefined;
}

/**
 * Server-sent events: `changed` whenever the set of waiting approvals (or their votes) changes.
 * Every open stream (one per tab) listens to the approval service's one poll of this replica
 * (ApprovalService.watchPending): tabs add listeners, never database reads.
 */
function liveApprovals(req: IncomingMessage, res: ServerResponse, approvals: Pick<ApprovalService, 'watchPending'>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write('retry: 5000\n\n');
  let last: string | undefined;
  let beats = 0;
  const unwatch = approvals.watchPending((pending) => {
    const print = pending.map((a) => `${a.id}:${a.votes.length}`).join(',');
    if (last !== undefined && print !== last) res.write(`event: changed\ndata: ${pending.length}\n\n`);
    else if (++beats % 10 === 0) res.write(': keep-alive\n\n');
    last = print;
  });
  req.on('close', unwatch);
  res.on('close', unwatch);
}

function checkCsrf(req: IncomingMessage, form: URLSearchParams, session: ConsoleSession, origin: string): void {
  checkOrigin(req, origin);
  const token = form.get('csrf');
  if (token === null || !tokensEqual(token, session.csrf)) throw new GatehouseError('GH_ERR_FORBIDDEN', 'the form is stale or forged (CSRF token mismatch); reload the page');
}

function checkOrigin(req: IncomingMessage, origin: string): void {
  const from = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  // Browsers send Origin on every POST; with Referrer-Policy: no-referrer Chromium sends the
  // opaque "null", and then Sec-Fetch-Site still says whether the form was this site's own.
  if (from !== undefined && from !== 'null' && from !== origin) throw new GatehouseError('GH_ERR_FORBIDDEN', 'this request came from another site (Origin does not match the console)');
  if ((from === undefined || from === 'null') && site !== undefined && site !== 'same-origin') throw new GatehouseError('GH_ERR_FORBIDDEN', 'this request came from another site');
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'console forms are application/x-www-form-urlencoded');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM) throw new GatehouseError('GH_ERR_REQUEST_INVALID', `the form is larger than ${MAX_FORM} bytes`);
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Only a path inside the console: never another site, never `//host`. */
function safeReturn(value: string | null): string {
  if (value === null || !value.startsWith('/console/') || value.startsWith('//') || /[\\\s]/.test(value) || value.length > 1000) return '/console/sessions';
  return value;
}

function decodeId(raw: string): string {
  let id = '';
  try {
    id = decodeURIComponent(raw);
  } catch {
    // falls through to the refusal
  }
  if (!ID.test(id)) throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'not a valid id', { details: { parameter: 'id' } });
  return id;
}

function isRead(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

function securityHeaders(res: ServerResponse): void {
  res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cache-control', 'no-store');
}

function redirect(res: ServerResponse, location: string): void {
  res.statusCode = 303;
  res.setHeader('location', location);
  res.setHeader('content-length', 0);
  res.end();
}

function sendHtml(res: ServerResponse, status: number, page: Html): void {
  send(res, status, 'text/html; charset=utf-8', page.value);
}

function send(res: ServerResponse, status: number, contentType: string, text: string | Buffer): void {
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(res.req?.method === 'HEAD' ? undefined : text);
}
