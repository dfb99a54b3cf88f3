import { html, type Html } from '../html';

/**
 * Pieces every event family shares: masked values made visible, pretty JSON, a decision and a
 * masking summary. Everything goes through `html`, so recorded content stays text.
 */

/**
 * What the masking replacements look like in the record (masking/replacement.ts): `[MASKED]`
 * (the default text), `[EMAIL]` (type tag), `[EMAIL:3f2a9c1d]` (keyed hash). A custom mask text is
 * passed in by the caller when configured.
 */
const MARKER = /\[(?:MASKED|[A-Z][A-Z0-9_]{1,40}(?::[0-9a-f]{8,64})?)\]/g;

/** Text with every masking marker wrapped in `<mark class="gh-masked">`, so what was masked shows where it was. */
export function textWithMarks(text: string): Html {
  const parts: Html[] = [];
  let last = 0;
  for (const m of text.matchAll(MARKER)) {
    const at = m.index ?? 0;
    parts.push(html`${text.slice(last, at)}`);
    parts.push(html`<mark class="gh-masked" title="masked by the gateway">${m[0]}</mark>`);
    last = at + m[0].length;
  }
  parts.push(html`${text.slice(last)}`);
  return html`${parts}`;
}

/** How many masking markers a text holds. */
export function countMarks(text: string): number {
  return [...text.matchAll(MARKER)].length;
}

/** A block of preformatted text: JSON pretty-printed when it parses, masking markers marked. */
export function codeBlock(text: string, cls = 'gh-code'): Html {
  return html`<pre class="${cls}"><code>${textWithMarks(prettyIfJson(text))}</code></pre>`;
}

export function prettyIfJson(text: string): string {
  const t = text.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return text;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return text;
  }
}

export function jsonBlock(value: unknown): Html {
  return codeBlock(JSON.stringify(value, null, 2) ?? 'undefined');
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** `{email: 2, aws_access_key_id: 1}` → a list of what was masked, or nothing when nothing was. */
export function maskCounts(counts: unknown): Html {
  if (!isRecord(counts)) return html``;
  const entries = Object.entries(counts).filter(([, n]) => typeof n === 'number' && n > 0) as [string, number][];
  if (entries.length === 0) return html``;
  return html`<span class="gh-masking" title="values the gateway masked before recording and delivery">masked: ${entries.map(
    ([type, n], i) => html`${i > 0 ? ', ' : ''}<span class="gh-mask-type">${type}</span> × ${n}`,
  )}</span>`;
}

/** The decision an event carries (`payload.decision`, pipeline.ts), or the refusal it reports. */
export function decisionOf(type: string, payload: Record<string, unknown>): { effect: string; code?: string; reasons: string[] } | undefined {
  const d = isRecord(payload.decision) ? payload.decision : type === 'policy.denied' || type === 'policy.decision' ? payload : undefined;
  if (d === undefined) {
    if (type === 'approval.granted') return { effect: 'approved', reasons: [] };
    if (type === 'approval.denied' || type === 'approval.expired' || type === 'approval.cancelled') return { effect: 'deny', code: type, reasons: [] };
    return undefined;
  }
  const reasons = Array.isArray(d.reasons) ? d.reasons.filter((r): r is string => typeof r === 'string') : [];
  return { effect: str(d.effect) ?? 'unknown', code: str(d.code), reasons };
}

export function decisionBadge(decision: { effect: string; code?: string; reasons: string[] } | undefined): Html {
  if (decision === undefined) return html``;
  const cls = /^(allow|approved)$/.test(decision.effect) ? 'gh-allow' : decision.effect === 'review' ? 'gh-review' : 'gh-deny';
  return html`<span class="gh-decision ${cls}" title="${decision.reasons.join('; ')}">${decision.effect}${decision.code ? html` <span class="gh-decision-code">${decision.code}</span>` : ''}</span>`;
}

export function ms(v: unknown): string {
  const n = num(v);
  return n === undefined ? '' : n < 10 ? `${n.toFixed(1)} ms` : `${Math.round(n)} ms`;
}
