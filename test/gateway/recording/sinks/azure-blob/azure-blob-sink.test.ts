import { createServer } from 'node:net';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { isGatehouseError } from '../../../../../gateway/src/errors';
import { AzureBlobLogSink } from '../../../../../gateway/src/recording/sinks/azure-blob';
import { DEV_ACCOUNT, startAzurite, type Azurite } from './azurite';
import { describeLogSinkConformance } from '../../../../support/recording-sink-conformance';

let azurite: Azurite;
let n = 0;
const noWait = async () => undefined;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});

/** A fresh container per test, so tests never see each other's blobs. */
async function freshSink(prefix = 'gatehouse/', extra: Partial<ConstructorParameters<typeof AzureBlobLogSink>[0]> = {}) {
  const container = `records-${++n}`;
  await new BlobServiceClient(azurite.endpoint, azurite.credential).getContainerClient(container).create();
  return new AzureBlobLogSink({ endpoint: azurite.endpoint, container, prefix, credential: azurite.credential, sleep: noWait, ...extra });
}

async function failureOf(p: Promise<unknown>): Promise<{ code: string; details: Record<string, unknown>; message: string }> {
  try {
    await p;
  } catch (e) {
    if (!isGatehouseError(e)) throw e;
    return { code: e.code, details: (e as unknown as { details: Record<string, unknown> }).details, message: e.message };
  }
  throw new Error('expected a failure');
}

describe('AzureBlobLogSink (against Azurite)', () => {
  test('put is readable back byte for byte, under the prefix', async () => {
    const sink = await freshSink();
    const bytes = new Uint8Array([0, 1, 2, 255, 10, 13]);
    await sink.put('2026/01/02/s1/seg-000001.jsonl', bytes);
    expect(await sink.get('2026/01/02/s1/seg-000001.jsonl')).toEqual(Buffer.from(bytes));
    const raw = new BlobServiceClient(azurite.endpoint, azurite.credential).getContainerClient(sink.container);
    const names: string[] = [];
    for await (const b of raw.listBlobsFlat()) names.push(b.name);
    expect(names).toEqual(['gatehouse/2026/01/02/s1/seg-000001.jsonl']);
  });

  test('a missing key reads as undefined', async () => {
    const sink = await freshSink();
    expect(await sink.get('nope/none.jsonl')).toBeUndefined();
  });

  test('put refuses to overwrite (If-None-Match: *) and the first object stays as it was', async () => {
    const sink = await freshSink();
    await sink.put('a/b.jsonl', Buffer.from('first'));
    const f = await failureOf(sink.put('a/b.jsonl', Buffer.from('second')));
    expect(f.code).toBe('GH_ERR_RECORDING_FAILED');
    expect(f.details).toMatchObject({ sink: 'azure-blob', op: 'put', key: 'a/b.jsonl', reason: 'exists' });
    expect((await sink.get('a/b.jsonl'))!.toString()).toBe('first');
  });

  test('list returns keys under a prefix, sorted, without the sink prefix, across pages', async () => {
    const sink = await freshSink('p/', { listPageSize: 2 });
    for (const k of ['x/3', 'x/1', 'y/1', 'x/2', 'x/10']) await sink.put(k, Buffer.from(k));
    expect(await sink.list('x/')).toEqual(['x/1', 'x/10', 'x/2', 'x/3']);
    expect(await sink.list('')).toEqual(['x/1', 'x/10', 'x/2', 'x/3', 'y/1']);
    expect(await sink.list('z/')).toEqual([]);
  });

  test('invalid keys and list prefixes are refused before any request', async () => {
    const sink = await freshSink();
    expect((await failureOf(sink.put('../escape', Buffer.from('x')))).details.reason).toBe('invalid-key');
    expect((await failureOf(sink.get('a//b'))).details.reason).toBe('invalid-key');
    expect((await failureOf(sink.list('../')))).toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
  });

  test('a missing container fails closed with reason no-container', async () => {
    const sink = new AzureBlobLogSink({ endpoint: azurite.endpoint, container: 'never-created', credential: azurite.credential, sleep: noWait });
    const f = await failureOf(sink.put('k', Buffer.from('x')));
    expect(f.details).toMatchObject({ reason: 'no-container', attempts: 1 });
  });

  test('a wrong key fails closed with reason permission, and the message holds no key material', async () => {
    const wrong = new StorageSharedKeyCredential(DEV_ACCOUNT, Buffer.alloc(64, 7).toString('base64'));
    const good = await freshSink();
    const sink = new AzureBlobLogSink({ endpoint: azurite.endpoint, container: good.container, credential: wrong, sleep: noWait });
    const f = await failureOf(sink.put('k', Buffer.from('x')));
    expect(f.details).toMatchObject({ reason: 'permission', status: 403 });
    expect(f.message).not.toContain(Buffer.alloc(64, 7).toString('base64'));
  });

  test('an unreachable endpoint is retried a bounded number of times, then fails closed', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const sleeps: number[] = [];
    const sink = new AzureBlobLogSink({
      endpoint: `http://127.0.0.1:${port}/${DEV_ACCOUNT}`, container: 'records', credential: azurite.credential,
      maxAttempts: 3, sleep: async (ms) => void sleeps.push(ms),
    });
    const f = await failureOf(sink.put('k', Buffer.from('x')));
    expect(f.details).toMatchObject({ reason: 'unreachable', attempts: 3 });
    expect(sleeps).toHaveLength(2);
  });

  test('a put whose first answer was lost but which landed counts as done (and a different body does not)', async () => {
    const sink = await freshSink();
    // Simulate "stored, answer lost": the blob exists with these bytes, and the retry sees 409.
    await sink.put('lost/answer', Buffer.from('same'));
    const flaky = sink as unknown as { put: AzureBlobLogSink['put'] };
    let calls = 0;
    const client = (sink as unknown as { client: { getBlockBlobClient(n: string): { upload: (...a: unknown[]) => Promise<unknown> } } }).client;
    const original = client.getBlockBlobClient.bind(client);
    client.getBlockBlobClient = (name: string) => {
      const blob = original(name);
      const upload = blob.upload.bind(blob);
      blob.upload = async (...a: unknown[]) => {
        if (calls++ === 0) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        return upload(...a);
      };
      return blob;
    };
    await expect(flaky.put('lost/answer', Buffer.from('same'))).resolves.toBeUndefined();
    calls = 0;
    const f = await failureOf(flaky.put('lost/answer', Buffer.from('different')));
    expect(f.details.reason).toBe('exists');
  });

  test('configuration errors are refused at construction', () => {
    const base = { endpoint: azurite.endpoint, container: 'records', credential: azurite.credential };
    expect(() => new AzureBlobLogSink({ ...base, prefix: 'no-slash' })).toThrow(/prefix must be empty or end with/);
    expect(() => new AzureBlobLogSink({ ...base, container: 'Bad_Name' })).toThrow(/container must be/);
    expect(() => new AzureBlobLogSink({ ...base, endpoint: 'http://storage.example.com/' })).toThrow(/must use https/);
  });
});

// The shared suite, against Azurite (a fresh container per test).
describeLogSinkConformance('azure-blob (Azurite)', async () => ({ sink: await freshSink(), cleanup: async () => undefined }));
