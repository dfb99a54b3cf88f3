import { GatehouseError } from '../../errors';
import { SESSION_DECISIONS, type SessionDecision, type SessionSearchFilter } from '../../state/session-search';

/**
 * The sessions page's query string → a SessionSearchFilter. Forms submit every field, so empty
 * values mean "not set"; an unknown parameter is refused (a typo must not widen a search).
 */
const TEXT = { q: 'q', user: 'user', connection: 'connection', protocol: 'protocol', request_id: 'requestId', claude_session_id: 'claudeSessionId' } as const;
const KNOWN = new Set([...Object.keys(TEXT), 'from', 'to', 'decision', 'cursor']);
const MAX_TEXT = 256;
/** `datetime-local` (read as UTC) or ISO 8601 with a zone. */
const TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

export interface ConsoleQuery {
  readonly filter: SessionSearchFilter;
  readonly cursor?: string;
  /** The non-empty parameters (without the cursor), to show back in the form and carry to the next page. */
  readonly shown: Record<string, string>;
}

export function parseConsoleQuery(params: URLSearchParams): ConsoleQuery {
  const filter: { -readonly [K in keyof SessionSearchFilter]: SessionSearchFilter[K] } = {};
  const shown: Record<string, string> = {};
  for (const [name] of params) if (!KNOWN.has(name)) throw invalid(name, `unknown query parameter "${name.slice(0, 64)}"`);
  for (const [param, key] of Object.entries(TEXT)) {
    const value = (params.get(param) ?? '').trim();
    if (value === '') continue;
    if (value.length > MAX_TEXT) throw invalid(param, `${param} is longer than ${MAX_TEXT} characters`);
    filter[key] = value;
    shown[param] = value;
  }
  for (const name of ['from', 'to'] as const) {
    const value = (params.get(name) ?? '').trim();
    if (value === '') continue;
    const zoned = /(Z|[+-]\d{2}:\d{2})$/.test(value) || !value.includes('T') ? value : `${value}Z`;
    const time = TIME.test(value) ? Date.parse(zoned) : NaN;
    if (Number.isNaN(time)) throw invalid(name, `${name} must be a time such as 2026-01-31T12:00`);
    filter[name] = new Date(time);
    shown[name] = value;
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) throw invalid('from', '"from" is after "to"');
  const decision = (params.get('decision') ?? '').trim();
  if (decision !== '') {
    if (!SESSION_DECISIONS.includes(decision as SessionDecision)) throw invalid('decision', `decision must be one of ${SESSION_DECISIONS.join(', ')}`);
    filter.decision = decision as SessionDecision;
    shown.decision = decision;
  }
  const cursor = (params.get('cursor') ?? '').trim();
  return { filter, shown, ...(cursor === '' ? {} : { cursor }) };
}

function invalid(parameter: string, message: string): GatehouseError {
  return new GatehouseError('GH_ERR_REQUEST_INVALID', message, { details: { parameter } });
}
