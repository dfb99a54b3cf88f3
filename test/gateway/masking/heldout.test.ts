import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { maskingSchema } from '../../../gateway/src/config/schema';
import { prepareMasking, type MaskingPolicy } from '../../../gateway/src/masking/masking-policy';
import { SseMasker } from '../../../gateway/src/protocols/http/llm/sse-masker';
import { stitchersFor } from '../../../gateway/src/protocols/http/llm/delta-stitchers';
import { prng } from './redact.helpers';

/**
 * The held-out corpus (test/fixtures/masking/heldout.jsonl, from heldout.mjs): every line through
 * every masker a value can meet, with recall and precision computed over all of them and gated.
 *
 * - recall: a labelled value counts as found only if no spelling of it survives anywhere in the
 *   output: not as written, not JSON-escaped, not inside a JSON string at any depth (strings that
 *   hold JSON are parsed again), not in the text an SSE client assembles from its deltas; and no
 *   distinctive piece of it (a run of five or more letters and digits that occurs nowhere else in
 *   the line) is left behind, so masking half a value is a miss.
 * - precision: every replacement in the output is one mask; a line's masks beyond its labelled
 *   values (all of them, on a near-miss line) are false alarms.
 * - honesty: what a masker counts equals what it replaced, so a value is never counted masked
 *   while it went out in clear.
 */
interface Line {
  readonly text: string;
  readonly spans: readonly { readonly type: string; readonly value: string }[];
  /** The forms this line is for (default: all). */
  readonly only?: readonly string[];
}

const corpus: Line[] = readFileSync(join(process.cwd(), 'test/fixtures/masking/heldout.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim().length > 0)
  .map((l) => JSON.parse(l) as Line);

const MARK = '⟦MASKED⟧';

async function policyWith(jsonPaths: string[] = []): Promise<MaskingPolicy> {
  const prepared = prepareMasking(maskingSchema.parse({ replacement: { kind: 'mask', text: MARK }, jsonPaths }), { connection: 'heldout' })!;
  return prepared.resolve({ get: async () => '' });
}

function marks(text: string): number {
  return text.split(MARK).length - 1;
}

/** Every text a reader could recover from `output`: as is, unescaped, and every JSON string at any depth. */
function spellings(output: string): string[] {
  const out = new Set<string>([output]);
  let t = output;
  for (let i = 0; i < 4; i++) {
    t = t.replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))).replace(/\\(.)/g, '$1');
    out.add(t);
  }
  const visit = (v: unknown, depth: number): void => {
    if (typeof v === 'string') {
      out.add(v);
      if (depth < 10 && /^\s*[[{]/.test(v)) {
        try {
          visit(JSON.parse(v), depth + 1);
        } catch {
          // not JSON after all
        }
      }
    } else if (Array.isArray(v)) v.forEach((x) => visit(x, depth));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (visit(k, depth), visit(x, depth));
  };
  try {
    visit(JSON.parse(output), 0);
  } catch {
    // text output
  }
  return [...out];
}

/** The value and its distinctive pieces (runs of 5+ letters/digits found nowhere else in the line). */
function pieces(line: Line, value: string): string[] {
  const decoded = [value, value.replace(/\\(.)/g, '$1')];
  let rest = line.text;
  for (const s of line.spans) rest = rest.split(s.value).join(' ');
  const runs = decoded.flatMap((v) => v.match(/[A-Za-z0-9]{5,}/g) ?? []).filter((r) => !rest.includes(r) && !line.spans.some((s) => s.value !== value && s.value.includes(r)));
  return [...new Set([...decoded, ...runs])];
}

/** What the masker under test makes of one line: the text a client ends up with, and the masks counted. */
type Form = (line: Line, policy: MaskingPolicy, paths: MaskingPolicy) => { output: string; counted: number | undefined } | undefined;

const sum = (counts: Readonly<Record<string, number>>): number => Object.values(counts).reduce((a, b) => a + b, 0);

function chunksOf(text: string, seed: number, max: number): string[] {
  const rand = prng(seed);
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = 1 + Math.floor(rand() * max);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

/** Runs an SSE stream through the masker in small byte chunks; returns the raw output. */
function sse(policy: MaskingPolicy, llm: string, events: string[]): { raw: string; counted: number } {
  const masker = new SseMasker(policy, stitchersFor(llm));
  const stream = Buffer.from(events.join(''));
  let raw = '';
  for (let i = 0; i < stream.length; i += 7) raw += masker.push(stream.subarray(i, i + 7));
  raw += masker.end();
  return { raw, counted: sum(masker.counts) };
}

const FORMS: Record<string, Form> = {
  text: (line, policy) => {
    const r = policy.maskText(line.text);
    return { output: r.text, counted: sum(r.counts) };
  },
  'json by value': (line, policy) => {
    if (!isJson(line.text)) return undefined;
    const r = policy.maskJson(line.text);
    return { output: r.text, counted: sum(r.counts) };
  },
  'json by path': (line, _policy, paths) => {
    if (!isJson(line.text)) return undefined;
    const r = paths.maskJson(line.text);
    return { output: r.text, counted: sum(r.counts) };
  },
  'chunked stream': (line, policy) => {
    const redactor = policy.createStreamRedactor();
    let output = '';
    for (const c of chunksOf(line.text, line.text.length, 9)) output += redactor.push(c);
    output += redactor.end();
    return { output, counted: sum(redactor.counts) };
  },
  'anthropic sse deltas': (line, policy) => {
    const deltas = chunksOf(line.text, line.text.length + 1, 12);
    const events = [
      `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_1', role: 'assistant', content: [] } })}\n\n`,
      `event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n`,
      ...deltas.map((t) => `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } })}\n\n`),
      `event: content_block_stop\ndata: ${JSON.stringify({ type: 'content_block_stop', index: 0 })}\n\n`,
      `event: message_stop\ndata: ${JSON.stringify({ type: 'message_stop' })}\n\n`,
    ];
    const { raw, counted } = sse(policy, 'anthropic', events);
    const text = dataOf(raw)
      .filter((d) => d.type === 'content_block_delta')
      .map((d) => (d.delta as { text: string }).text)
      .join('');
    return { output: text, counted };
  },
  'openai sse deltas': (line, policy) => {
    const deltas = chunksOf(line.text, line.text.length + 2, 12);
    const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const events = [chunk({ role: 'assistant', content: '' }, null), ...deltas.map((t) => chunk({ content: t }, null)), chunk({}, 'stop'), 'data: [DONE]\n\n'];
    const { raw, counted } = sse(policy, 'openai', events);
    const text = dataOf(raw)
      .flatMap((d) => (d.choices as { delta: { content?: string } }[]) ?? [])
      .map((c) => c.delta.content ?? '')
      .join('');
    return { output: text, counted };
  },
};

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function dataOf(raw: string): Record<string, unknown>[] {
  return raw
    .split('\n')
    .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
    .map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);
}

describe('held-out masking corpus, through every masker', () => {
  let policy: MaskingPolicy;
  let paths: MaskingPolicy;
  beforeAll(async () => {
    policy = await policyWith();
    // A path that matches nothing sends JSON down the parse-and-walk route.
    paths = await policyWith(['$.no_such_field']);
  });

  test('holds the cases of every class, near-misses included', () => {
    const types = new Set(corpus.flatMap((l) => l.spans.map((s) => s.type)));
    for (const t of ['anthropic_api_key', 'openai_api_key', 'google_api_key', 'slack_webhook', 'npm_token', 'pypi_token', 'huggingface_token', 'generic_secret', 'email']) {
      expect(types).toContain(t);
    }
    expect(corpus.filter((l) => l.spans.length === 0).length).toBeGreaterThanOrEqual(30);
    expect(corpus.length).toBeGreaterThanOrEqual(150);
  });

  test('recall ≥ 0.99 and precision ≥ 0.98 over every form; counts equal what was replaced', () => {
    let gold = 0;
    let hidden = 0;
    let masks = 0;
    let falseAlarms = 0;
    const misses: string[] = [];
    const alarms: string[] = [];
    const dishonest: string[] = [];
    for (const [form, run] of Object.entries(FORMS)) {
      for (const line of corpus) {
        if (line.only !== undefined && !line.only.includes(form)) continue;
        const r = run(line, policy, paths);
        if (r === undefined) continue;
        const texts = spellings(r.output);
        for (const s of line.spans) {
          gold++;
          const left = pieces(line, s.value).filter((p) => texts.some((t) => t.includes(p)));
          if (left.length === 0) hidden++;
          else misses.push(`${form} ${s.type}: ${JSON.stringify(left[0]!.slice(0, 40))} left in ${r.output.slice(0, 160)}`);
        }
        const m = marks(r.output);
        masks += m;
        const extra = Math.max(0, m - line.spans.length);
        falseAlarms += extra;
        if (extra > 0) alarms.push(`${form}: ${r.output.slice(0, 160)}`);
        if (r.counted !== undefined && r.counted !== m) dishonest.push(`${form}: counted ${r.counted}, replaced ${m}: ${r.output.slice(0, 160)}`);
      }
    }
    const recall = hidden / gold;
    const precision = masks === 0 ? 1 : (masks - falseAlarms) / masks;
    process.stdout.write(`held-out masking corpus: ${corpus.length} lines x ${Object.keys(FORMS).length} forms, ${gold} labelled values, ${masks} masks; recall=${recall.toFixed(4)} precision=${precision.toFixed(4)}\n`);
    if (misses.length > 0) process.stdout.write(`misses:\n${misses.join('\n')}\n`);
    if (alarms.length > 0) process.stdout.write(`false alarms:\n${alarms.join('\n')}\n`);
    expect(dishonest).toEqual([]);
    expect(recall).toBeGreaterThanOrEqual(0.99);
    expect(precision).toBeGreaterThanOrEqual(0.98);
  });
});
