import type { ErrorCode } from '../../errors';
import { refusalErrorCode, type Decision } from '../../policy/decision';

/**
 * The one place SSH's native errors are made: what a client is told on a channel's stderr, and
 * the exit status that goes with it. Scripts branch on the status; people read the line, which
 * always starts with `gatehouse: ` and names the stable GH_ERR_* code (and, for a refusal, the
 * decision code).
 */

/** Exit status of a channel the gateway refused or ended (policy, recording, expiry, shutdown): "cannot execute", as shells use. */
export const REFUSED_EXIT_STATUS = 126;

/** Exit status of a channel that failed after it was opened (its output could not be masked): a plain failure. */
export const FAILED_EXIT_STATUS = 1;

/** `<code>: <message>`: the reason a channel is refused or ended. */
export function sshReason(err: { readonly code: ErrorCode; readonly message: string }): string {
  return `${err.code}: ${err.message}`;
}

/** `<GH_ERR code> (<decision code>): <message>`: a policy or approval refusal. */
export function sshRefusalReason(decision: Decision): string {
  return `${refusalErrorCode(decision.code)} (${decision.code}): ${decision.message}`;
}

/** The stderr line for a reason (`gatehouse: <reason>`), CRLF-terminated for a terminal. */
export function sshErrorLine(reason: string): string {
  return `gatehouse: ${reason}\r\n`;
}

/** What a channel can be told on: ssh2's ServerChannel (structural, so this file needs no ssh2). */
export interface RefusableChannel {
  readonly stderr: { write(text: string): unknown };
  exit(status: number): unknown;
  end(): unknown;
}

/**
 * Tells a channel why it is refused or ended and closes it: the reason on stderr, then the exit
 * status (126 unless given), then the end. `lead` puts the line on a fresh terminal line (a
 * channel ended mid-output).
 */
export function answerOnChannel(stream: RefusableChannel, reason: string, options: { readonly status?: number; readonly lead?: boolean } = {}): void {
  stream.stderr.write(`${options.lead === true ? '\r\n' : ''}${sshErrorLine(reason)}`);
  stream.exit(options.status ?? REFUSED_EXIT_STATUS);
  stream.end();
}
