import { GatehouseError } from '../errors';
import { MAX_LIST_LIMIT, DEFAULT_LIST_LIMIT } from '../state/sql-session-index';
import type { SessionFilter } from '../state/session-index';

/**
 * Parses `/api/sessions` query parameters into a SessionFilter. Strict on purpose: an unknown or
 * repeated parameter is an error rather than silently ignored, so a typo (`?usr=`) never widens a
 * search into "everything".
 */
const TEXT_PARAMS = { user: 'user', connection: 'connection', request_id: 'requestId', status: 'status' } as const;
const KNOWN = new Set([...Object.keys(TEXT_PARAMS), 'from', 'to', 'limit']);
const MAX_TEXT = 256;
/** ISO 8601 date or date-time, with an optional zone (UTC when omitted). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

export function parseSessionFilter(params: URLSearchParams): SessionFilter {
  const filter: { -readonly [K in keyof SessionFilter]: SessionFilter[K] } = {};
  const seen = new Set<string>();
  for (const [name] of params) {
    if (!KNOWN.has(name)) throw invalid(name, `unknown query parameter "${truncate(name)}"; expected one of ${[...KNOWN].join(', ')}`);
    if (seen.has(name)) throw invalid(name, `query parameter "${name}" is given more than once`);
    seen.add(name);
  }
  for (const [name, key] of Object.entries(TEXT_PARAMS)) {
    const value = params.get(name);
    if (value === null) continue;
    if (value === '' || value.length > MAX_TEXT) throw invalid(name, `query parameter "${name}" must be 1 to ${MAX_TEXT} characters`);
    filter[key] = value;
  }
  const from = parseTime(params, 'from');
  const to = parseTime(params, 'to');
  if (from !== undefined && to !== undefined && from.getTime() > to.getTime()) throw invalid('from', 'query parameter "from" is after "to"');
  if (from !== undefined) filter.from = from;
  if (to !== undefined) filter.to = to;
  const limit = params.get('limit');
  if (limit === null) {
    filter.limit = DEFAULT_LIST_LIMIT;
  } else {
    const n = /^\d{1,7}$/.test(limit) ? Number(limit) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > MAX_LIST_LIMIT) throw invalid('limit', `query parameter "limit" must be an integer from 1 to ${MAX_LIST_LIMIT}`);
    filter.limit = n;
  }
  return filter;
}

function parseTime(params: URLSearchParams, name: 'from' | 'to'): Date | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  const text = ISO_TIME.test(value) && !/(Z|[+-]\d{2}:\d{2})$/.test(value) && value.includes('T') ? `${value}Z` : value;
  const time = ISO_TIME.test(value) && isCalendarDate(value) ? Date.parse(text) : NaN;
  if (Number.isNaN(time)) throw invalid(name, `query parameter "${name}" must be an ISO 8601 time such as 2026-01-31T12:00:00Z`);
  return new Date(time);
}

/** Date.parse rolls 2026-02-30 over into March; a search for it is a mistake, not March 2. */
function isCalendarDate(value: string): boolean {
  const [y, m, d] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

function invalid(parameter: string, message: string): GatehouseError {
  return new GatehouseError('GH_ERR_REQUEST_INVALID', message, { details: { parameter: truncate(parameter) } });
}

function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
