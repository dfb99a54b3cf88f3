import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatehouseRecorder } from '../../gateway/src/recording/recorder';
import type { LogSink } from '../../gateway/src/recording/sinks/sink';
import { verifyLog } from '../../gateway/src/recording/verify';
import { FileWitness } from '../../gateway/src/recording/witness';
import { PRINCIPAL, recorderOptions, steppingClock, synthetic, TEST_KEY } from './recording-helpers';

/**
 * The behaviour every LogSink must have, as a reusable jest suite. A new sink (S3, GCS, Azure)
 * calls `describeLogSinkConformance('s3', async () => ({ sink, cleanup }))` against a real local
 * peer (s3rver, Azurite, ...). Each test gets a fresh, empty store.
 */
export function describeLogSinkConformance(name: string, makeSink: () => Promise<{ sink: LogSink; cleanup: () => Promise<void> }>): void {
  describe(`LogSink conformance: ${name}`, () => {
    let sink: LogSink;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ sink, cleanup } = await makeSink()));
    afterEach(async () => {
      await sink.close?.();
      await cleanup();
    });

    it('stores bytes exactly and returns undefined for a missing key', async () => {
      const bytes = Buffer.from([0, 1, 2, 255, 10, 13]);
      await sink.put('segments/2026/01/01/gw/20260101T000000000Z-000000.ndjson.gz', bytes);
      expect((await sink.get('segments/2026/01/01/gw/20260101T000000000Z-000000.ndjson.gz'))?.equals(bytes)).toBe(true);
      expect(await sink.get('segments/2026/01/01/gw/none.ndjson.gz')).toBeUndefined();
    });

    it('refuses to overwrite: rejects GH_ERR_RECORDING_FAILED with reason exists, keeps the first object', async () => {
      await sink.put('digests/2026/01/01/gw/0000000000.json', Buffer.from('first'));
      await expect(sink.put('digests/2026/01/01/gw/0000000000.json', Buffer.from('second'))).rejects.toMatchObject({
        code: 'GH_ERR_RECORDING_FAILED',
        details: { reason: 'exists' },
      });
      expect((await sink.get('digests/2026/01/01/gw/0000000000.json'))?.toString()).toBe('first');
    });

    it('lists keys under a prefix in lexicographic order, and nothing else', async () => {
      const keys = ['segments/2026/01/02/b/x', 'segments/2026/01/01/a/y', 'segments/2026/01/01/a/x', 'digests/2026/01/01/a/0000000000.json', 'segmentsX/z'];
      for (const k of keys) await sink.put(k, Buffer.from(k));
      expect(await sink.list('segments/')).toEqual(['segments/2026/01/01/a/x', 'segments/2026/01/01/a/y', 'segments/2026/01/02/b/x']);
      expect(await sink.list('segments/2026/01/01/')).toEqual(['segments/2026/01/01/a/x', 'segments/2026/01/01/a/y']);
      expect(await sink.list('nothing/')).toEqual([]);
    });

    it('rejects keys that could escape the store', async () => {
      await expect(sink.put('../x', Buffer.from('x'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
    });

    it('appends (when supported): creates exclusively, extends durably, never adopts an existing object', async () => {
      if (!sink.append) return;
      await sink.put('seg/taken', Buffer.from('someone else'));
      await expect(sink.append('seg/taken', Buffer.from('x'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'exists' } });
      await sink.append('seg/a', Buffer.from('one,'));
      await sink.append('seg/a', Buffer.from('two'));
      expect((await sink.get('seg/a'))?.toString()).toBe('one,two');
      await sink.sealAppend?.('seg/a');
      expect((await sink.get('seg/taken'))?.toString()).toBe('someone else');
    });

    it('carries a recording through a crash: recovery adopts the tail, closes the cut session, and verify proves it sealed', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'gh-conf-'));
      try {
        const witness = new FileWitness(join(dir, 'witness.json'));
        const { clock, advance } = steppingClock();
        const start = (id: string) => ({ sessionId: id, protocol: 'http', principal: PRINCIPAL, connection: 'api', client: {} });
        // A run that crashes: its events are stored, no digest is written.
        const crashed = new GatehouseRecorder(recorderOptions(sink, { clock, witness }));
        await (await crashed.openSession(start('cut'))).append('http.request', synthetic({ path: '/x' }), { durable: true });
        advance(1000);
        const rec = new GatehouseRecorder(recorderOptions(sink, { clock, witness }));
        await (await rec.openSession(start('after'))).end({ reason: 'client' });
        await rec.close();
        const r = await verifyLog(sink, { trustedKeys: [TEST_KEY.publicKeyPem], witness: await witness.heads() });
        expect(r.firstFailure).toBeUndefined();
        expect(r.instances).toEqual([expect.objectContaining({ sealed: true })]);
        expect(r.warnings.map((w) => w.code)).toContain('RECOVERED_SEGMENT');
        expect(r.stats.sessionsOpen).toBe(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
