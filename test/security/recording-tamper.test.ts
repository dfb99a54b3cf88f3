import { chmod, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { verifyCommand } from '../../gateway/src/cli/commands/verify';
import { canonicalEventLine, genesisHash, sha256Hex, storedLine } from '../../gateway/src/recording/chain';
import { signDigest } from '../../gateway/src/recording/digest';
import { segmentKey, digestKey } from '../../gateway/src/recording/layout';
import { GatehouseRecorder } from '../../gateway/src/recording/recorder';
import { Ed25519Signer, generateDevSigningKey } from '../../gateway/src/recording/signer';
import { FsLogSink } from '../../gateway/src/recording/sinks/fs/fs-sink';
import { StateRecordingWitness } from '../../gateway/src/state/recording-witness';
import { createStateStore, type StateStore } from '../../gateway/src/state/store';
import { makeTempDir, PRINCIPAL, recorderOptions, steppingClock, synthetic, TEST_KEY } from '../support/recording-helpers';

/**
 * Attacks on a real log written by the recorder (fs sink, state-database witness in an embedded
 * PGlite directory), judged by `gatehouse verify` as an auditor runs it. Each attack passed
 * (exit 0) before verify required completeness; tampering with an event was already caught and
 * stays caught.
 */
interface Log {
  root: string;
  logDir: string;
  stateDir: string;
  keyFile: string;
  sink: FsLogSink;
  /** Per run: the digests and segments it wrote. */
  runs: Array<{ digests: string[]; segments: string[] }>;
}

function start(id: string) {
  return { sessionId: id, protocol: 'http', principal: PRINCIPAL, connection: 'api', client: { address: '127.0.0.1' } };
}

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await verifyCommand(args, { out: (l) => out.push(l), err: (l) => out.push(l) });
  return { code, out: out.join('\n') };
}

/** Two clean runs of one instance; each seals the log at shutdown. */
async function buildLog(root: string): Promise<Log> {
  const logDir = join(root, 'log');
  const stateDir = join(root, 'state');
  const keyFile = join(root, 'trusted.pem');
  await writeFile(keyFile, TEST_KEY.publicKeyPem);
  const store = createStateStore({ embeddedPath: stateDir });
  const witness = new StateRecordingWitness(store);
  const { clock, advance } = steppingClock();
  const sink = new FsLogSink(logDir);
  const runs: Log['runs'] = [];
  try {
    for (let r = 0; r < 2; r++) {
      const before = { digests: await sink.list('digests/'), segments: await sink.list('segments/') };
      const rec = new GatehouseRecorder(recorderOptions(new FsLogSink(logDir), { clock, witness }));
      const a = await rec.openSession(start(`run${r}-a`));
      await a.append('http.request', synthetic({ path: '/a' }), { durable: true });
      await rec.digestNow();
      advance(1000);
      const b = await rec.openSession(start(`run${r}-b`));
      await b.append('http.request', synthetic({ path: '/b' }), { durable: true });
      await a.end({ reason: 'client' });
      await rec.close();
      advance(1000);
      runs.push({
        digests: (await sink.list('digests/')).filter((k) => !before.digests.includes(k)),
        segments: (await sink.list('segments/')).filter((k) => !before.segments.includes(k)),
      });
    }
  } finally {
    await store.close();
  }
  return { root, logDir, stateDir, keyFile, sink, runs };
}

async function remove(log: Log, keys: readonly string[]): Promise<void> {
  for (const k of keys) await rm(join(log.logDir, k));
}

describe('gatehouse verify on a tampered, truncated or padded log', () => {
  let template: Log;
  let templateCleanup: () => Promise<void>;
  let log: Log;
  let cleanup: () => Promise<void>;
  // One real log (PGlite on disk is slow to open), copied for each attack.
  beforeAll(async () => {
    const t = await makeTempDir('gh-sec-rec-');
    templateCleanup = t.cleanup;
    template = await buildLog(t.dir);
  }, 120_000);
  afterAll(async () => templateCleanup());
  beforeEach(async () => {
    const t = await makeTempDir('gh-sec-rec-');
    cleanup = t.cleanup;
    await cp(template.root, t.dir, { recursive: true });
    const at = (p: string) => join(t.dir, relative(template.root, p));
    log = { ...template, root: t.dir, logDir: at(template.logDir), stateDir: at(template.stateDir), keyFile: at(template.keyFile), sink: new FsLogSink(at(template.logDir)) };
  });
  afterEach(async () => cleanup());

  it('passes the intact log, and says what it proved and that it ends sealed', async () => {
    const r = await run([log.logDir, '--trust-key', log.keyFile, '--witness', log.stateDir]);
    expect(r.out).toMatch(/^OK: log verified/);
    expect(r.out).toMatch(/every event found is covered by a valid signed digest/);
    expect(r.out).toMatch(/instance gw-test-1: 4 digests, attested from 2026-01-15T10:00:00\.\d{3}Z to .*, ends sealed/);
    expect(r.code).toBe(0);
  });

  it('fails on an edited event', async () => {
    const key = log.runs[0]!.segments[0]!;
    const file = join(log.logDir, key);
    const text = gunzipSync(await readFile(file)).toString().replace('"path":"/a"', '"path":"/x"');
    await chmod(file, 0o644);
    await writeFile(file, gzipSync(text));
    const r = await run([log.logDir, '--trust-key', log.keyFile]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAILED: SEGMENT_HASH_MISMATCH/);
  });

  it('fails when every digest was deleted, even with a trusted key', async () => {
    await remove(log, [...log.runs[0]!.digests, ...log.runs[1]!.digests]);
    const r = await run([log.logDir, '--trust-key', log.keyFile]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAILED: UNDIGESTED_TAIL/);
  });

  it('fails on a rollback (newest digests and their segments removed): without a witness the log no longer ends sealed', async () => {
    // The second run's last digest (its seal) and the segment only it lists.
    const sealing = log.runs[1]!.digests[log.runs[1]!.digests.length - 1]!;
    const lastSegment = log.runs[1]!.segments[log.runs[1]!.segments.length - 1]!;
    await remove(log, [sealing, lastSegment]);
    const r = await run([log.logDir, '--trust-key', log.keyFile]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAILED: LOG_NOT_SEALED/);
  });

  it('fails on a rollback to an earlier seal only the witness remembers, and on a truncation allowed as a tail', async () => {
    // Everything of the second run removed: the first run's seal is intact, so only the witness can tell.
    await remove(log, [...log.runs[1]!.digests, ...log.runs[1]!.segments]);
    expect((await run([log.logDir, '--trust-key', log.keyFile])).code).toBe(0);
    const r = await run([log.logDir, '--trust-key', log.keyFile, '--witness', log.stateDir]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAILED: WITNESS_ROLLBACK[\s\S]*witness holds digest seq 3, the log ends at seq 1/);
    const tail = await run([log.logDir, '--trust-key', log.keyFile, '--witness', log.stateDir, '--allow-unsealed-tail']);
    expect(tail.code).toBe(1);
    expect(tail.out).toMatch(/WITNESS_ROLLBACK/);
  });

  it('fails on a self-consistent fabricated session appended to the instance', async () => {
    const session = 'fabricated';
    let prev = genesisHash(session);
    const lines: string[] = [];
    for (const [seq, type] of ['session.start', 'http.request', 'session.end'].entries()) {
      const canonical = canonicalEventLine({ seq, type, code: 'GH1000I', time: '2026-01-15T11:00:00.000Z', session, payload: {}, prev });
      prev = sha256Hex(canonical);
      lines.push(storedLine(canonical, prev));
    }
    await log.sink.put(segmentKey('gw-test-1', new Date(Date.UTC(2026, 0, 15, 11)), 0), gzipSync(lines.join('')));
    const r = await run([log.logDir, '--trust-key', log.keyFile]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAILED: UNDIGESTED_TAIL/);
  });

  it('fails on a fabricated instance signed with its own key: by key with --trust-key, by the witness without', async () => {
    const forger = new Ed25519Signer(generateDevSigningKey().privateKeyPem);
    const session = 'forged';
    const canonical = canonicalEventLine({ seq: 0, type: 'session.start', code: 'GH1000I', time: '2026-01-15T11:00:00.000Z', session, payload: {}, prev: genesisHash(session) });
    const gz = gzipSync(storedLine(canonical, sha256Hex(canonical)));
    const when = new Date(Date.UTC(2026, 0, 15, 11));
    const key = segmentKey('gw-forged', when, 0);
    await log.sink.put(key, gz);
    const { bytes } = await signDigest(
      {
        instanceId: 'gw-forged',
        digestSeq: 0,
        runId: 'r',
        windowStart: when.toISOString(),
        windowEnd: new Date(when.getTime() + 1000).toISOString(),
        previous: null,
        segments: [{ key, sha256: sha256Hex(gz), bytes: gz.length, sessions: [{ session, firstSeq: 0, lastSeq: 0, lastHash: sha256Hex(canonical) }] }],
        final: true,
      },
      forger,
    );
    await log.sink.put(digestKey('gw-forged', when, 0), bytes);
    expect((await run([log.logDir, '--trust-key', log.keyFile])).out).toMatch(/FAILED: DIGEST_KEY_UNTRUSTED/);
    const r = await run([log.logDir, '--witness', log.stateDir]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAILED: WITNESS_UNKNOWN_INSTANCE/);
  });

  it('fails on an empty directory', async () => {
    const empty = join(log.root, 'empty');
    await mkdir(empty);
    const r = await run([empty]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAILED: EMPTY_LOG/);
  });
});

describe('crash recovery never signs a segment planted in the instance directory', () => {
  let cleanup: () => Promise<void>;
  let root: string;
  let store: StateStore;
  beforeEach(async () => {
    ({ dir: root, cleanup } = await makeTempDir('gh-sec-plant-'));
    store = createStateStore({ embeddedPath: 'memory' });
  });
  afterEach(async () => {
    await store.close();
    await cleanup();
  });

  it('adopts the crashed run\'s own segment, rejects the planted one, records both, and verify names the plant', async () => {
    const logDir = join(root, 'log');
    const witness = new StateRecordingWitness(store);
    const { clock, advance } = steppingClock();
    // Run 1 crashes with one session open (its segment is registered, never digested).
    const crashedSink = new FsLogSink(logDir);
    const crashed = new GatehouseRecorder(recorderOptions(crashedSink, { clock, witness }));
    await (await crashed.openSession(start('real'))).append('http.request', synthetic({ path: '/real' }), { durable: true });
    await crashedSink.close();
    const own = (await crashedSink.list('segments/'))[0]!;
    // Someone with write access to the log store plants a self-consistent session.
    const session = 'planted';
    const canonical = canonicalEventLine({ seq: 0, type: 'session.start', code: 'GH1000I', time: '2026-01-15T10:00:00.500Z', session, payload: {}, prev: genesisHash(session) });
    const planted = segmentKey('gw-test-1', new Date(Date.UTC(2026, 0, 15, 10, 0, 0, 500)), 7);
    await crashedSink.put(planted, gzipSync(storedLine(canonical, sha256Hex(canonical))));
    advance(1000);

    const sink = new FsLogSink(logDir);
    const rec = new GatehouseRecorder(recorderOptions(sink, { clock, witness }));
    await rec.close();

    const digests = (await Promise.all((await sink.list('digests/')).map(async (k) => JSON.parse((await sink.get(k))!.toString()) as { segments: Array<{ key: string; recovered?: boolean }> }))).flatMap((d) => d.segments);
    expect(digests.filter((s) => s.recovered).map((s) => s.key)).toEqual([own]);
    expect(digests.map((s) => s.key)).not.toContain(planted);
    const events = (await sink.list('segments/')).flatMap((k) => k === planted || k === own ? [] : [k]);
    const recoveryLines = gunzipSync((await sink.get(events[0]!))!).toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
    expect(recoveryLines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ session: 'real', type: 'session.end', payload: expect.objectContaining({ reason: 'crashed' }) }),
        expect.objectContaining({
          type: 'recording.recovered',
          payload: expect.objectContaining({ adopted: [expect.objectContaining({ key: own })], rejected: [expect.objectContaining({ key: planted })], closedSessions: ['real'] }),
        }),
      ]),
    );
    const keyFile = join(root, 'trusted.pem');
    await writeFile(keyFile, TEST_KEY.publicKeyPem);
    const r = await run([logDir, '--trust-key', keyFile]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`FAILED: SEGMENT_UNDIGESTED`);
    expect(r.out).toContain(planted);
    // Once the plant is removed, what remains is proven complete and sealed.
    await rm(join(logDir, planted));
    expect((await run([logDir, '--trust-key', keyFile])).code).toBe(0);
  });
});
