import { GatehouseRecorder } from '../../../gateway/src/recording/recorder';
import { exportSession, readSessionEvents, renderTranscript } from '../../../gateway/src/recording/reader';
import type { SegmentSealed } from '../../../gateway/src/recording/recorder-types';
import { FsLogSink } from '../../../gateway/src/recording/sinks/fs/fs-sink';
import { makeTempDir, PRINCIPAL, recorderOptions, synthetic } from '../../support/recording-helpers';

describe('reader and transcript export', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
  afterEach(async () => cleanup());

  async function record(): Promise<{ sink: FsLogSink; sealed: SegmentSealed[] }> {
    const sealed: SegmentSealed[] = [];
    const sink = new FsLogSink(dir);
    const rec = new GatehouseRecorder(recorderOptions(sink, { segmentMaxBytes: 1024, onSegmentSealed: (s) => void sealed.push(s) }));
    const a = await rec.openSession({ sessionId: 'a', protocol: 'http', principal: PRINCIPAL, connection: 'api', client: { address: '10.0.0.1' } });
    const b = await rec.openSession({ sessionId: 'b', protocol: 'http', client: { address: '10.0.0.2' } });
    for (let i = 0; i < 6; i++) {
      await a.append('http.request', synthetic({ method: 'POST', path: `/v1/messages/${i}`, body: `line one\nline ${i}`, pad: String(Math.random()).repeat(20) }), { durable: true, requestId: `req-${i}` });
      await b.append('http.request', synthetic({ method: 'GET', path: '/other' }), { durable: true });
    }
    await a.end({ reason: 'client closed' });
    await rec.close();
    return { sink, sealed };
  }

  it('reads one session in order across segments, by scan or by the index\'s segment keys', async () => {
    const { sink, sealed } = await record();
    expect(sealed.length).toBeGreaterThan(1);
    const scanned = await readSessionEvents(sink, 'a');
    expect(scanned.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(scanned.every((e) => e.session === 'a')).toBe(true);
    const keys = sealed.filter((s) => s.sessions.includes('a')).map((s) => s.key).reverse();
    expect(await readSessionEvents(sink, 'a', keys)).toEqual(scanned);
  });

  it('exports a JSON transcript with a chain check, and renders it as text', async () => {
    const { sink } = await record();
    const t = await exportSession(sink, 'a');
    expect(t.session).toMatchObject({ id: 'a', protocol: 'http', connection: 'api', principal: PRINCIPAL, client: { address: '10.0.0.1' }, eventCount: 8, endReason: 'client closed', chain: { intact: true } });
    expect(t.session.chain.head).toBe(t.events[7]!.hash);
    const text = renderTranscript(t);
    expect(text).toContain('session a (http)');
    expect(text).toContain('principal: ada@example.com <u-1>');
    expect(text).toMatch(/#1 \S+ http\.request GH2000I request=req-0\n {4}method: POST\n {4}path: \/v1\/messages\/0\n {4}body:\n {6}\| line one\n {6}\| line 0\n/);
    expect(text).toContain('#7');
    await expect(exportSession(sink, 'nope')).rejects.toMatchObject({ code: 'GH_ERR_NOT_FOUND' });
  });
});
