import { GatehouseError } from '../errors';
import type { Detection, Detector } from './detector';
import { SINGLE_PASS_SLOTS, singlePass, singlePassPlan, singlePassSlot, type SinglePassPlan } from './detectors/single-pass';
import type { Replacement } from './replacement';

/** Masked items by detection type, e.g. `{ email: 2, aws_access_key: 1 }`. */
export type MaskCounts = Record<string, number>;

export interface RedactionResult {
  readonly text: string;
  readonly counts: MaskCounts;
}

function maskingFailed(message: string, detector: Detector): GatehouseError {
  // No cause attached: a detector's own error could quote the text it was scanning.
  return new GatehouseError('GH_ERR_MASKING_FAILED', message, { details: { detector: detector.id } });
}

/** How one detector list is scanned: built-ins in the single pass, the rest by their own `find`. */
interface ScanPlan {
  readonly detectors: readonly Detector[];
  /** Per detector: its single-pass slot, or -1 to call its `find`. */
  readonly slots: readonly number[];
  readonly pass: SinglePassPlan | undefined;
}

// A connection's detector list is built once at start-up and reused for every body and chunk.
const plans = new WeakMap<readonly Detector[], ScanPlan>();

function planFor(detectors: readonly Detector[]): ScanPlan {
  const cached = plans.get(detectors);
  // Checked against the list itself, in case a caller changed it after a first use.
  if (cached !== undefined && cached.detectors.length === detectors.length && cached.detectors.every((d, i) => d === detectors[i])) {
    return cached;
  }
  const slots = detectors.map(singlePassSlot);
  const used = slots.filter((s) => s >= 0);
  const plan: ScanPlan = { detectors: [...detectors], slots, pass: used.length > 0 ? singlePassPlan(used) : undefined };
  plans.set(detectors, plan);
  return plan;
}

function check(text: string, detector: Detector, found: unknown, all: Detection[]): void {
  if (!Array.isArray(found)) throw maskingFailed(`masking detector ${detector.id} returned no list`, detector);
  for (const d of found as Detection[]) {
    const valid =
      d !== null &&
      typeof d === 'object' &&
      Number.isInteger(d.start) &&
      Number.isInteger(d.end) &&
      d.start >= 0 &&
      d.start < d.end &&
      d.end <= text.length &&
      typeof d.type === 'string' &&
      d.type.length > 0;
    if (!valid) throw maskingFailed(`masking detector ${detector.id} returned an invalid detection`, detector);
    // The streaming redactor's hold-back is computed from maxLength; a longer match could leak.
    if (d.end - d.start > detector.maxLength) {
      throw maskingFailed(`masking detector ${detector.id} returned a match longer than its maxLength`, detector);
    }
    all.push(d);
  }
}

/**
 * Runs every detector and checks what it returns. A detector that throws or returns nonsense
 * (offsets out of range, a match longer than its declared maxLength) fails the whole operation:
 * guessing around it could let a secret through. Built-in detectors run together, each reached
 * through the characters it hinges on (detectors/single-pass.ts), and find exactly what their own
 * `find` would; custom rules run their own scan. Detections come back grouped by detector, in list order.
 */
export function findDetections(text: string, detectors: readonly Detector[]): Detection[] {
  const plan = planFor(detectors);
  let outs: Detection[][] | undefined;
  if (plan.pass !== undefined) {
    outs = takeSlotLists();
    try {
      singlePass(text, plan.pass, outs);
    } catch {
      releaseSlotLists(outs);
      throw new GatehouseError('GH_ERR_MASKING_FAILED', 'masking built-in detectors failed');
    }
  }
  const all: Detection[] = [];
  try {
    for (let i = 0; i < detectors.length; i++) {
      const detector = detectors[i]!;
      const slot = plan.slots[i]!;
      if (slot >= 0) {
        check(text, detector, outs![slot], all);
        continue;
      }
      let found: Detection[];
      try {
        found = detector.find(text);
      } catch {
        throw maskingFailed(`masking detector ${detector.id} failed`, detector);
      }
      check(text, detector, found, all);
    }
  } finally {
    if (outs !== undefined) releaseSlotLists(outs);
  }
  return all;
}

/**
 * The single pass's per-rule result lists, reused from call to call: a masked PostgreSQL row or
 * an LLM delta is a short string, and building 19 fresh arrays for each cost more than scanning
 * it (about half of the time per value). A nested call (a custom detector that scans again) gets
 * its own set.
 */
let spareSlotLists: Detection[][] | undefined = Array.from({ length: SINGLE_PASS_SLOTS }, () => []);

function takeSlotLists(): Detection[][] {
  const lists = spareSlotLists;
  if (lists === undefined) return Array.from({ length: SINGLE_PASS_SLOTS }, () => []);
  spareSlotLists = undefined;
  return lists;
}

function releaseSlotLists(lists: Detection[][]): void {
  // Emptied, so no detection outlives its call through the spare set.
  for (const l of lists) if (l.length > 0) l.length = 0;
  spareSlotLists = lists;
}

/**
 * Turns possibly overlapping detections into disjoint spans, sorted by start. Overlapping
 * detections form one span covering their union (so no fragment of the losing match stays
 * visible); the span's type and rule are the winner's: the longest detection, then the earliest,
 * then the one from the earlier detector. The result depends only on the detections, not on
 * the order detectors returned them in.
 */
export function resolveOverlaps(detections: readonly Detection[]): Detection[] {
  const sorted = detections
    .map((d, i) => ({ d, i }))
    .sort((a, b) => a.d.start - b.d.start || b.d.end - a.d.end || a.i - b.i)
    .map((x) => x.d);
  const spans: Detection[] = [];
  let cur: { start: number; end: number; winner: Detection } | undefined;
  for (const d of sorted) {
    if (cur && d.start < cur.end) {
      cur.end = Math.max(cur.end, d.end);
      // Sorted by start, so an equally long later detection never displaces the earlier winner.
      if (d.end - d.start > cur.winner.end - cur.winner.start) cur.winner = d;
      continue;
    }
    if (cur) spans.push({ start: cur.start, end: cur.end, type: cur.winner.type, rule: cur.winner.rule });
    cur = { start: d.start, end: d.end, winner: d };
  }
  if (cur) spans.push({ start: cur.start, end: cur.end, type: cur.winner.type, rule: cur.winner.rule });
  return spans;
}

/**
 * Writes `text[from, to)` with the given disjoint sorted spans replaced. Spans must lie inside
 * the range. Built left to right into parts, which gives the same result as replacing right to
 * left without re-copying the string per match.
 */
export function applySpans(
  text: string,
  from: number,
  to: number,
  spans: readonly Detection[],
  replacement: Replacement,
  counts: MaskCounts,
): string {
  const parts: string[] = [];
  let pos = from;
  for (const s of spans) {
    parts.push(text.slice(pos, s.start));
    let replaced: string;
    try {
      replaced = replacement(text.slice(s.start, s.end), s.type);
    } catch {
      throw new GatehouseError('GH_ERR_MASKING_FAILED', 'masking replacement failed', { details: { type: s.type } });
    }
    parts.push(replaced);
    counts[s.type] = (counts[s.type] ?? 0) + 1;
    pos = s.end;
  }
  parts.push(text.slice(pos, to));
  return parts.join('');
}

/** Replaces everything the detectors find in `text`; throws GH_ERR_MASKING_FAILED if it cannot. */
export function redactText(text: string, detectors: readonly Detector[], replacement: Replacement): RedactionResult {
  const counts: MaskCounts = {};
  if (detectors.length === 0 || text.length === 0) return { text, counts };
  const spans = resolveOverlaps(findDetections(text, detectors));
  if (spans.length === 0) return { text, counts };
  return { text: applySpans(text, 0, text.length, spans, replacement, counts), counts };
}

/** Adds `from` into `into` (both by type). */
export function addCounts(into: MaskCounts, from: Readonly<MaskCounts>): MaskCounts {
  for (const [type, n] of Object.entries(from)) into[type] = (into[type] ?? 0) + n;
  return into;
}
