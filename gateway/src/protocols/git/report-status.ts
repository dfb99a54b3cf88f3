import { encodePktLine, FLUSH_PKT, PktLineError, PktLineFramer, pktText } from './pkt-line';
import type { ReceivePackRequest } from './receive-pack';

/**
 * The answer to a push (gitprotocol-pack(5), "Report Status"): `unpack ok`, then `ok <ref>` or
 * `ng <ref> <reason>` per command, then flush; inside side-band channel 1 when the client asked
 * for side-band. The real client prints an `ng` as `! [remote rejected] <src> -> <ref> (<reason>)`.
 */
export type RefStatus = { readonly ref: string; readonly ok: true } | { readonly ref: string; readonly ok: false; readonly reason: string };

export interface PushReport {
  /** `ok`, or why the pack could not be unpacked. */
  readonly unpack: string;
  readonly refs: readonly RefStatus[];
}

/** What Git's own receive-pack answers for the refs an atomic push did not get to update. */
export const ATOMIC_FAILURE = 'atomic push failure';

/**
 * The report for a push the gateway refuses in part or whole, before anything is forwarded:
 * each denied ref with its reason; under `atomic`, every other ref fails too (as Git's own
 * receive-pack reports it). Refs not denied in a non-atomic push are `ok` only in the sense that
 * the gateway let them through: the caller merges the upstream's own report for those.
 */
export function refusalReport(request: ReceivePackRequest, denied: ReadonlyMap<string, string>): PushReport {
  const anyDenied = request.commands.some((c) => denied.has(c.ref));
  return {
    unpack: 'ok',
    refs: request.commands.map((c): RefStatus => {
      const reason = denied.get(c.ref);
      if (reason !== undefined) return { ref: c.ref, ok: false, reason: oneLine(reason) };
      return request.atomic && anyDenied ? { ref: c.ref, ok: false, reason: ATOMIC_FAILURE } : { ref: c.ref, ok: true };
    }),
  };
}

/** The report's bytes as the client negotiated them (report-status, side-band or not). */
export function encodeReport(report: PushReport, sideBand: ReceivePackRequest['sideBand']): Buffer {
  const lines = [encodePktLine(`unpack ${oneLine(report.unpack)}\n`)];
  for (const r of report.refs) lines.push(encodePktLine(r.ok ? `ok ${r.ref}\n` : `ng ${r.ref} ${oneLine(r.reason)}\n`));
  lines.push(FLUSH_PKT);
  const inner = Buffer.concat(lines);
  if (sideBand === 'none') return inner;
  // band 1 carries the report; each band packet holds at most 65515 (side-band-64k) or 999 bytes
  const max = sideBand === 'side-band-64k' ? 65515 : 999;
  const out: Buffer[] = [];
  for (let i = 0; i < inner.length; i += max) out.push(encodePktLine(Buffer.concat([Buffer.from([1]), inner.subarray(i, i + max)])));
  out.push(FLUSH_PKT);
  return Buffer.concat(out);
}

/** Reads a report (an upstream's), unwrapping side-band; progress (band 2) is skipped; undefined when malformed. */
export function decodeReport(bytes: Buffer, sideBand: ReceivePackRequest['sideBand']): PushReport | undefined {
  let inner = bytes;
  try {
    if (sideBand !== 'none') {
      const f = new PktLineFramer();
      f.feed(bytes);
      const parts: Buffer[] = [];
      for (let p = f.read(); p !== undefined && p.type === 'data'; p = f.read()) {
        if (p.payload[0] === 1) parts.push(p.payload.subarray(1));
        else if (p.payload[0] === 3) return undefined; // band 3: a fatal error instead of a report
      }
      inner = Buffer.concat(parts);
    }
    const f = new PktLineFramer();
    f.feed(inner);
    const first = f.read();
    if (first?.type !== 'data') return undefined;
    const head = pktText(first.payload);
    if (!head.startsWith('unpack ')) return undefined;
    const refs: RefStatus[] = [];
    for (let p = f.read(); p !== undefined; p = f.read()) {
      if (p.type === 'flush') return { unpack: head.slice(7), refs };
      if (p.type !== 'data') return undefined;
      const line = pktText(p.payload);
      if (line.startsWith('ok ')) refs.push({ ref: line.slice(3), ok: true });
      else if (line.startsWith('ng ')) {
        const sp = line.indexOf(' ', 3);
        refs.push(sp < 0 ? { ref: line.slice(3), ok: false, reason: 'failed' } : { ref: line.slice(3, sp), ok: false, reason: line.slice(sp + 1) });
      } else if (!line.startsWith('option ')) return undefined; // report-status-v2 option lines describe the ok before them
    }
    return undefined;
  } catch (e) {
    if (e instanceof PktLineError) return undefined;
    throw e;
  }
}

/** A reason on one line without control characters: the report is line-based. */
function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  return t === '' ? 'refused' : t.slice(0, 900);
}
