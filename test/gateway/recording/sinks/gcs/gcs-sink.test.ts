import { isGatehouseError } from '../../../../../gateway/src/errors';
import { GcsLogSink, type GcsLogSinkOptions } from '../../../../../gateway/src/recording/sinks/gcs';
import { startGcsEmulator, type GcsEmulator } from './gcs-emulator';
import { describeLogSinkConformance } from '../../../../support/recording-sink-conformance';

let gcs: GcsEmulator;
const noWait = async () => undefined;

beforeAll(async () => {
  gcs = await startGcsEmulator(['records', 'other', 'locked']);
});
afterAll(async () => {
  await gcs.close();
});
beforeEach(() => {
  gcs.objects.clear();
  gcs.requests.length = 0;
  gcs.forbiddenBuckets.clear();
});

const sink = (extra: Partial<GcsLogSinkOptions> = {}) =>
  new GcsLogSink({ bucket: 'records', prefix: 'gatehouse/', apiEndpoint: gcs.endpoint, projectId: 'test', sleep: noWait, ...extra });

async function failureOf(p: Promise<unknown>): Promise<{ code: string; details: Record<string, unknown>; message: string }> {
  try {
    await p;
  } catch (e) {
    if (!isGatehouseError(e)) throw e;
    return { code: e.code, details: (e as unknown as { details: Record<string, unknown> }).details, message: e.message };
  }
  throw new Error('expected a failure');
}

describe('GcsLogSink (against an in-test JSON API emulator)', () => {
  test('put is one upload with ifGenerationMatch=0, readable back byte for byte, under the prefix', async () => {
    const s = sink();
    const bytes = new Uint8Array([0, 1, 2, 255, 10, 13]);
    await s.put('2026/01/02/s1/seg-000001.jsonl', bytes);
    expect(gcs.requests).toEqual(['POST /upload/storage/v1/b/records/o']);
    expect([...gcs.objects.keys()]).toEqual(['records/gatehouse/2026/01/02/s1/seg-000001.jsonl']);
    expect(await s.get('2026/01/02/s1/seg-000001.jsonl')).toEqual(Buffer.from(bytes));
  });

  test('a missing key reads as undefined', async () => {
    expect(await sink().get('nope/none')).toBeUndefined();
  });

  test('put refuses to overwrite and the first object stays as it was', async () => {
    const s = sink();
    await s.put('a/b', Buffer.from('first'));
    const f = await failureOf(s.put('a/b', Buffer.from('second')));
    expect(f).toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { sink: 'gcs', op: 'put', key: 'a/b', reason: 'exists', status: 412 } });
    expect((await s.get('a/b'))!.toString()).toBe('first');
  });

  test('list returns keys under a prefix, sorted, without the sink prefix, across pages', async () => {
    const s = sink({ listPageSize: 2 });
    for (const k of ['x/3', 'x/1', 'y/1', 'x/2', 'x/10']) await s.put(k, Buffer.from(k));
    await sink({ prefix: 'elsewhere/' }).put('x/9', Buffer.from('not ours'));
    expect(await s.list('x/')).toEqual(['x/1', 'x/10', 'x/2', 'x/3']);
    expect(await s.list('')).toEqual(['x/1', 'x/10', 'x/2', 'x/3', 'y/1']);
    expect(gcs.requests.filter((r) => r === 'GET /storage/v1/b/records/o').length).toBeGreaterThan(2);
  });

  test('invalid keys are refused before any request', async () => {
    const s = sink();
    expect((await failureOf(s.put('../escape', Buffer.from('x')))).details.reason).toBe('invalid-key');
    expect((await failureOf(s.list('../')))).toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
    expect(gcs.requests).toEqual([]);
  });

  test('a missing bucket and a forbidden bucket fail closed without retries', async () => {
    expect((await failureOf(sink({ bucket: 'absent' }).put('k', Buffer.from('x')))).details).toMatchObject({ reason: 'no-bucket', attempts: 1 });
    gcs.forbiddenBuckets.add('other');
    expect((await failureOf(sink({ bucket: 'other' }).put('k', Buffer.from('x')))).details).toMatchObject({ reason: 'permission', status: 403, attempts: 1 });
  });

  test('server errors are retried, then succeed', async () => {
    gcs.failNext(2, 503);
    const sleeps: number[] = [];
    await sink({ sleep: async (ms) => void sleeps.push(ms) }).put('retry/ok', Buffer.from('v'));
    expect(sleeps).toHaveLength(2);
    expect(gcs.objects.get('records/gatehouse/retry/ok')!.bytes.toString()).toBe('v');
  });

  test('a put whose answer was lost but which landed counts as done; a different body does not', async () => {
    const s = sink();
    // The first attempt's 500 stands for "stored, answer lost": the object is there, then 412.
    await s.put('lost/answer', Buffer.from('same'));
    gcs.failNext(1, 500);
    await expect(s.put('lost/answer', Buffer.from('same'))).resolves.toBeUndefined();
    gcs.failNext(1, 500);
    expect((await failureOf(s.put('lost/answer', Buffer.from('different')))).details.reason).toBe('exists');
  });

  test('persistent server errors fail closed after the attempt budget', async () => {
    gcs.failNext(10, 500);
    const f = await failureOf(sink({ maxAttempts: 3 }).put('k', Buffer.from('x')));
    expect(f.details).toMatchObject({ reason: 'server', attempts: 3 });
    gcs.failNext(0, 0);
  });

  test('an unreachable endpoint fails closed', async () => {
    const f = await failureOf(sink({ apiEndpoint: 'http://127.0.0.1:1', maxAttempts: 2 }).get('k'));
    expect(f.details).toMatchObject({ reason: 'unreachable', attempts: 2 });
  });

  test('configuration errors are refused at construction', () => {
    expect(() => sink({ prefix: 'no-slash' })).toThrow(/prefix must be empty or end with/);
    expect(() => sink({ bucket: 'UPPER' })).toThrow(/bucket must be/);
    expect(() => sink({ apiEndpoint: 'http://storage.example.com' })).toThrow(/must use https/);
  });
});

// The shared suite, against the JSON API stand-in (gcs-emulator.ts: no faithful Cloud Storage
// emulator runs from npm or Debian here; it follows the JSON API reference for the calls the sink makes).
let conformanceRun = 0;
describeLogSinkConformance('gcs (JSON API stand-in)', async () => ({
  sink: new GcsLogSink({ bucket: 'records', prefix: `conformance-${++conformanceRun}/`, apiEndpoint: gcs.endpoint, projectId: 'test', sleep: noWait }),
  cleanup: async () => undefined,
}));
