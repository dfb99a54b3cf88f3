/**
 * What happens to statements the parser cannot classify: each event is counted here and handed to
 * the observers the gateway registers at start (a metric and a rate-limited log line, wired in
 * server/gateway.ts). Kept apart from the parser so that the classifier reports without knowing
 * where reports go.
 *
 * - `syntax_error`: PostgreSQL's grammar rejects the text (the client gets the parser's message);
 * - `too_complex`: refused before parsing by the pre-scan limits (prescan.ts);
 * - `crash`: a parser instance trapped (e.g. its stack overflowed) and was replaced;
 * - `unavailable`: no parser instance was ready (all of them being replaced).
 */
export type ParserEventKind = 'syntax_error' | 'too_complex' | 'crash' | 'unavailable';

export const PARSER_EVENT_KINDS: readonly ParserEventKind[] = ['syntax_error', 'too_complex', 'crash', 'unavailable'];

/** `detail` is the gateway's own message, never statement text (a syntax error's detail is left out). */
export type ParserEventObserver = (kind: ParserEventKind, detail: string | undefined) => void;

const observers = new Set<ParserEventObserver>();
const counts: Record<ParserEventKind, number> = { syntax_error: 0, too_complex: 0, crash: 0, unavailable: 0 };

/** Registers an observer; returns the function that removes it. */
export function onParserEvent(observer: ParserEventObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

export function noteParserEvent(kind: ParserEventKind, detail: string): void {
  counts[kind]++;
  // A syntax error's message quotes the client's text: it stays out of logs.
  const safe = kind === 'syntax_error' ? undefined : detail;
  for (const o of observers) {
    try {
      o(kind, safe);
    } catch {
      // An observer's failure must not change the classification.
    }
  }
}

/** Events since the process started, by kind (tests, diagnostics). */
export function parserEventCounts(): Readonly<Record<ParserEventKind, number>> {
  return { ...counts };
}

/**
 * An observer that logs through `log`, at most one line per kind per `intervalMs`, each line
 * saying how many events of its kind were not logged since the previous one.
 */
export function rateLimitedParserLog(log: (kind: ParserEventKind, detail: string | undefined, suppressed: number) => void, intervalMs = 10000, now: () => number = Date.now): ParserEventObserver {
  const last = new Map<ParserEventKind, number>();
  const suppressed = new Map<ParserEventKind, number>();
  return (kind, detail) => {
    const t = now();
    const previous = last.get(kind);
    if (previous !== undefined && t - previous < intervalMs) {
      suppressed.set(kind, (suppressed.get(kind) ?? 0) + 1);
      return;
    }
    last.set(kind, t);
    const skipped = suppressed.get(kind) ?? 0;
    suppressed.set(kind, 0);
    log(kind, detail, skipped);
  };
}
