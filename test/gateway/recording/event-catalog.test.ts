import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVENT_CATALOG, EVENT_CODES, isEventType, type EventType } from '../../../gateway/src/recording/event-catalog';

const SRC = fileURLToPath(new URL('../../../gateway/src', import.meta.url));
const entries = Object.entries(EVENT_CATALOG) as [EventType, (typeof EVENT_CATALOG)[EventType]][];

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...(await sourceFiles(p)));
    else if (d.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/**
 * Every literal event type passed to a recording call in gateway/src: `record('pg.query', …)`,
 * `recordNow(…)`, `recordRequest(…)`, `recordOutcome(…)`, `append(…)`, `appendNow(…)`, `recordQuietly(…)`, `appendEvent(session, '…', …)`,
 * and optional calls such as an HTTP dialect's `head.record?.('git.push', …)`.
 */
async function emittedTypes(): Promise<Map<string, string[]>> {
  const call = /\b(?:record|recordNow|recordRequest|recordOutcome|recordQuietly|append|appendNow|appendEvent|appendEventNow|enqueue|appendLine)(?:\?\.)?\(\s*(?:[\w.]+,\s*){0,2}['"`]([a-z][a-z_]*(?:\.[a-z_]+)+)['"`]/g;
  const found = new Map<string, string[]>();
  for (const file of await sourceFiles(SRC)) {
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(call)) {
      const where = `${file.slice(SRC.length + 1)}:${text.slice(0, m.index).split('\n').length}`;
      found.set(m[1]!, [...(found.get(m[1]!) ?? []), where]);
    }
  }
  return found;
}

describe('event catalog', () => {
  it('gives every type a unique code', () => {
    const codes = entries.map(([, spec]) => spec.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('writes each code as GH + four digits + the letter of its declared severity', () => {
    const letter = { info: 'I', warning: 'W', error: 'E' } as const;
    for (const [type, spec] of entries) {
      expect({ type, code: spec.code }).toEqual({ type, code: expect.stringMatching(new RegExp(`^GH\\d{4}${letter[spec.severity]}$`)) });
    }
  });

  it('never files a failure as info: *.error, *.failed, *.failure, *.gap, *_error, *.denied, *.expired are warnings or errors', () => {
    const failureLike = /(\.error|_error|\.failed|\.failure|\.gap|\.denied|\.expired)$/;
    const offenders = entries.filter(([type, spec]) => failureLike.test(type) && spec.severity === 'info').map(([type]) => type);
    expect(offenders).toEqual([]);
    // Errors proper are errors, not warnings.
    const errors = entries.filter(([type]) => /(\.error|_error|\.failed|\.gap)$/.test(type));
    expect(errors.length).toBeGreaterThan(0);
    for (const [type, spec] of errors) expect({ type, severity: spec.severity }).toEqual({ type, severity: 'error' });
  });

  it('keeps the codes that logs already hold', () => {
    // Stable forever: a stored log's codes must keep their meaning.
    expect(EVENT_CODES).toMatchObject({
      'session.start': 'GH1000I',
      'session.end': 'GH1001I',
      'auth.failure': 'GH1100W',
      'policy.decision': 'GH1200I',
      'policy.denied': 'GH1201W',
      'approval.requested': 'GH1300I',
      'approval.granted': 'GH1301I',
      'approval.denied': 'GH1302W',
      'approval.expired': 'GH1303W',
      'approval.cancelled': 'GH1304W',
      'http.request': 'GH2000I',
      'http.response': 'GH2001I',
      'http.error': 'GH2002E',
      'http.request.body': 'GH2003I',
      'llm.exchange': 'GH2100I',
      'pg.query': 'GH2200I',
      'recording.gap': 'GH9000E',
      'recording.recovered': 'GH9001W',
    });
    // The placeholder of unregistered types is gone for good.
    expect(Object.values(EVENT_CODES)).not.toContain('GH0000I');
  });

  it('describes every type', () => {
    for (const [type, spec] of entries) expect({ type, ok: spec.description.length > 10 }).toEqual({ type, ok: true });
  });

  it('registers every event type emitted in gateway/src', async () => {
    const emitted = await emittedTypes();
    // The scan must see the emitters it is meant to police (so it cannot pass by finding nothing).
    for (const t of ['session.start', 'session.end', 'auth.failure', 'policy.denied', 'http.request', 'http.error', 'pg.query', 'pg.result', 'pg.error', 'masking.failed', 'approval.granted', 'recording.recovered', 'git.fetch', 'git.push', 'git.push.partial']) {
      expect([t, emitted.has(t)]).toEqual([t, true]);
    }
    const missing = [...emitted].filter(([type]) => !isEventType(type)).map(([type, where]) => `${type} (${where.join(', ')})`);
    expect(missing).toEqual([]);
  });
});
