import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GatehouseRecorder } from '../../../gateway/src/recording/recorder';
import { FsLogSink } from '../../../gateway/src/recording/sinks/fs/fs-sink';
import { verifyLog, verifySession } from '../../../gateway/src/recording/verify';
import { FileWitness } from '../../../gateway/src/recording/witness';
import { makeTempDir, PRINCIPAL, recorderOptions, synthetic, TEST_KEY } from '../../support/recording-helpers';

const TRUST = { trustedKeys: [TEST_KEY.publicKeyPem] };

/** Two sealed runs of two instances: session `a` in the first, `b` in the second (separate segments). */
async function twoRuns(dir: string): Promise<{ sink: FsLogSink; witness: FileWitness; segmentsOf: Record<'a' | 'b', string[]> }> {
  const sink = new FsLogSink(join(dir, 'log'));
  const witness = new FileWitness(join(dir, 'witness.json'));
  const segmentsOf = { a: [] as string[], b: [] as string[] };
  for (const [instanceId, id] of [['gw-a', 'a'], ['gw-b', 'b']] as const) {
    const rec = new GatehouseRecorder(recorderOptions(sink, { instanceId, witness }));
    const s = await rec.openSession({ sessionId: id, protocol: 'http', principal: PRINCIPAL, connection: 'api', client: { address: '127.0.0.1' } });
    for (let i = 0; i < 3; i++) await s.append('http.request', synthetic({ i, path: `/${id}/${i}` }), { durable: true, requestId: `${id}-${i}` });
    await s.end({ reason: 'closed' });
    await rec.close();
    segmentsOf[id] = (await sink.list('segments/')).filter((k) => k.includes(`/${instanceId}/`) || k.includes(instanceId));
  }
  return { sink, witness, segmentsOf };
}

describe('verifySession: verify for one session', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir('gh-vs-')));
  afterEach(() => cleanup());

  it('passes an intact session against the signed digests and the witness, and counts only its events', async () => {
    const { sink, witness } = await twoRuns(dir);
    const r = await verifySession(sink, 'a', { ...TRUST, witness: await witness.heads() });
    expect(r.firstFailure).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.stats.sessions).toBe(1);
    expect(r.stats.events).toBe(5);
  });

  it("names the tampered segment of the session, and leaves another session's verification alone", async () => {
    const { sink, witness, segmentsOf } = await twoRuns(dir);
    expect(segmentsOf.b.length).toBeGreaterThan(0);
    const key = segmentsOf.b[0]!;
    const path = join(dir, 'log', key);
    const bytes = await readFile(path);
    bytes[bytes.length - 5] ^= 0x01;
    await writeFile(path, bytes);
    const heads = await witness.heads();
    const b = await verifySession(sink, 'b', { ...TRUST, witness: heads });
    expect(b.ok).toBe(false);
    expect(b.firstFailure).toMatchObject({ code: 'SEGMENT_HASH_MISMATCH', key });
    // The whole log is broken too; session a's own segments are intact and attested.
    expect((await verifyLog(sink, { ...TRUST, witness: heads })).ok).toBe(false);
    expect((await verifySession(sink, 'a', { ...TRUST, witness: heads })).ok).toBe(true);
  });

  it('still checks the digests and the witness: a removed newest digest fails the session (rollback)', async () => {
    const { sink, witness } = await twoRuns(dir);
    const digests = (await sink.list('digests/')).filter((k) => k.includes('gw-a'));
    const { rm } = await import('node:fs/promises');
    await rm(join(dir, 'log', digests.sort()[digests.length - 1]!));
    const r = await verifySession(sink, 'a', { ...TRUST, witness: await witness.heads(), allowUnsealedTail: true });
    expect(r.ok).toBe(false);
    expect(r.firstFailure).toMatchObject({ code: 'WITNESS_ROLLBACK', kind: 'digest' });
  });

  it('fails for a session that is not in the log', async () => {
    const { sink, witness } = await twoRuns(dir);
    const r = await verifySession(sink, 'nope', { ...TRUST, witness: await witness.heads() });
    expect(r.ok).toBe(false);
    expect(r.firstFailure).toMatchObject({ code: 'SESSION_NOT_FOUND', session: 'nope' });
  });
});
