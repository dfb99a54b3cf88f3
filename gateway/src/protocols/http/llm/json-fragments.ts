import type { MaskingPolicy } from '../../../masking/masking-policy';
import { addCounts, type MaskCounts } from '../../../masking/redact';
import type { StreamRedactor } from '../../../masking/stream-redactor';

/**
 * Tool-call input that an LLM streams as pieces of JSON text (Anthropic `input_json_delta`,
 * OpenAI `function.arguments`): masking the pieces as plain text misses what only the decoded
 * JSON shows (`"…\nAKIA…"` reads `nAKIA` raw, so the key's word boundary is gone) and can cut
 * an escape in half (`\n` followed by a masked `nalice@…` leaves `\[EMAIL]`, which no client can
 * parse). So the pieces are held, and the whole input is masked as JSON when its block ends and
 * sent as one piece. Clients assemble tool input before parsing it anyway; what changes is that
 * it arrives at the end of its block rather than as it is generated.
 *
 * Held text is bounded: past `limit` characters the held text and everything after it are masked
 * as a text stream instead (split-safe, but without JSON decoding), as before this existed.
 */
export const DEFAULT_JSON_FRAGMENT_LIMIT = 256 * 1024;

export function createJsonFragmentRedactor(policy: MaskingPolicy, limit = DEFAULT_JSON_FRAGMENT_LIMIT): StreamRedactor {
  let held = '';
  let text: StreamRedactor | undefined;
  const counts: MaskCounts = {};
  return {
    push(chunk: string): string {
      if (text !== undefined) return text.push(chunk);
      held += chunk;
      if (held.length <= limit) return '';
      text = policy.createStreamRedactor();
      const released = text.push(held);
      held = '';
      return released;
    },
    end(): string {
      if (text !== undefined) return text.end();
      if (held === '') return '';
      const whole = held;
      held = '';
      return maskJsonPrefix(policy, whole, counts);
    },
    get counts(): MaskCounts {
      return text === undefined ? { ...counts } : addCounts({ ...counts }, text.counts);
    },
  };
}

/**
 * Masks `json` as JSON. Input cut short (a model stopped by `max_tokens` mid-argument) is not
 * JSON; it is closed first (the open string and brackets), masked, and the closing removed again,
 * so its escapes are still decoded. What cannot be closed that way is masked as text.
 */
function maskJsonPrefix(policy: MaskingPolicy, json: string, counts: MaskCounts): string {
  const r = policy.maskJson(json);
  if (r.json) {
    addCounts(counts, r.counts);
    return r.text;
  }
  const closing = closingOf(json);
  if (closing !== undefined && closing !== '') {
    const closed = policy.maskJson(json + closing);
    if (closed.json && closed.text.endsWith(closing)) {
      addCounts(counts, closed.counts);
      return closed.text.slice(0, closed.text.length - closing.length);
    }
  }
  addCounts(counts, r.counts);
  return r.text;
}

/** What closes a JSON prefix (an open string, then open arrays and objects), or undefined when it ends inside an escape. */
function closingOf(json: string): string | undefined {
  const open: string[] = [];
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 92) {
        // An escape the prefix cuts off cannot be closed soundly.
        if (i + 1 >= json.length || (json.charCodeAt(i + 1) === 117 && i + 6 > json.length)) return undefined;
        i += json.charCodeAt(i + 1) === 117 ? 5 : 1;
      } else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123) open.push('}');
    else if (c === 91) open.push(']');
    else if (c === 125 || c === 93) open.pop();
  }
  return (inString ? '"' : '') + open.reverse().join('');
}
