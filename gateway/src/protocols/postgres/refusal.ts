import { SQLSTATE } from './errors';
import { errorResponse, failingParse, message, REFUSED_STATEMENT, T } from './messages';

/**
 * What a refusal sends: to the client, the gateway's own 42501; to the server, only what keeps the
 * transaction where PostgreSQL's own error would leave it, carrying no caller data (neither the
 * refused text nor the reason): REFUSED_STATEMENT in the refused statement's place, or a failing
 * Parse (messages.ts). The server's error for that stand-in is dropped (connection.ts).
 */

/** The client's ErrorResponse for a refusal. */
export function refusalError(text: string): Buffer {
  return errorResponse('ERROR', SQLSTATE.refused, text);
}

const REFUSED_QUERY = message(T.Query, Buffer.from(`${REFUSED_STATEMENT}\0`, 'utf8'));

/**
 * The Query sent for a refused simple Query: its allowed statements (those before the refused
 * one) as they were judged, then REFUSED_STATEMENT, so the server runs and then rolls back (or
 * fails the block) exactly as when the refused statement fails.
 */
export function refusedQuery(allowed: readonly { readonly text: string }[]): Buffer {
  if (allowed.length === 0) return REFUSED_QUERY;
  let text = '';
  for (const s of allowed) text += `${s.text}\n;\n`;
  return message(T.Query, Buffer.from(`${text}${REFUSED_STATEMENT}\0`, 'utf8'));
}

/** The Parse sent for a refused Parse: same name (so the server's named-statement state is what the error leaves), fixed failing text. */
export function refusedParse(name: string): Buffer {
  return failingParse(name);
}
