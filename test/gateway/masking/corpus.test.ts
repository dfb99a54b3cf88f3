import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Detection } from '../../../gateway/src/masking/detector';
import { builtInDetectors } from '../../../gateway/src/masking/detectors/index';

interface Line {
  readonly text: string;
  readonly spans: readonly { readonly type: string; readonly value: string }[];
}

const corpus: Line[] = readFileSync(join(process.cwd(), 'test/fixtures/masking/corpus.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim().length > 0)
  .map((l) => JSON.parse(l) as Line);

/** Gold spans located in their line, in order (a value may occur more than once). */
function goldSpans(line: Line): { start: number; end: number; type: string }[] {
  let from = 0;
  return line.spans.map((s) => {
    const start = line.text.indexOf(s.value, from);
    if (start < 0) throw new Error(`corpus value not found in its line: ${s.type}`);
    from = start + s.value.length;
    return { start, end: from, type: s.type };
  });
}

function covered(span: { start: number; end: number }, found: readonly Detection[]): boolean {
  // The union of detections must cover every character of the labelled value.
  for (let i = span.start; i < span.end; i++) {
    if (!found.some((d) => d.start <= i && i < d.end)) return false;
  }
  return true;
}

describe('masking corpus (built-in detectors)', () => {
  const detectors = builtInDetectors();
  let goldTotal = 0;
  let goldFound = 0;
  let goldTyped = 0;
  let detTotal = 0;
  let detTrue = 0;
  const misses: string[] = [];
  const falseAlarms: string[] = [];

  for (const line of corpus) {
    const gold = goldSpans(line);
    const found = detectors.flatMap((d) => d.find(line.text));
    for (const g of gold) {
      goldTotal++;
      if (covered(g, found)) goldFound++;
      else misses.push(`${g.type}: ${line.text.slice(0, 120)}`);
      if (found.some((d) => d.type === g.type && d.start <= g.start && d.end >= g.end)) goldTyped++;
    }
    for (const d of found) {
      detTotal++;
      if (gold.some((g) => d.start < g.end && g.start < d.end)) detTrue++;
      else falseAlarms.push(`${d.rule} "${line.text.slice(d.start, d.end)}" in: ${line.text.slice(0, 120)}`);
    }
  }
  const recall = goldFound / goldTotal;
  const precision = detTrue / detTotal;
  const typeAccuracy = goldTyped / goldTotal;
  // Reported so the figures can be quoted; the assertions below are the gates.
  process.stdout.write(
    `masking corpus: ${corpus.length} lines, ${goldTotal} labelled values, ${detTotal} detections; ` +
      `recall=${recall.toFixed(4)} precision=${precision.toFixed(4)} typeAccuracy=${typeAccuracy.toFixed(4)}\n`,
  );

  it('holds at least 300 lines with both true positives and hard negatives', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(300);
    expect(corpus.filter((l) => l.spans.length === 0).length).toBeGreaterThanOrEqual(100);
  });

  it('finds at least 99% of the labelled secrets and personal data (recall)', () => {
    if (misses.length > 0) process.stdout.write(`misses:\n${misses.join("\n")}\n`);
    expect(recall).toBeGreaterThanOrEqual(0.99);
  });

  it('at least 98% of detections are labelled values (precision)', () => {
    if (falseAlarms.length > 0) process.stdout.write(`false alarms:\n${falseAlarms.join("\n")}\n`);
    expect(precision).toBeGreaterThanOrEqual(0.98);
  });

  it('labels at least 97% of the values with their own type', () => {
    expect(typeAccuracy).toBeGreaterThanOrEqual(0.97);
  });
});
