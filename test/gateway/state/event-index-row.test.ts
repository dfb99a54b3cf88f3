import { DECISION_BITS, decisionBits, eventIndexFacts, MAX_EVENT_TEXT } from '../../../gateway/src/state/event-index-row';

describe('event index facts', () => {
  it('reads an allowed decision folded into a request event, and its method, path and query', () => {
    const facts = eventIndexFacts('http.request', {
      method: 'POST',
      path: '/v1/messages',
      query: 'beta=true',
      host: 'api.anthropic.com',
      headers: { authorization: 'Bearer never-indexed' },
      body: { text: 'request body is not indexed here' },
      decision: { effect: 'allow', code: 'policy.allow', reasons: [] },
    });
    expect(facts.decisions).toBe(DECISION_BITS.allowed);
    expect(facts.text).toBe('POST /v1/messages?beta=true api.anthropic.com  v1 messages');
  });

  it('marks denials, reviews, failures and masks', () => {
    expect(decisionBits('policy.denied', { effect: 'deny' })).toBe(DECISION_BITS.denied);
    expect(decisionBits('approval.requested', {})).toBe(DECISION_BITS.reviewed);
    expect(decisionBits('approval.expired', {})).toBe(DECISION_BITS.reviewed | DECISION_BITS.denied);
    expect(decisionBits('pg.query', { decision: { effect: 'allow', code: 'approval.granted' } })).toBe(DECISION_BITS.allowed | DECISION_BITS.reviewed);
    expect(decisionBits('pg.result', { ms: 1, error: { sqlstate: '42P01', message: 'no table' } })).toBe(DECISION_BITS.failed);
    expect(decisionBits('pg.result', { ms: 1, tag: 'SELECT 1' })).toBe(0);
    expect(decisionBits('http.error', { reason: 'upstream_unavailable' })).toBe(DECISION_BITS.failed);
    expect(decisionBits('http.response', { body: { masked: { email: 2 } } })).toBe(DECISION_BITS.masked);
    expect(decisionBits('http.response', { body: { masked: { email: 0 } } })).toBe(0);
  });

  it('indexes a statement, and a transcript without its sealed originals or headers', () => {
    expect(eventIndexFacts('pg.query', { protocol: 'simple', text: 'select * from invoices' }).text).toBe('select * from invoices');
    const text = eventIndexFacts('llm.exchange', {
      provider: 'anthropic',
      request: { model: 'claude', system: 'You are Claude Code', messages: [{ role: 'user', content: [{ type: 'text', text: 'rename the billing table' }] }] },
      response: { content: [{ type: 'text', text: 'Here is the migration', original: { sealed: 'CIPHERTEXT-NEVER-INDEXED' } }], usage: { input_tokens: 3 } },
      headers: { 'x-api-key': 'NEVER' },
    }).text;
    expect(text).toContain('rename the billing table');
    expect(text).toContain('Here is the migration');
    expect(text).not.toContain('CIPHERTEXT');
    expect(text).not.toContain('NEVER');
  });

  it('keeps the answer and the newest turn when the system prompt alone exceeds the cap', () => {
    const text = eventIndexFacts('llm.exchange', {
      request: {
        system: [{ type: 'text', text: 'system '.repeat(5000) }],
        messages: [
          { role: 'user', content: 'first question' },
          { role: 'assistant', content: 'first answer' },
          { role: 'user', content: 'newest question' },
        ],
      },
      response: { content: [{ type: 'text', text: 'newest answer' }] },
    }).text;
    expect(text.startsWith('newest answer newest question first answer first question system')).toBe(true);
    expect(text.length).toBeLessThanOrEqual(MAX_EVENT_TEXT + 10);
  });

  it('caps the indexed text of one event', () => {
    const long = 'word '.repeat(10000);
    expect(eventIndexFacts('pg.query', { text: long }).text.length).toBeLessThanOrEqual(MAX_EVENT_TEXT);
    const transcript = eventIndexFacts('llm.exchange', { response: Array.from({ length: 100 }, () => ({ content: 'x'.repeat(1000) })) }).text;
    expect(transcript.length).toBeLessThanOrEqual(MAX_EVENT_TEXT + 100);
    expect(transcript.length).toBeGreaterThan(MAX_EVENT_TEXT - 1000);
  });

  it('indexes nothing for events without searchable text', () => {
    expect(eventIndexFacts('http.response', { status: 200, body: { text: 'response bodies are not indexed' } }).text).toBe('');
  });
});
