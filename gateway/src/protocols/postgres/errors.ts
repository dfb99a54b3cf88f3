import { ERROR_CODES, toGatehouseError, type ErrorCode, type GatehouseError } from '../../errors';

/**
 * The one place a GatehouseError becomes a PostgreSQL error (SQLSTATE + message): at start-up
 * (before ReadyForQuery: the client has no session yet) and during a session (the connection is
 * terminated). Code branches on GH_ERR_* codes, never on their text or prefix.
 */
export type PgPhase = 'startup' | 'session';

/** SQLSTATEs the gateway answers with (PostgreSQL's errcodes.txt). */
export const SQLSTATE = {
  /** insufficient_privilege: a refused statement (policy, approval, the gateway's own rules). */
  refused: '42501',
  /** invalid_password: the password (an OIDC token) was refused at login. */
  invalidPassword: '28P01',
  /**
   * invalid_authorization_specification: the authorization itself is no longer (or not) valid: the
   * token a session logged in with expired (not a wrong password: libpq users read 28P01 as one),
   * or a connection without the TLS the token must travel in.
   */
  invalidAuthorization: '28000',
  /** invalid_catalog_name: a database this gateway does not serve. */
  invalidCatalogName: '3D000',
  /** invalid_parameter_value: a start-up parameter the gateway pins, sent with another value. */
  invalidParameterValue: '22023',
  /** feature_not_supported: a frontend protocol other than 3.0, a pinned parameter the server changed. */
  featureNotSupported: '0A000',
  /** program_limit_exceeded: a client message larger than the connection's maxMessageBytes. */
  programLimitExceeded: '54000',
  /** connection_failure: the upstream could not be reached, or the issuer's keys could not. */
  connectionFailure: '08006',
  /** protocol_violation. */
  protocolViolation: '08P01',
  /** cannot_connect_now: shutting down, or recording unavailable, before the session opened. */
  cannotConnectNow: '57P03',
  /** admin_shutdown: the session ends (shutdown, recording failed). */
  adminShutdown: '57P01',
  /** system_error: a gateway part needed for the connection (masking) is unavailable. */
  systemError: '58000',
  internalError: 'XX000',
} as const;

export type Sqlstate = (typeof SQLSTATE)[keyof typeof SQLSTATE];

/** Codes whose SQLSTATE differs by phase: [at start-up, during a session]. */
const BY_PHASE: Partial<Record<ErrorCode, readonly [Sqlstate, Sqlstate]>> = {
  GH_ERR_RECORDING_FAILED: [SQLSTATE.cannotConnectNow, SQLSTATE.adminShutdown],
  GH_ERR_RECORDING_OVERLOADED: [SQLSTATE.cannotConnectNow, SQLSTATE.adminShutdown],
  GH_ERR_RECORDING_CLOSED: [SQLSTATE.cannotConnectNow, SQLSTATE.adminShutdown],
  GH_ERR_SHUTTING_DOWN: [SQLSTATE.cannotConnectNow, SQLSTATE.adminShutdown],
  GH_ERR_MASKING_FAILED: [SQLSTATE.systemError, SQLSTATE.internalError],
};

const FIXED: Partial<Record<ErrorCode, Sqlstate>> = {
  GH_ERR_POLICY_DENIED: SQLSTATE.refused,
  GH_ERR_POLICY_FAILED: SQLSTATE.refused,
  GH_ERR_APPROVAL_DENIED: SQLSTATE.refused,
  GH_ERR_APPROVAL_EXPIRED: SQLSTATE.refused,
  GH_ERR_APPROVAL_UNAVAILABLE: SQLSTATE.refused,
  GH_ERR_ISSUER_UNAVAILABLE: SQLSTATE.connectionFailure,
  GH_ERR_UPSTREAM_UNAVAILABLE: SQLSTATE.connectionFailure,
  GH_ERR_UPSTREAM_TIMEOUT: SQLSTATE.connectionFailure,
  GH_ERR_SECRET_UNAVAILABLE: SQLSTATE.connectionFailure,
  GH_ERR_REQUEST_INVALID: SQLSTATE.protocolViolation,
  GH_ERR_SESSION_EXPIRED: SQLSTATE.invalidAuthorization,
  GH_ERR_MESSAGE_TOO_LARGE: SQLSTATE.programLimitExceeded,
  GH_ERR_PG_PARAMETER_CHANGED: SQLSTATE.featureNotSupported,
  GH_ERR_PG_PARAMETER_PINNED: SQLSTATE.invalidParameterValue,
};

/** The SQLSTATE of a GatehouseError code in a phase. */
export function sqlstateFor(code: ErrorCode, status: number, phase: PgPhase): Sqlstate {
  const byPhase = BY_PHASE[code];
  if (byPhase !== undefined) return byPhase[phase === 'startup' ? 0 : 1];
  const fixed = FIXED[code];
  if (fixed !== undefined) return fixed;
  // Every credential failure (GH_ERR_TOKEN_*, subject rules, ...) is a refused password.
  if (status === 401) return SQLSTATE.invalidPassword;
  return SQLSTATE.internalError;
}

/** The SQLSTATE of a GatehouseError code in a phase, with the code's registered status. */
export function pgSqlstate(code: ErrorCode, phase: PgPhase): Sqlstate {
  return sqlstateFor(code, ERROR_CODES[code], phase);
}

/** The message a client sees: never an internal error's text (it may name internals). */
export function pgMessage(err: GatehouseError): string {
  return `gatehouse: ${err.code === 'GH_ERR_INTERNAL' ? 'internal error' : err.message} (${err.code})`;
}

/** SQLSTATE and message for a GatehouseError in a phase. */
export function pgErrorFor(err: GatehouseError, phase: PgPhase): { readonly sqlstate: Sqlstate; readonly message: string } {
  return { sqlstate: sqlstateFor(err.code, err.status, phase), message: pgMessage(err) };
}

/**
 * Why a connection failed before its session opened (a malformed or late start-up packet, a TLS
 * upgrade that broke, anything else thrown on the way): an error the gateway did not classify is
 * the client's protocol violation. The message carries the stable code, never an internal text.
 */
export function pgStartupError(e: unknown): { readonly err: GatehouseError; readonly sqlstate: Sqlstate; readonly message: string } {
  const err = toGatehouseError(e, 'GH_ERR_REQUEST_INVALID');
  return { err, ...pgErrorFor(err, 'startup') };
}

/**
 * A password (an OIDC token) the identity stage refused: a refused credential is 28P01, an issuer
 * that cannot be reached a connection failure (the client may retry), per the table above.
 */
export function pgLoginError(e: unknown, user: string): { readonly err: GatehouseError; readonly sqlstate: Sqlstate; readonly message: string } {
  const err = toGatehouseError(e, 'GH_ERR_TOKEN_MALFORMED');
  const detail = err.code === 'GH_ERR_INTERNAL' ? 'internal error' : err.message;
  return {
    err,
    sqlstate: sqlstateFor(err.code, err.status, 'startup'),
    message: `gatehouse: password authentication failed for user "${user}": the password must be a valid OIDC token (${err.code}: ${detail})`,
  };
}
