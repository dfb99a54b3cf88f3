/**
 * Key layout of the log store. Segments are per gateway instance stream (events of many sessions
 * interleaved), so one durable write covers every concurrent session:
 *
 *   segments/YYYY/MM/DD/<instanceId>/<startTimeCompact>-<segmentSeq>.ndjson.gz
 *   digests/YYYY/MM/DD/<instanceId>/<digestSeq>.json
 *
 * `startTimeCompact` is `YYYYMMDDTHHMMSSmmmZ` (UTC, when the segment was opened), `segmentSeq`
 * a zero-padded per-process counter and `digestSeq` a zero-padded per-instance counter that
 * continues across restarts. Within one instance, lexicographic key order is chronological.
 */
export const SEGMENT_PREFIX = 'segments/';
export const DIGEST_PREFIX = 'digests/';

const INSTANCE_ID = /^[A-Za-z0-9._-]{1,64}$/;
const SEGMENT_KEY = /^segments\/(\d{4})\/(\d{2})\/(\d{2})\/([A-Za-z0-9._-]{1,64})\/(\d{8}T\d{9}Z)-(\d{6,})\.ndjson\.gz$/;
const DIGEST_KEY = /^digests\/(\d{4})\/(\d{2})\/(\d{2})\/([A-Za-z0-9._-]{1,64})\/(\d{10,})\.json$/;

export function isValidInstanceId(id: string): boolean {
  return INSTANCE_ID.test(id);
}

export function compactTime(d: Date): string {
  return d.toISOString().replace(/[-:.]/g, '');
}

function datePath(d: Date): string {
  const iso = d.toISOString();
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}`;
}

export function segmentKey(instanceId: string, start: Date, segmentSeq: number): string {
  return `${SEGMENT_PREFIX}${datePath(start)}/${instanceId}/${compactTime(start)}-${String(segmentSeq).padStart(6, '0')}.ndjson.gz`;
}

export function digestKey(instanceId: string, windowEnd: Date, digestSeq: number): string {
  return `${DIGEST_PREFIX}${datePath(windowEnd)}/${instanceId}/${String(digestSeq).padStart(10, '0')}.json`;
}

export interface ParsedSegmentKey {
  readonly instanceId: string;
  /** `YYYYMMDDTHHMMSSmmmZ`: compares lexicographically like the time it names. */
  readonly startCompact: string;
  readonly segmentSeq: number;
}

export function parseSegmentKey(key: string): ParsedSegmentKey | undefined {
  const m = SEGMENT_KEY.exec(key);
  if (!m) return undefined;
  return { instanceId: m[4]!, startCompact: m[5]!, segmentSeq: Number(m[6]) };
}

export interface ParsedDigestKey {
  readonly instanceId: string;
  readonly digestSeq: number;
}

export function parseDigestKey(key: string): ParsedDigestKey | undefined {
  const m = DIGEST_KEY.exec(key);
  if (!m) return undefined;
  return { instanceId: m[4]!, digestSeq: Number(m[5]) };
}

/** Orders segment keys of one instance chronologically (start time, then sequence). */
export function compareSegmentKeys(a: ParsedSegmentKey & { key: string }, b: ParsedSegmentKey & { key: string }): number {
  if (a.startCompact !== b.startCompact) return a.startCompact < b.startCompact ? -1 : 1;
  if (a.segmentSeq !== b.segmentSeq) return a.segmentSeq - b.segmentSeq;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
