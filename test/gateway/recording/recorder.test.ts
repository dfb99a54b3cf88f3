import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { jest } from '@jest/globals';
import { GatehouseRecorder } from '../../../gateway/src/recording/recorder';
import type { SegmentSealed } from '../../../gateway/src/recording/recorder-types';
import { FsLogSink } from '../../../gateway/src/recording/sinks/fs/fs-sink';
import { verifyLog } from '../../../gateway/src/recording/verify';
import { parseDigest } from '../../../gateway/src/recording/digest';
import { segmentKey } from '../../../gateway/src/recording/layout';
import { readSessionEvents } from '../../../gateway/src/recording/reader';
import { FileWitness } from '../../../gateway/src/recording/witness';
import { GatedSink, InstrumentedSink, makeTempDir, PRINCIPAL, recorderOptions, steppingClock, TEST_KEY, until, synthetic } from '../../support/recording-helpers';

async function eventsOnDisk(dir: string, sink: FsLogSink): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for (const key of await sink.list('segments/')) {
    const text = gunzipSync(await readFile(join(dir, key))).toString();
    for (const line of text.split('\n')) if (line) out.push(JSON.parse(line) as Record<string, unknown>);
  }
  return out;
}

function start(id: string) {
  return { sessionId: id, protocol: 'http', principal: PRINCIPAL, connection: 'api', client: { address: '127.0.0.1' } };
}

describe('GatehouseRecorder', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const recorders: GatehouseRecorder[] = [];
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
  afterEach(async () => {
    jest.useRealTimers();
    for (const r of recorders.splice(0)) await r.close().catch(() => undefined);
    await cleanup();
  });
  const track = (r: GatehouseRecorder) => (recorders.push(r), r);

  it('strict: a durable append resolves only after its event is on disk', async () => {
    const fs = new FsLogSink(dir);
    const sink = new GatedSink(fs);
    const rec = track(new GatehouseRecorder(recorderOptions(sink)));
    const s = await rec.openSession(start('s1'));
    sink.hold();
    let done = false;
    const p = s.append('http.request', synthetic({ method: 'GET', path: '/x' }), { durable: true, requestId: 'r1' }).then(() => (done = true));
    await until(() => sink.waiting === 1);
    expect(done).toBe(false);
    expect((await eventsOnDisk(dir, fs)).map((e) => e.type)).toEqual(['session.start']);
    sink.release();
    await p;
    const events = await eventsOnDisk(dir, fs);
    expect(events.map((e) => [e.seq, e.type, e.requestId])).toEqual([
      [0, 'session.start', undefined],
      [1, 'http.request', 'r1'],
    ]);
    expect(events[1]!.prev).toBe(events[0]!.hash);
    expect(events[0]!.principal).toEqual(PRINCIPAL);
    expect(events[1]!.principal).toBeUndefined();
  });

  it('strict: concurrent sessions share one write (group commit)', async () => {
    const sink = new GatedSink(new FsLogSink(dir));
    const rec = track(new GatehouseRecorder(recorderOptions(sink)));
    const sessions = await Promise.all(['a', 'b', 'c', 'd'].map((id) => rec.openSession(start(id))));
    const before = sink.appends;
    sink.hold();
    const first = sessions[0]!.append('http.request', synthetic({ n: 0 }), { durable: true });
    await until(() => sink.waiting === 1);
    // While that write is in flight, 20 requests from 4 sessions arrive.
    const rest = sessions.flatMap((s, i) => Array.from({ length: 5 }, (_, j) => s.append('http.request', synthetic({ n: i * 5 + j }), { durable: true })));
    sink.release();
    await Promise.all([first, ...rest]);
    expect(sink.appends - before).toBe(2);
    expect(rec.stats()).toMatchObject({ healthy: true, pendingBytes: 0 });
  });

  it('strict: a non-durable event (a response) costs no write of its own; it rides with the next request\'s commit', async () => {
    const fs = new FsLogSink(dir);
    const sink = new InstrumentedSink(fs);
    const rec = track(new GatehouseRecorder(recorderOptions(sink, { mode: 'strict', flushIntervalMs: 60000 })));
    const s = await rec.openSession(start('s1'));
    const before = sink.appends;
    await s.append('http.request', synthetic({ n: 1 }), { durable: true, requestId: 'r1' });
    expect(sink.appends - before).toBe(1);
    await s.append('http.response', synthetic({ status: 200 }), { requestId: 'r1' });
    // A loop turn later (when a kick would have written it), still pending.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(sink.appends - before).toBe(1);
    expect(rec.stats().pendingEvents).toBe(1);
    await s.append('http.request', synthetic({ n: 2 }), { durable: true, requestId: 'r2' });
    expect(sink.appends - before).toBe(2);
    expect(rec.stats().pendingEvents).toBe(0);
    expect((await eventsOnDisk(dir, fs)).map((e) => [e.type, e.requestId])).toEqual([
      ['session.start', undefined],
      ['http.request', 'r1'],
      ['http.response', 'r1'],
      ['http.request', 'r2'],
    ]);
  });

  it('strict: a non-durable event with nothing after it is still written within flushIntervalMs', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const fs = new FsLogSink(dir);
    const sink = new InstrumentedSink(fs);
    const rec = track(new GatehouseRecorder(recorderOptions(sink, { mode: 'strict', flushIntervalMs: 50 })));
    const s = await rec.openSession(start('s1'));
    await s.append('http.request', synthetic({ n: 1 }), { durable: true, requestId: 'r1' });
    await s.append('http.response', synthetic({ status: 200 }), { requestId: 'r1' });
    expect(rec.stats().pendingEvents).toBe(1);
    jest.advanceTimersByTime(50);
    await until(() => rec.stats().pendingEvents === 0);
    expect((await eventsOnDisk(dir, fs)).map((e) => e.type)).toEqual(['session.start', 'http.request', 'http.response']);
  });

  it('buffered: batches events into few writes, flushed by the interval timer', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const sink = new InstrumentedSink(new FsLogSink(dir));
    const rec = track(new GatehouseRecorder(recorderOptions(sink, { mode: 'buffered', flushIntervalMs: 50 })));
    const s = await rec.openSession(start('s1'));
    for (let i = 0; i < 200; i++) await s.append('http.request', synthetic({ i }));
    // Accepted, nothing written yet: appends did not cost a write each.
    expect(sink.appends).toBe(0);
    expect(rec.stats().pendingEvents).toBe(201);
    jest.advanceTimersByTime(50);
    await until(() => rec.stats().pendingEvents === 0);
    expect(sink.appends).toBe(1);
    expect(rec.stats().eventsWritten).toBe(201);
  });

  it('buffered: flushes early once pending bytes pass the threshold', async () => {
    const sink = new InstrumentedSink(new FsLogSink(dir));
    const rec = track(new GatehouseRecorder(recorderOptions(sink, { mode: 'buffered', flushIntervalMs: 60000, flushThresholdBytes: 4096 })));
    const s = await rec.openSession(start('s1'));
    for (let i = 0; i < 100; i++) await s.append('http.request', synthetic({ i, pad: 'x'.repeat(100) }));
    await until(() => sink.appends > 0);
    expect(sink.appends).toBeLessThan(20);
  });

  it('stores batches spanning several buffer chunks, non-ASCII and oversized lines included, and they verify', async () => {
    const fs = new FsLogSink(dir);
    const rec = track(new GatehouseRecorder(recorderOptions(fs, { mode: 'buffered', flushIntervalMs: 60000, maxBufferBytes: 64 * 1024 * 1024 })));
    const sessions = [await rec.openSession(start('s1')), await rec.openSession(start('s2'))];
    const sent: Array<{ session: string; text: string }> = [];
    for (let i = 0; i < 60; i++) {
      // Sizes around and past the 64 KiB chunk, so lines start at every kind of offset.
      const text = (i % 2 === 0 ? 'ü€😀' : 'ascii').repeat((i * 997) % 30000);
      const s = sessions[i % 2]!;
      await s.append('http.request', synthetic({ i, text }));
      sent.push({ session: s.id, text });
    }
    await rec.close();
    const verdict = await verifyLog(fs, { trustedKeys: [TEST_KEY.publicKeyPem] });
    expect(verdict.firstFailure).toBeUndefined();
    const requests = (await eventsOnDisk(dir, fs)).filter((e) => e.type === 'http.request');
    expect(requests.map((e) => ({ session: e.session, text: (e.payload as { text: string }).text }))).toEqual(sent);
  });

  it('rejects with GH_ERR_RECORDING_OVERLOADED when the bounded buffer is full, without breaking the chain', async () => {
    const fs = new FsLogSink(dir);
    const sink = new GatedSink(fs);
    const rec = track(new GatehouseRecorder(recorderOptions(sink, { mode: 'buffered', maxBufferBytes: 8 * 1024, flushIntervalMs: 60000 })));
    const s = await rec.openSession(start('s1'));
    sink.hold();
    const results: Array<string> = [];
    for (let i = 0; i < 100; i++) {
      await s.append('http.request', synthetic({ i, pad: 'y'.repeat(200) })).then(
        () => results.push('ok'),
        (e: { code: string }) => results.push(e.code),
      );
    }
    expect(results).toContain('GH_ERR_RECORDING_OVERLOADED');
    expect(results.filter((r) => r === 'ok').length).toBeGreaterThan(5);
    expect(rec.stats().pendingBytes).toBeLessThanOrEqual(8 * 1024);
    sink.release();
    await rec.close();
    const verdict = await verifyLog(fs, { trustedKeys: [TEST_KEY.publicKeyPem] });
    expect(verdict.firstFailure).toBeUndefined();
    expect(verdict.ok).toBe(true);
  });

  it('fails closed when the log directory cannot be written, keeps the events and recovers', async () => {
    // A regular file where the segments directory should be: every write fails (root bypasses modes).
    await writeFile(join(dir, 'segments'), 'blocked');
    const fs = new FsLogSink(dir);
    const rec = track(new GatehouseRecorder(recorderOptions(fs)));
    await expect(rec.openSession(start('s1'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', status: 503 });
    // The refused start stays queued for the retry, and so does the end that seals its session.
    expect(rec.stats()).toMatchObject({ healthy: false, eventsFailed: 1, pendingEvents: 2 });
    expect(rec.stats().lastError).toMatch(/not a directory/);
    const s2 = rec.openSession(start('s2'));
    await expect(s2).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
    // The operator fixes the volume; queued events are written on the next retry.
    await rm(join(dir, 'segments'));
    await mkdir(join(dir, 'segments'));
    const s3 = await rec.openSession(start('s3'));
    await s3.append('http.request', synthetic({}), { durable: true });
    expect(rec.stats()).toMatchObject({ healthy: true, pendingEvents: 0 });
    const types = (await eventsOnDisk(dir, fs)).map((e) => `${e.session}:${e.type}`);
    expect(types).toEqual(['s1:session.start', 's1:session.end', 's2:session.start', 's2:session.end', 's3:session.start', 's3:http.request']);
    await rec.close();
    expect((await verifyLog(fs)).ok).toBe(true);
  });

  it('fails closed on a full disk (simulated ENOSPC) in buffered mode: the durable request is refused', async () => {
    const sink = new InstrumentedSink(new FsLogSink(dir));
    const rec = track(new GatehouseRecorder(recorderOptions(sink, { mode: 'buffered' })));
    const s = await rec.openSession(start('s1'));
    await rec.flush();
    sink.failWith = 'ENOSPC';
    await expect(s.append('http.request', synthetic({ i: 1 }), { durable: true })).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
    await expect(rec.flush()).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
    expect(rec.stats().healthy).toBe(false);
    expect(rec.stats().writeFailures).toBeGreaterThanOrEqual(1);
    await expect(rec.close()).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
    await expect(s.append('http.request', synthetic({}))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_CLOSED' });
  });

  it('close() ends open sessions, seals the segment and writes a final signed digest', async () => {
    const sealed: SegmentSealed[] = [];
    const fs = new FsLogSink(dir);
    const rec = new GatehouseRecorder(recorderOptions(fs, { mode: 'buffered', onSegmentSealed: (s) => void sealed.push(s) }));
    const a = await rec.openSession(start('a'));
    await a.append('http.request', synthetic({ path: '/' }));
    await rec.openSession(start('b'));
    await rec.close();
    await expect(rec.openSession(start('c'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_CLOSED' });
    const events = await eventsOnDisk(dir, fs);
    expect(events.filter((e) => e.type === 'session.end').map((e) => [e.session, (e.payload as { reason: string }).reason])).toEqual([
      ['a', 'shutdown'],
      ['b', 'shutdown'],
    ]);
    const digests = await fs.list('digests/');
    expect(digests).toHaveLength(1);
    const d = parseDigest((await fs.get(digests[0]!))!);
    expect(d).toMatchObject({ instanceId: 'gw-test-1', digestSeq: 0, previous: null, keyId: TEST_KEY.keyId });
    expect(d.segments.map((s) => s.key)).toEqual(await fs.list('segments/'));
    expect(sealed.map((s) => s.key)).toEqual(d.segments.map((s) => s.key));
    expect(sealed[0]!.sessions).toEqual(['a', 'b']);
    const verdict = await verifyLog(fs, { trustedKeys: [TEST_KEY.keyId] });
    expect(verdict).toMatchObject({ ok: true, warnings: [], stats: { digests: 1, segments: 1, sessions: 2, sessionsOpen: 0, events: 5 } });
  });

  it('seals segments by size and age, and writes one object per flush on sinks without append', async () => {
    const { clock, advance } = steppingClock();
    const fs = new FsLogSink(dir);
    const rec = track(new GatehouseRecorder(recorderOptions(fs, { clock, segmentMaxBytes: 1024, segmentMaxAgeSeconds: 60 })));
    const s = await rec.openSession(start('s1'));
    for (let i = 0; i < 10; i++) await s.append('http.request', synthetic({ i, noise: Math.random().toString(36).repeat(20) }), { durable: true });
    const bySize = (await fs.list('segments/')).length;
    expect(bySize).toBeGreaterThan(1);
    advance(61_000);
    await s.append('http.request', synthetic({ late: true }), { durable: true });
    await s.append('http.request', synthetic({ late: 2 }), { durable: true });
    expect((await fs.list('segments/')).length).toBe(bySize + 1);
    await rec.close();
    expect((await verifyLog(fs)).ok).toBe(true);

    const dir2 = join(dir, 'put-only');
    const putOnly = new InstrumentedSink(new FsLogSink(dir2), { withoutAppend: true });
    const rec2 = track(new GatehouseRecorder(recorderOptions(putOnly, { mode: 'strict' })));
    const t = await rec2.openSession(start('t'));
    await t.append('http.request', synthetic({}), { durable: true });
    await t.end();
    await rec2.close();
    expect(putOnly.puts).toBe(4); // three event writes + one digest
    const verdict = await verifyLog(putOnly.inner);
    expect(verdict).toMatchObject({ ok: true, stats: { segments: 3, events: 3 } });
  });

  it('continues the digest chain across restarts; recovery adopts the crashed run\'s registered segments and closes its cut sessions', async () => {
    const { clock, advance } = steppingClock();
    const witness = new FileWitness(join(dir, '..', `${basename(dir)}-witness.json`));
    const fs1 = new FsLogSink(dir);
    const rec1 = new GatehouseRecorder(recorderOptions(fs1, { clock, witness }));
    await (await rec1.openSession(start('s1'))).append('http.request', synthetic({}), { durable: true });
    await rec1.close();
    advance(1000);
    // Run 2 crashes after writing (no close, no digest).
    const fs2 = new FsLogSink(dir);
    const rec2 = new GatehouseRecorder(recorderOptions(fs2, { clock, witness }));
    await (await rec2.openSession(start('s2'))).append('http.request', synthetic({}), { durable: true });
    await fs2.close();
    const crashed = await verifyLog(fs2, { allowUnsealedTail: true });
    expect(crashed.ok).toBe(true);
    expect(crashed.warnings.map((w) => w.code)).toContain('UNDIGESTED_TAIL');
    expect((await verifyLog(fs2)).firstFailure).toMatchObject({ code: 'UNDIGESTED_TAIL' });
    advance(1000);
    const rec3 = track(new GatehouseRecorder(recorderOptions(new FsLogSink(dir), { clock, witness })));
    await (await rec3.openSession(start('s3'))).end();
    await rec3.close();
    const digests = await fs1.list('digests/');
    expect(digests).toHaveLength(3);
    const d1 = parseDigest((await fs1.get(digests[1]!))!);
    expect(d1.digestSeq).toBe(1);
    expect(d1.previous?.key).toBe(digests[0]);
    expect(d1.segments.filter((s) => s.recovered).length).toBe(1);
    expect(parseDigest((await fs1.get(digests[2]!))!).final).toBe(true);
    const verdict = await verifyLog(fs1, { trustedKeys: [TEST_KEY.publicKeyPem], witness: await witness.heads() });
    expect(verdict.firstFailure).toBeUndefined();
    expect(verdict.warnings.map((w) => w.code)).toEqual(['RECOVERED_SEGMENT']);
    // s2, cut by the crash, is closed by recovery; the recovery session says what was adopted.
    expect(verdict.stats).toMatchObject({ sessions: 4, sessionsOpen: 0 });
    const s2 = await readSessionEvents(fs1, 's2');
    expect(s2[s2.length - 1]).toMatchObject({ type: 'session.end', payload: { reason: 'crashed' } });
    const recoveries = (await fs1.list('segments/')).length;
    expect(recoveries).toBe(4);
  });

  it('without a witness adopts nothing after a crash: the tail stays unattested and verify fails', async () => {
    const { clock, advance } = steppingClock();
    const fs2 = new FsLogSink(dir);
    const rec2 = new GatehouseRecorder(recorderOptions(fs2, { clock }));
    await (await rec2.openSession(start('s2'))).append('http.request', synthetic({}), { durable: true });
    await fs2.close();
    advance(1000);
    const rec3 = track(new GatehouseRecorder(recorderOptions(new FsLogSink(dir), { clock })));
    await rec3.close();
    const tail = (await fs2.list('segments/'))[0]!;
    const digests = await fs2.list('digests/');
    const recovered = parseDigest((await fs2.get(digests[0]!))!);
    expect(recovered.segments.some((s) => s.key === tail)).toBe(false);
    expect((await verifyLog(fs2, { trustedKeys: [TEST_KEY.publicKeyPem], allowUnsealedTail: true })).firstFailure).toMatchObject({ code: 'SEGMENT_UNDIGESTED', key: tail });
  });

  it('writes a signed digest every digestIntervalSeconds, sealing the open segment', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const fs = new FsLogSink(dir);
    const rec = track(new GatehouseRecorder(recorderOptions(fs, { digestIntervalSeconds: 60 })));
    const s = await rec.openSession(start('s1'));
    await s.append('http.request', synthetic({}), { durable: true });
    expect(await fs.list('digests/')).toEqual([]);
    jest.advanceTimersByTime(60_000);
    await until(() => rec.stats().digestsWritten === 1);
    const [key] = await fs.list('digests/');
    expect(parseDigest((await fs.get(key!))!).segments.map((x) => x.key)).toEqual(await fs.list('segments/'));
    // Nothing new sealed: no empty digest on the next tick.
    jest.advanceTimersByTime(60_000);
    await new Promise((r) => setImmediate(r));
    await rec.flush();
    expect(rec.stats().digestsWritten).toBe(1);
  });

  it('refuses unregistered event types at run time, without advancing the chain', async () => {
    const fs = new FsLogSink(dir);
    const rec = track(new GatehouseRecorder(recorderOptions(fs)));
    const s = await rec.openSession(start('s1'));
    // The types forbid this; a caller that gets around them (a cast, JavaScript) is refused anyway.
    const unregistered = 'pg.sneaky' as 'pg.query';
    await expect(s.append(unregistered, synthetic({}), { durable: true })).rejects.toMatchObject({ code: 'GH_ERR_EVENT_UNREGISTERED' });
    expect(() => s.appendNow!(unregistered, synthetic({}))).toThrow(expect.objectContaining({ code: 'GH_ERR_EVENT_UNREGISTERED' }));
    await s.append('pg.query', synthetic({ sql: 'select 1' }), { durable: true });
    await s.end({ reason: 'client' });
    const events = await eventsOnDisk(dir, fs);
    expect(events.map((e) => [e.seq, e.type, e.code])).toEqual([
      [0, 'session.start', 'GH1000I'],
      [1, 'pg.query', 'GH2200I'],
      [2, 'session.end', 'GH1001I'],
    ]);
  });

  it('refuses appends after a session ended; each registered type is stored with its catalog code', async () => {
    const fs = new FsLogSink(dir);
    const rec = track(new GatehouseRecorder(recorderOptions(fs)));
    const s = await rec.openSession(start('s1'));
    await s.append('pg.query', synthetic({ sql: 'select 1' }), { durable: true });
    await s.end({ reason: 'client' });
    expect(s.ended).toBe(true);
    await expect(s.append('http.request', synthetic({}))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_CLOSED' });
    const events = await eventsOnDisk(dir, fs);
    expect(events.map((e) => [e.session, e.seq, e.type, e.code])).toEqual([
      ['s1', 0, 'session.start', 'GH1000I'],
      ['s1', 1, 'pg.query', 'GH2200I'],
      ['s1', 2, 'session.end', 'GH1001I'],
    ]);
  });

  it('buffered: while the store is failing, new events are refused; after recovery nothing was lost', async () => {
    const sink = new InstrumentedSink(new FsLogSink(dir));
    const rec = track(new GatehouseRecorder(recorderOptions(sink, { mode: 'buffered' })));
    const s = await rec.openSession(start('s1'));
    await s.append('http.request', synthetic({ n: 1 }));
    sink.failWith = 'EIO';
    await expect(rec.flush()).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
    await expect(s.append('http.response', synthetic({ n: 1 }))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
    expect(rec.stats()).toMatchObject({ healthy: false, eventsFailed: 2, eventsRefused: 1, pendingEvents: 2 });
    sink.failWith = undefined;
    await until(() => rec.stats().healthy);
    await s.append('http.response', synthetic({ n: 2 }));
    await rec.close();
    const events = await eventsOnDisk(dir, sink.inner as FsLogSink);
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [0, 'session.start'],
      [1, 'http.request'],
      [2, 'http.response'],
      [3, 'session.end'],
    ]);
    expect((await verifyLog(sink.inner)).ok).toBe(true);
  });

  it.each(['strict', 'buffered'] as const)('%s: a session that ends while the store is failing is sealed once it recovers (its end is kept for retry, never refused)', async (mode) => {
    const sink = new InstrumentedSink(new FsLogSink(dir));
    const rec = track(new GatehouseRecorder(recorderOptions(sink, { mode })));
    const s = await rec.openSession(start('s1'));
    await s.append('http.request', synthetic({ n: 1 }), { durable: true });
    sink.failWith = 'EIO';
    await expect(s.append('http.request', synthetic({ n: 2 }), { durable: true })).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
    expect(rec.stats().healthy).toBe(false);
    // The client goes away while the store is still failing: its end is queued behind the failed write.
    const ended = s.end({ reason: 'client closed' });
    if (mode === 'strict') await expect(ended).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
    else await ended;
    sink.failWith = undefined;
    await until(() => rec.stats().healthy && rec.stats().pendingEvents === 0);
    await rec.close();
    const events = await eventsOnDisk(dir, sink.inner as FsLogSink);
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [0, 'session.start'],
      [1, 'http.request'],
      [2, 'http.request'],
      [3, 'session.end'],
    ]);
    const verdict = await verifyLog(sink.inner);
    expect(verdict.ok).toBe(true);
    expect(verdict.stats.sessionsOpen).toBe(0);
  });

  it('keeps replicas apart: each instance has its own segments and digest chain in one store', async () => {
    const { clock } = steppingClock();
    const a = track(new GatehouseRecorder(recorderOptions(new FsLogSink(dir), { clock, instanceId: 'replica-a' })));
    const b = track(new GatehouseRecorder(recorderOptions(new FsLogSink(dir), { clock, instanceId: 'replica-b' })));
    const sa = await a.openSession(start('sa'));
    const sb = await b.openSession(start('sb'));
    await Promise.all([sa.append('http.request', synthetic({}), { durable: true }), sb.append('http.request', synthetic({}), { durable: true })]);
    await a.close();
    // b restarts later and must not adopt a's segments.
    await b.close();
    const fs = new FsLogSink(dir);
    expect((await fs.list('digests/')).map((k) => k.split('/')[4])).toEqual(['replica-a', 'replica-b']);
    const verdict = await verifyLog(fs, { trustedKeys: [TEST_KEY.keyId] });
    expect(verdict).toMatchObject({ ok: true, warnings: [], stats: { instances: 2, digests: 2, sessions: 2, events: 6 } });
  });

  it.each([['append', false], ['put-only', true]] as const)('never writes into an existing object when a segment key collides (%s sink)', async (_name, withoutAppend) => {
    const fixed = new Date(Date.UTC(2026, 0, 15, 10, 0, 0));
    const fs = new FsLogSink(dir);
    const taken = segmentKey('gw-test-1', fixed, 0);
    await fs.put(taken, Buffer.from('someone else'));
    const sink = new InstrumentedSink(fs, { withoutAppend });
    const rec = track(new GatehouseRecorder(recorderOptions(sink, { clock: () => fixed })));
    await (await rec.openSession(start('s1'))).append('http.request', synthetic({}), { durable: true });
    expect((await fs.get(taken))?.toString()).toBe('someone else');
    expect(await fs.list('segments/')).toContain(segmentKey('gw-test-1', fixed, 1));
    expect(rec.stats()).toMatchObject({ healthy: true, writeFailures: 0 });
  });
});
