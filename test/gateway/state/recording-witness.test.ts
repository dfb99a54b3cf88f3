import { StateRecordingWitness } from '../../../gateway/src/state/recording-witness';
import { createStateStore, type StateStore } from '../../../gateway/src/state/store';

describe('StateRecordingWitness', () => {
  let store: StateStore;
  let witness: StateRecordingWitness;
  beforeEach(async () => {
    store = createStateStore({ embeddedPath: 'memory' });
    witness = new StateRecordingWitness(store);
    await witness.init();
  });
  afterEach(async () => store.close());

  it('keeps the newest head only, and prunes the segments a digest attested', async () => {
    await witness.register('a');
    await witness.segmentStarted('a', 's1');
    await witness.segmentStarted('a', 's2');
    const head = { digestSeq: 1, digestKey: 'd1', sha256: 'h1', final: false, windowEnd: '2026-01-15T10:00:00.000Z' };
    await witness.digestWritten('a', head, ['s1']);
    await witness.digestWritten('a', { ...head, digestSeq: 0, digestKey: 'd0', sha256: 'h0' }, []);
    expect(await witness.head('a')).toEqual(head);
    expect([...(await witness.startedSegments('a'))]).toEqual(['s2']);
    expect((await witness.heads()).get('a')).toMatchObject({ digestSeq: 1, sha256: 'h1' });
  });

  it('lets one replica claim an expired, unsealed instance, never a sealed or live one', async () => {
    for (const id of ['dead', 'sealed', 'live']) await witness.register(id);
    await witness.digestWritten('sealed', { digestSeq: 0, digestKey: 'd', sha256: 'h', final: true, windowEnd: 'w' }, []);
    await store.query("update gatehouse_recording_instances set heartbeat_at = now() - interval '1 hour' where instance_id in ('dead', 'sealed')");
    expect(await witness.claimExpired(60, 'live/run')).toBe('dead');
    expect(await witness.claimExpired(60, 'other/run')).toBeUndefined();
    await witness.releaseClaim('dead');
    expect(await witness.claimExpired(60, 'other/run')).toBe('dead');
  });

  it('keeps one persistent local instance id', async () => {
    const id = await witness.localInstanceId();
    expect(id).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    expect(await witness.localInstanceId()).toBe(id);
  });
});
