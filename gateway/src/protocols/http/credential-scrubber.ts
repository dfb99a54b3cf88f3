import type { IncomingHttpHeaders } from 'node:http';
import type { CredentialConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';

/**
 * Keeps the brokered credential out of responses (issue 15, point 3). The gateway knows the value
 * it put on the upstream request; an upstream that reflects it (an echo endpoint, an error page
 * quoting headers, a debug dump) would hand it to the caller, who must never see it, and into the
 * record, which must never hold it. Every form the value was sent in is looked for: as is, and as
 * the upstream would quote it (Basic's base64, URL-encoded, JSON-escaped).
 *
 * `mask` replaces each occurrence with `*` of the same length (so a Content-Length stays right and
 * nothing is buffered beyond what a match needs); `refuse` fails the response
 * (GH_ERR_CREDENTIAL_REFLECTED): 502 before its headers went out, a cut connection after.
 */
export type ReflectedCredentialAction = 'mask' | 'refuse';

/** The forms of one credential value a response must not contain; built once per value (rotation builds anew). */
export interface CredentialForms {
  readonly bytes: readonly Buffer[];
  readonly text: readonly string[];
  /** The longest form's length in bytes. */
  readonly longest: number;
  /**
   * The bytes every form begins with, when there are several forms and they share at least
   * GATE_MIN bytes (a secret and its URL- and JSON-escaped forms do, up to the first escaped
   * character): a chunk without it holds no form, so one search replaces one per form.
   */
  readonly gate?: Buffer;
}

/** A shorter shared prefix would be found in ordinary text too often to save a search. */
const GATE_MIN = 4;

/** The forms of the credential as resolved for this request; empty for an empty secret. */
export function credentialForms(credential: CredentialConfig, secret: string): CredentialForms {
  if (secret === '') return { bytes: [], text: [], longest: 0 };
  const forms = new Set<string>([secret]);
  forms.add(encodeURIComponent(secret));
  forms.add(JSON.stringify(secret).slice(1, -1));
  if (credential.type === 'basic') forms.add(Buffer.from(`${credential.username}:${secret}`, 'utf8').toString('base64'));
  const text = [...forms];
  const bytes = text.map((f) => Buffer.from(f, 'utf8'));
  let longest = 0;
  for (const b of bytes) longest = Math.max(longest, b.length);
  let shared = bytes[0]!.length;
  for (const b of bytes) {
    let i = 0;
    while (i < shared && i < b.length && b[i] === bytes[0]![i]) i++;
    shared = i;
  }
  const gate = bytes.length > 1 && shared >= GATE_MIN ? Buffer.from(bytes[0]!.subarray(0, shared)) : undefined;
  return gate === undefined ? { bytes, text, longest } : { bytes, text, longest, gate };
}

function reflected(): GatehouseError {
  return new GatehouseError('GH_ERR_CREDENTIAL_REFLECTED', 'the upstream response carries the connection\'s brokered credential; it was not passed on');
}

/**
 * Scrubs one response body as it streams, across chunk boundaries: the longest tail of a chunk
 * that could begin a credential is held back until the next chunk (or the end) shows whether it does.
 */
export class CredentialScrubber {
  /** Occurrences found so far. */
  found = 0;
  private carry: Buffer | undefined;
  private readonly forms: readonly Buffer[];

  constructor(
    private readonly spec: CredentialForms,
    private readonly action: ReflectedCredentialAction,
  ) {
    this.forms = spec.bytes;
  }

  /** The bytes safe to pass on now (possibly empty). Throws GH_ERR_CREDENTIAL_REFLECTED in refuse mode. */
  push(chunk: Buffer): Buffer {
    let data = this.carry === undefined ? chunk : Buffer.concat([this.carry, chunk]);
    this.carry = undefined;
    data = this.replace(data);
    const keep = this.heldBack(data);
    if (keep === 0) return data;
    this.carry = Buffer.from(data.subarray(data.length - keep));
    return data.subarray(0, data.length - keep);
  }

  /** What was held back (it cannot hold a whole credential). */
  end(): Buffer {
    const rest = this.carry ?? Buffer.alloc(0);
    this.carry = undefined;
    return rest;
  }

  /** A whole value (a header, a buffered body). */
  scrub(text: string): string {
    // Hot path (every response header): no allocation unless a form is really there.
    let hit = false;
    for (const f of this.spec.text) {
      if (text.includes(f)) {
        hit = true;
        break;
      }
    }
    if (!hit) return text;
    const b = Buffer.from(text, 'utf8');
    const out = this.replace(b);
    return out === b ? text : out.toString('utf8');
  }

  private replace(data: Buffer): Buffer {
    // Per chunk of every streamed response: one native search when the forms share a prefix.
    if (this.spec.gate !== undefined && data.indexOf(this.spec.gate) === -1) return data;
    let copied = false;
    for (const f of this.forms) {
      let at = data.indexOf(f);
      while (at !== -1) {
        this.found++;
        if (this.action === 'refuse') throw reflected();
        if (!copied) {
          data = Buffer.from(data);
          copied = true;
        }
        data.fill(0x2a, at, at + f.length);
        at = data.indexOf(f, at + f.length);
      }
    }
    return data;
  }

  /**
   * The longest suffix of `data` that is a proper prefix of some form. Compared byte by byte in
   * JavaScript: forms are short, and a native `Buffer.compare` per candidate offset (its argument
   * checks and the call) cost more than the comparison itself on every chunk of a stream.
   */
  private heldBack(data: Buffer): number {
    const n = data.length;
    let best = 0;
    for (const f of this.forms) {
      const first = f[0];
      for (let k = Math.min(f.length - 1, n); k > best; k--) {
        const at = n - k;
        if (data[at] !== first) continue;
        let j = 1;
        while (j < k && data[at + j] === f[j]) j++;
        if (j === k) {
          best = k;
          break;
        }
      }
    }
    return Math.min(best, this.spec.longest);
  }
}

/**
 * Response headers with the credential masked (or GH_ERR_CREDENTIAL_REFLECTED); the same object
 * when none carries it (the common case allocates nothing).
 */
export function scrubHeaders(headers: IncomingHttpHeaders, scrubber: CredentialScrubber): IncomingHttpHeaders {
  let out: IncomingHttpHeaders | undefined;
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      const scrubbed = v.map((x) => scrubber.scrub(x));
      if (scrubbed.some((x, i) => x !== v[i])) (out ??= { ...headers })[name] = scrubbed;
    } else {
      const x = scrubber.scrub(v);
      if (x !== v) (out ??= { ...headers })[name] = x;
    }
  }
  return out ?? headers;
}
