import { DELIM_PKT, encodePktLine, FLUSH_PKT, PktLineError, PktLineFramer, pktText, type PktLine } from './pkt-line';
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

/** Most report bytes held while merging (10000 refs of ~300 bytes, with room). */
const MAX_MERGED_REPORT_BYTES = 8 * 1024 * 1024;

/**
 * Merges the refs the gateway refused into the upstream's report of a push forwarded in part (a
 * non-atomic push without its refused commands): their `ng <ref> <reason>` lines go in before the
 * report's flush, so the client hears about every ref it sent (git matches report lines by name;
 * a ref left out would print "remote did not report status"). Streams: side-band progress (band
 * 2) and errors (band 3) pass at once; only the report itself (band 1, or the bare pkt-lines) is
 * held until its flush, then everything passes. Bytes it cannot read as a report pass unchanged:
 * the refused refs then get no line, which the client reports as a failure too.
 */
export class ReportMerger {
  /** Side-band packets. */
  private readonly outer = new PktLineFramer();
  /** Report packets (band 1's content under side-band). */
  private readonly inner = new PktLineFramer();
  /** The report's packets read so far, as they came. */
  private readonly held: Buffer[] = [];
  private heldBytes = 0;
  private passing = false;
  private readonly lines: Buffer;

  constructor(
    private readonly sideBand: ReceivePackRequest['sideBand'],
    refused: readonly { readonly ref: string; readonly reason: string }[],
  ) {
    this.lines = Buffer.concat(refused.map((r) => encodePktLine(`ng ${r.ref} ${oneLine(r.reason)}\n`)));
  }

  push(chunk: Buffer): Buffer {
    if (this.passing) return chunk;
    return this.sideBand === 'none' ? this.pushReport(chunk) : this.pushBands(chunk);
  }

  end(): Buffer {
    if (this.passing) return Buffer.alloc(0);
    // The report never ended: what was held goes out as it came.
    this.passing = true;
    return Buffer.concat([this.heldRaw(), this.sideBand === 'none' ? Buffer.alloc(0) : this.outer.rest()]);
  }

  private pushReport(chunk: Buffer): Buffer {
    this.inner.feed(chunk);
    const merged = this.readReport();
    if (merged === 'more') return Buffer.alloc(0);
    this.passing = true;
    return merged === 'invalid' ? this.heldRaw() : Buffer.concat([merged, this.inner.rest()]);
  }

  private pushBands(chunk: Buffer): Buffer {
    this.outer.feed(chunk);
    const out: Buffer[] = [];
    for (;;) {
      let p: PktLine | undefined;
      try {
        p = this.outer.read();
      } catch (e) {
        if (!(e instanceof PktLineError)) throw e;
        p = undefined;
        this.passing = true;
      }
      if (this.passing || (p !== undefined && (p.type !== 'data' || p.payload.length === 0))) {
        // Bad framing, or the stream ended (flush) before the report did: the rest as it came.
        this.passing = true;
        out.push(this.heldRaw(), p === undefined ? Buffer.alloc(0) : rawOf(p), this.outer.rest());
        return Buffer.concat(out);
      }
      if (p === undefined) return Buffer.concat(out);
      if (p.type !== 'data') continue; // (narrowing: handled above)
      if (p.payload[0] !== 1) {
        out.push(rawOf(p));
        continue;
      }
      this.inner.feed(p.payload.subarray(1));
      const merged = this.readReport();
      if (merged === 'more') continue;
      this.passing = true;
      out.push(merged === 'invalid' ? this.heldRaw() : this.band1(Buffer.concat([merged, this.inner.rest()])), this.outer.rest());
      return Buffer.concat(out);
    }
  }

  /** Reads report packets: at its flush, the report with the refused refs' lines before it. */
  private readReport(): Buffer | 'more' | 'invalid' {
    for (;;) {
      let p: PktLine | undefined;
      try {
        p = this.inner.read();
      } catch (e) {
        if (!(e instanceof PktLineError)) throw e;
        return 'invalid';
      }
      if (p === undefined) return 'more';
      if (p.type === 'flush' && this.held.length > 0) return Buffer.concat([...this.held, this.lines, FLUSH_PKT]);
      const raw = rawOf(p);
      this.held.push(raw);
      this.heldBytes += raw.length;
      if (p.type !== 'data' || (this.held.length === 1 && !pktText(p.payload).startsWith('unpack ')) || this.heldBytes > MAX_MERGED_REPORT_BYTES) return 'invalid';
    }
  }

  /** What was held and not yet read, as it came (under side-band, in band 1). */
  private heldRaw(): Buffer {
    const inner = Buffer.concat([...this.held, this.inner.rest()]);
    this.held.length = 0;
    return this.sideBand === 'none' || inner.length === 0 ? inner : this.band1(inner);
  }

  private band1(bytes: Buffer): Buffer {
    const max = this.sideBand === 'side-band-64k' ? 65515 : 999;
    const out: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += max) out.push(encodePktLine(Buffer.concat([Buffer.from([1]), bytes.subarray(i, i + max)])));
    return Buffer.concat(out);
  }
}

function rawOf(p: PktLine): Buffer {
  switch (p.type) {
    case 'data':
      return encodePktLine(p.payload);
    case 'flush':
      return FLUSH_PKT;
    case 'delim':
      return DELIM_PKT;
    case 'response-end':
      return Buffer.from('0002', 'latin1');
  }
}
