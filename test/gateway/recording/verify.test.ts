import { createHash } from 'node:crypto';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { canonicalEventLine, eventHash, storedLine } from '../../../gateway/src/recording/chain';
import { parseDigest, signDigest } from '../../../gateway/src/recording/digest';
import { GatehouseRecorder } from '../../../gateway/src/recording/recorder';
import { Ed25519Signer, generateDevSigningKey } from '../../../gateway/src/recording/signer';
import { FsLogSink } from '../../../gateway/src/recording/sinks/fs/fs-sink';
import { formatVerifyResult, verifyLog } from '../../../gateway/src/recording/verify';
import { makeTempDir, PRINCIPAL, recorderOptions, steppingClock, TEST_KEY, synthetic } from '../../support/recording-helpers';

const TRUST = { trustedKeys: [TEST_KEY.publicKeyPem] };
/** The crashed run's tail is unattested: only an explicit allowance lets it through as warnings. */
const TAIL = { ...TRUST, allowUnsealedTail: true };

function start(id: string) {
  return { sessionId: id, protocol: 'http', principal: PRINCIPAL, connection: 'api', client: { address: '127.0.0.1' } };
}

interface BuiltLog {
  sink: FsLogSink;
  /** Digested segments, oldest first. */
  segments: string[];
  digests: string[];
  /** Segments written after the last digest (a crashed run). */
  tail: string[];
}

/**
 * Three digests over three segments (sessions s1, s2), then a crashed run that wrote a tail
 * segment (session s3) and never digested it.
 */
async function buildLog(dir: string): Promise<BuiltLog> {
  const { clock, advance } = steppingClock();
  const sink = new FsLogSink(dir);
  const rec = new GatehouseRecorder(recorderOptions(sink, { clock }));
  const s1 = await rec.openSession(start('s1'));
  const s2 = await rec.openSession(start('s2'));
  for (let i = 0; i < 3; i++) {
    await s1.append('http.request', synthetic({ i, path: `/a/${i}` }), { durable: true, requestId: `r1-${i}` });
    await s2.append('http.request', synthetic({ i, path: `/b/${i}` }), { durable: true, requestId: `r2-${i}` });
  }
  await rec.digestNow();
  advance(1000);
  await s1.append('http.response', synthetic({ status: 200 }), { durable: true });
  await s2.append('http.response', synthetic({ status: 404 }), { durable: true });
  await s1.end({ reason: 'client' });
  await rec.digestNow();
  advance(1000);
  await s2.append('http.request', synthetic({ i: 9 }), { durable: true });
  await rec.close();
  const segments = await sink.list('segments/');
  const digests = await sink.list('digests/');
  advance(1000);
  const crashedSink = new FsLogSink(dir);
  const crashed = new GatehouseRecorder(recorderOptions(crashedSink, { clock }));
  const s3 = await crashed.openSession(start('s3'));
  for (let i = 0; i < 4; i++) await s3.append('http.request', synthetic({ i }), { durable: true });
  await crashedSink.close();
  const tail = (await sink.list('segments/')).filter((k) => !segments.includes(k));
  return { sink, segments, digests, tail };
}

async function rewrite(dir: string, key: string, bytes: Buffer | string): Promise<void> {
  const file = join(dir, key);
  await chmod(file, 0o644);
  await writeFile(file, bytes);
}

async function editLines(dir: string, key: string, edit: (lines: string[]) => string[]): Promise<void> {
  const lines = gunzipSync(await readFile(join(dir, key))).toString().split('\n').filter(Boolean);
  await rewrite(dir, key, gzipSync(edit(lines).map((l) => l + '\n').join('')));
}

describe('verifyLog', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let log: BuiltLog;
  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir());
    log = await buildLog(dir);
  });
  afterEach(async () => cleanup());

  it('passes a clean log, and says plainly what the crashed tail means', async () => {
    expect(log.segments).toHaveLength(3);
    expect(log.digests).toHaveLength(3);
    expect(log.tail).toHaveLength(1);
    const strict = await verifyLog(log.sink, TRUST);
    expect(strict.ok).toBe(false);
    expect(strict.firstFailure).toMatchObject({ code: 'UNDIGESTED_TAIL', key: log.tail[0] });
    const r = await verifyLog(log.sink, TAIL);
    expect(r.firstFailure).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => [w.code, w.key])).toEqual([
      ['UNDIGESTED_TAIL', log.tail[0]],
      ['LOG_NOT_SEALED', undefined],
    ]);
    expect(r.stats).toMatchObject({ instances: 1, digests: 3, segments: 4, segmentsUndigested: 1, sessions: 3, sessionsOpen: 1 });
    expect(r.instances).toEqual([expect.objectContaining({ digests: 3, sealed: false, segmentsUndigested: 1 })]);
    expect(formatVerifyResult(r)).toMatch(/^OK: log verified[\s\S]*NOT attested[\s\S]*does NOT end sealed[\s\S]*WARNING UNDIGESTED_TAIL/);
  });

  it('passes without allowances once the tail is gone and the log ends with its sealing digest', async () => {
    await rm(join(dir, log.tail[0]!));
    const r = await verifyLog(log.sink, TRUST);
    expect(r.firstFailure).toBeUndefined();
    expect(r.instances).toEqual([expect.objectContaining({ digests: 3, sealed: true })]);
    expect(formatVerifyResult(r)).toMatch(/every instance ends sealed[\s\S]*attested from .* to .*, ends sealed/);
  });

  it('without trusted keys, passes with a warning that origin is not proven', async () => {
    const r = await verifyLog(log.sink, { allowUnsealedTail: true });
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => w.code)).toContain('KEYS_NOT_TRUSTED');
  });

  it('names a flipped byte in a segment', async () => {
    const key = log.segments[1]!;
    const bytes = await readFile(join(dir, key));
    bytes[bytes.length >> 1]! ^= 0x01;
    await rewrite(dir, key, bytes);
    const r = await verifyLog(log.sink, TRUST);
    expect(r.ok).toBe(false);
    expect(r.firstFailure).toMatchObject({ code: 'SEGMENT_HASH_MISMATCH', kind: 'segment', key });
  });

  it('names a removed event: by segment hash when digested, by the chain in the tail', async () => {
    await editLines(dir, log.segments[0]!, (lines) => lines.filter((_, i) => i !== 3));
    expect((await verifyLog(log.sink, TRUST)).firstFailure).toMatchObject({ code: 'SEGMENT_HASH_MISMATCH', key: log.segments[0] });
  });

  it('names a removed event in the undigested tail by its seq gap', async () => {
    await editLines(dir, log.tail[0]!, (lines) => lines.filter((_, i) => i !== 2));
    const r = await verifyLog(log.sink, TAIL);
    expect(r.firstFailure).toMatchObject({ code: 'EVENT_SEQ_GAP', kind: 'session', session: 's3', seq: 3, key: log.tail[0] });
  });

  it('names reordered events', async () => {
    await editLines(dir, log.tail[0]!, (lines) => [lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)]);
    expect((await verifyLog(log.sink, TAIL)).firstFailure).toMatchObject({ code: 'EVENT_SEQ_GAP', session: 's3', seq: 2 });
    await editLines(dir, log.segments[2]!, (lines) => [...lines].reverse());
    expect((await verifyLog(log.sink, TRUST)).firstFailure).toMatchObject({ code: 'SEGMENT_HASH_MISMATCH', key: log.segments[2] });
  });

  it('names an edited event whose line still parses', async () => {
    await editLines(dir, log.tail[0]!, (lines) => lines.map((l, i) => (i === 1 ? l.replace('"i":0', '"i":7') : l)));
    expect((await verifyLog(log.sink, TAIL)).firstFailure).toMatchObject({ code: 'EVENT_HASH_MISMATCH', kind: 'event', session: 's3', seq: 1 });
  });

  it('names a deleted segment', async () => {
    await rm(join(dir, log.segments[1]!));
    expect((await verifyLog(log.sink, TRUST)).firstFailure).toMatchObject({ code: 'SEGMENT_MISSING', kind: 'segment', key: log.segments[1] });
  });

  it('names a segment replaced by a self-consistent forgery', async () => {
    // Rewrite the first segment's s2 request paths and re-chain every s2 event correctly.
    const key = log.segments[0]!;
    const prevBySession = new Map<string, string>();
    await editLines(dir, key, (lines) =>
      lines.map((line) => {
        const e = JSON.parse(line) as Record<string, unknown>;
        const { hash: _h, ...rest } = e;
        const payload = rest.payload as Record<string, unknown>;
        if (typeof payload.path === 'string') payload.path = payload.path.replace('/b/', '/evil/');
        const session = rest.session as string;
        if (prevBySession.has(session)) rest.prev = prevBySession.get(session);
        const hash = eventHash(rest);
        prevBySession.set(session, hash);
        return storedLine(canonicalEventLine(rest), hash).trimEnd();
      }),
    );
    const r = await verifyLog(log.sink, TRUST);
    expect(r.firstFailure).toMatchObject({ code: 'SEGMENT_HASH_MISMATCH', key });
  });

  it('names a digest deleted from the middle of the chain', async () => {
    await rm(join(dir, log.digests[1]!));
    const r = await verifyLog(log.sink, TRUST);
    expect(r.firstFailure).toMatchObject({ code: 'DIGEST_SEQ_GAP', kind: 'digest', key: log.digests[2] });
    expect(r.firstFailure!.message).toMatch(/seq 1 is missing/);
  });

  it('names an edited digest (signature) and one re-signed with another key (untrusted, and chain in dev mode)', async () => {
    const key = log.digests[1]!;
    const original = await readFile(join(dir, key));
    const d = parseDigest(original);
    // Drop a segment from the digest and keep the old signature.
    const edited = { ...d, segments: d.segments.slice(1) };
    await rewrite(dir, key, JSON.stringify(edited));
    expect((await verifyLog(log.sink, TRUST)).firstFailure).toMatchObject({ code: 'DIGEST_SIGNATURE_INVALID', key });

    // Re-sign the same edit with the attacker's own key.
    const attacker = new Ed25519Signer(generateDevSigningKey().privateKeyPem);
    const { version: _v, keyId: _k, publicKey: _p, signature: _s, ...body } = edited;
    const forged = await signDigest(body, attacker);
    await rewrite(dir, key, forged.bytes);
    expect((await verifyLog(log.sink, TRUST)).firstFailure).toMatchObject({ code: 'DIGEST_KEY_UNTRUSTED', kind: 'digest', key });
    // Without trusted keys the forgery still breaks the digest chain at the next digest.
    const dev = await verifyLog(log.sink);
    expect(dev.firstFailure).toMatchObject({ code: 'DIGEST_CHAIN_BROKEN', key: log.digests[2] });
    expect(dev.warnings.map((w) => w.code)).toContain('KEY_CHANGED');
  });

  it('names a segment slipped in before the last digest', async () => {
    const key = log.segments[0]!.replace(/-(\d{6})\.ndjson\.gz$/, '-999999.ndjson.gz');
    await writeFile(join(dir, key), await readFile(join(dir, log.tail[0]!)));
    expect((await verifyLog(log.sink, TRUST)).firstFailure).toMatchObject({ code: 'SEGMENT_UNDIGESTED', key });
  });

  it('names a truncated digested segment as corrupt or mismatched, never as a pass', async () => {
    const key = log.segments[2]!;
    const bytes = await readFile(join(dir, key));
    await rewrite(dir, key, bytes.subarray(0, bytes.length - 10));
    const r = await verifyLog(log.sink, TRUST);
    expect(r.ok).toBe(false);
    expect(r.firstFailure).toMatchObject({ code: 'SEGMENT_HASH_MISMATCH', key });
  });
});

describe('verifyLog on digests signed by the trusted key', () => {
  it('names a segment listed twice', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const log = await buildLog(dir);
      const key = log.digests[2]!;
      const d = parseDigest(await readFile(join(dir, key)));
      const { version: _v, keyId: _k, publicKey: _p, signature: _s, ...body } = d;
      const first = parseDigest(await readFile(join(dir, log.digests[0]!))).segments[0]!;
      const resigned = await signDigest({ ...body, segments: [...body.segments, first] }, new Ed25519Signer(TEST_KEY.privateKeyPem));
      await rewrite(dir, key, resigned.bytes);
      expect((await verifyLog(log.sink, TRUST)).firstFailure).toMatchObject({ code: 'SEGMENT_DUPLICATE', key: first.key });
    } finally {
      await cleanup();
    }
  });
});

describe('verifyLog edge cases', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
  afterEach(async () => cleanup());

  it('fails on an empty store: nothing was verified', async () => {
    const r = await verifyLog(new FsLogSink(dir), TAIL);
    expect(r.ok).toBe(false);
    expect(r.firstFailure).toMatchObject({ code: 'EMPTY_LOG' });
  });

  it('tolerates a torn final write in the undigested tail, with a warning', async () => {
    const log = await buildLog(dir);
    const file = join(dir, log.tail[0]!);
    // A crash in the middle of the last append: its gzip member is cut short.
    const bytes = await readFile(file);
    await chmod(file, 0o644);
    await writeFile(file, bytes.subarray(0, bytes.length - 20));
    const r = await verifyLog(log.sink, TAIL);
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => w.code)).toEqual(['UNDIGESTED_TAIL', 'TORN_TAIL', 'LOG_NOT_SEALED']);
    // 18 events were written; the cut one is not counted.
    expect(r.stats.events).toBe(17);
  });

  it('names a digested segment that does not decompress even though its hash matches', async () => {
    const sink = new FsLogSink(dir);
    const key = 'segments/2026/01/15/gw-x/20260115T100000000Z-000000.ndjson.gz';
    const garbage = Buffer.from('not gzip at all');
    await sink.put(key, garbage);
    const { bytes } = await signDigest(
      {
        instanceId: 'gw-x',
        digestSeq: 0,
        runId: 'r',
        windowStart: '2026-01-15T10:00:00.000Z',
        windowEnd: '2026-01-15T10:05:00.000Z',
        previous: null,
        segments: [{ key, sha256: createHash('sha256').update(garbage).digest('hex'), bytes: garbage.length, sessions: [] }],
      },
      new Ed25519Signer(TEST_KEY.privateKeyPem),
    );
    await sink.put('digests/2026/01/15/gw-x/0000000000.json', bytes);
    expect((await verifyLog(sink, TRUST)).firstFailure).toMatchObject({ code: 'SEGMENT_CORRUPT', key });
  });

  it('names a missing first digest', async () => {
    const log = await buildLog(dir);
    await rm(join(dir, log.digests[0]!));
    expect((await verifyLog(log.sink, TRUST)).firstFailure).toMatchObject({ code: 'DIGEST_SEQ_GAP', key: log.digests[1] });
  });
});
