import { createHash } from 'node:crypto';
import { GatehouseRecorder } from '../../../../../gateway/src/recording/recorder';
import { S3LogSink } from '../../../../../gateway/src/recording/sinks/s3/s3-sink';
import { verifyLog } from '../../../../../gateway/src/recording/verify';
import { PRINCIPAL, recorderOptions, TEST_KEY, synthetic } from '../../../../support/recording-helpers';
import { describeLogSinkConformance } from '../../../../support/recording-sink-conformance';
import { BUCKET, closedPort, FAKE_CREDENTIALS, startS3, type S3Peer } from './s3-harness';

describeLogSinkConformance('s3 (s3rver behind an S3-semantics front)', async () => {
  const peer = await startS3();
  return { sink: peer.sink({ prefix: 'gatehouse/' }), cleanup: () => peer.stop() };
});

const KEY = 'segments/2026/01/15/gw/20260115T100000000Z-000000.ndjson.gz';

/** The object as s3rver stored it, read around the sink (s3rver serves unsigned requests). */
async function rawObject(peer: S3Peer, fullKey: string): Promise<Buffer | undefined> {
  const res = await fetch(`${peer.s3rverUrl}/${BUCKET}/${fullKey}`);
  return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : undefined;
}

describe('S3LogSink', () => {
  let peer: S3Peer;
  beforeEach(async () => (peer = await startS3()));
  afterEach(async () => peer.stop());

  it('writes each object once under the configured prefix, with If-None-Match: * and a SHA-256 checksum', async () => {
    const sink = peer.sink({ prefix: 'org/gatehouse/' });
    const bytes = Buffer.from('segment bytes');
    await sink.put(KEY, bytes);
    expect(peer.front.puts).toHaveLength(1);
    const { path, headers } = peer.front.puts[0]!;
    expect(path).toBe(`/${BUCKET}/org/gatehouse/${KEY}`);
    expect(headers['if-none-match']).toBe('*');
    expect(headers['x-amz-checksum-sha256']).toBe(createHash('sha256').update(bytes).digest('base64'));
    // What S3 looks for on writes to an Object Lock bucket (besides Content-MD5).
    expect(headers['x-amz-sdk-checksum-algorithm']).toBe('SHA256');
    expect((await rawObject(peer, `org/gatehouse/${KEY}`))?.equals(bytes)).toBe(true);
    expect(await sink.list('segments/')).toEqual([KEY]);
  });

  it('maps a 412 from S3 to reason exists, without retrying', async () => {
    const sink = peer.sink();
    peer.front.failNext.push({ status: 412, code: 'PreconditionFailed' });
    await expect(sink.put(KEY, Buffer.from('x'))).rejects.toMatchObject({
      code: 'GH_ERR_RECORDING_FAILED',
      details: { sink: 's3', op: 'put', key: KEY, reason: 'exists', status: 412, attempts: 1 },
    });
    expect(peer.front.requests).toHaveLength(1);
  });

  it('retries transient failures (503 SlowDown, 500) with backoff and then stores the object', async () => {
    const delays: number[] = [];
    const sink = peer.sink({ maxAttempts: 4, retryBaseMs: 100, retryMaxMs: 150, sleep: async (ms) => void delays.push(ms) });
    peer.front.failNext.push({ status: 503, code: 'SlowDown' }, { status: 500, code: 'InternalError' });
    await sink.put(KEY, Buffer.from('after retries'));
    expect(peer.front.requests.filter((r) => r.startsWith('PUT'))).toHaveLength(3);
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeLessThan(100);
    expect(delays[1]).toBeLessThan(150);
    expect((await sink.get(KEY))?.toString()).toBe('after retries');
  });

  it('fails closed after a bounded number of attempts when S3 keeps failing', async () => {
    const sink = peer.sink({ maxAttempts: 3 });
    peer.front.always = { status: 500, code: 'InternalError' };
    await expect(sink.put(KEY, Buffer.from('x'))).rejects.toMatchObject({
      code: 'GH_ERR_RECORDING_FAILED',
      details: { reason: 'server', attempts: 3, status: 500, code: 'InternalError' },
    });
    expect(peer.front.requests).toHaveLength(3);
    await expect(sink.list('segments/')).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { op: 'list', reason: 'server', attempts: 3 } });
    await expect(sink.get(KEY)).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { op: 'get', reason: 'server' } });
  });

  it('refuses at once (no retry) when access is denied', async () => {
    const sink = peer.sink();
    peer.front.always = { status: 403, code: 'AccessDenied' };
    await expect(sink.put(KEY, Buffer.from('x'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'permission', attempts: 1 } });
    // A denied read is a failure, never "no such object".
    await expect(sink.get(KEY)).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { op: 'get', reason: 'permission' } });
    expect(peer.front.requests).toHaveLength(2);
  });

  it('a missing bucket fails every operation with reason no-bucket, without retrying', async () => {
    const sink = peer.sink({ bucket: 'no-such-bucket' });
    await expect(sink.put(KEY, Buffer.from('x'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'no-bucket', bucket: 'no-such-bucket', attempts: 1 } });
    await expect(sink.get(KEY)).rejects.toMatchObject({ details: { reason: 'no-bucket' } });
    await expect(sink.list('segments/')).rejects.toMatchObject({ details: { reason: 'no-bucket' } });
    expect(peer.front.requests).toHaveLength(3);
  });

  it('an endpoint that is down fails closed with reason unreachable after the bounded attempts', async () => {
    const delays: number[] = [];
    const sink = new S3LogSink({
      bucket: BUCKET,
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      forcePathStyle: true,
      credentials: FAKE_CREDENTIALS,
      maxAttempts: 3,
      sleep: async (ms) => void delays.push(ms),
    });
    try {
      await expect(sink.put(KEY, Buffer.from('x'))).rejects.toMatchObject({
        code: 'GH_ERR_RECORDING_FAILED',
        details: { sink: 's3', op: 'put', reason: 'unreachable', code: 'ECONNREFUSED', attempts: 3 },
      });
      expect(delays).toHaveLength(2);
    } finally {
      await sink.close();
    }
  });

  it('a put whose answer was lost after S3 stored it resolves on retry (same bytes found)', async () => {
    const sink = peer.sink();
    peer.front.dropAfterStoreNext = 1;
    await sink.put(KEY, Buffer.from('stored, answer lost'));
    // First PUT stored and dropped, second PUT got 412, then the sink read the object back.
    expect(peer.front.puts).toHaveLength(2);
    expect(peer.front.requests.some((r) => r.startsWith('GET'))).toBe(true);
    expect((await sink.get(KEY))?.toString()).toBe('stored, answer lost');
  });

  it('a lost answer followed by someone else\'s object under the key still fails with exists', async () => {
    const other = peer.sink();
    await other.put(KEY, Buffer.from('first writer'));
    const sink = peer.sink();
    // A 500 leaves it open whether the PUT was stored: the retry's 412 makes the sink compare bytes.
    peer.front.failNext.push({ status: 500, code: 'InternalError' });
    await expect(sink.put(KEY, Buffer.from('second writer'))).rejects.toMatchObject({ details: { reason: 'exists' } });
    expect((await sink.get(KEY))?.toString()).toBe('first writer');
  });

  it('lists across pages (ListObjectsV2 continuation tokens)', async () => {
    const sink = peer.sink({ prefix: 'p/', listPageSize: 2 });
    const keys = ['digests/a/0000000004.json', 'digests/a/0000000000.json', 'digests/a/0000000003.json', 'digests/a/0000000001.json', 'digests/a/0000000002.json'];
    for (const k of keys) await sink.put(k, Buffer.from(k));
    const before = peer.front.requests.length;
    expect(await sink.list('digests/')).toEqual([...keys].sort());
    expect(peer.front.requests.slice(before).filter((r) => r.includes('list-type=2'))).toHaveLength(3);
  });

  it('get retries a transient failure and returns undefined for a missing key', async () => {
    const sink = peer.sink();
    await sink.put(KEY, Buffer.from('v'));
    peer.front.failNext.push({ status: 503, code: 'SlowDown' });
    expect((await sink.get(KEY))?.toString()).toBe('v');
    expect(await sink.get('segments/none')).toBeUndefined();
  });

  it('refuses an unusable prefix at construction', () => {
    for (const prefix of ['no-slash', '/abs/', 'a/../', 'a//']) {
      expect(() => new S3LogSink({ bucket: BUCKET, region: 'us-east-1', prefix })).toThrow(expect.objectContaining({ code: 'GH_ERR_CONFIG_INVALID' }));
    }
  });

  it('carries a whole recording: recorder writes segments and signed digests, verifyLog passes', async () => {
    const sink = peer.sink({ prefix: 'gatehouse/' });
    const rec = new GatehouseRecorder(recorderOptions(sink));
    const s = await rec.openSession({ sessionId: 's3-1', protocol: 'http', principal: PRINCIPAL, connection: 'api', client: { address: '127.0.0.1' } });
    for (let i = 0; i < 5; i++) await s.append('http.request', synthetic({ method: 'GET', path: `/r/${i}` }), { durable: true, requestId: `r${i}` });
    await s.end({ reason: 'done' });
    await rec.close();
    expect(peer.front.puts.every((p) => p.headers['if-none-match'] === '*')).toBe(true);
    const verdict = await verifyLog(sink, { trustedKeys: [TEST_KEY.publicKeyPem] });
    expect(verdict.firstFailure).toBeUndefined();
    expect(verdict.ok).toBe(true);
    expect(verdict.stats).toMatchObject({ sessions: 1, events: 7, sessionsOpen: 0 });
    expect(verdict.stats.digests).toBeGreaterThanOrEqual(1);
    expect(verdict.warnings).toEqual([]);
  });
});
