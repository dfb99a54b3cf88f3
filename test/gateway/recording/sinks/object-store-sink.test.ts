import { GatehouseError } from '../../../../gateway/src/errors';
import { ObjectStoreSink, type ListPage, type StoreFailure } from '../../../../gateway/src/recording/sinks/object-store-sink';

// The shared rules of the object-store sinks, on a store whose answers the test scripts. Each real
// store (S3 on s3rver, Azure Blob on Azurite, GCS on its JSON API stand-in) runs its own suite and
// the sink conformance suite; this pins what they share, including paths those servers never take.

class StoreError extends Error {
  constructor(readonly failure: StoreFailure) {
    super(failure.code);
  }
}

class ScriptedStore extends ObjectStoreSink {
  readonly objects = new Map<string, Buffer>();
  readonly calls: string[] = [];
  /** Failures the next creates throw, in order; `land` stores the object before failing. */
  createFailures: { failure: StoreFailure; land?: boolean }[] = [];
  pages: ListPage[] | ((prefix: string, token?: string) => ListPage) = [];

  constructor(prefix = '') {
    super(
      { sink: 'scripted', label: 'Scripted', location: { field: 'bucket', value: 'b1' }, classify: (e) => (e instanceof StoreError ? e.failure : { reason: 'io', transient: false, code: 'unknown' }), reasonText: { exists: 'object already exists', server: 'server error' } },
      prefix,
      { maxAttempts: 3, sleep: async () => {} },
    );
  }

  protected async createObject(name: string, body: Buffer): Promise<void> {
    this.calls.push(`create ${name}`);
    const next = this.createFailures.shift();
    if (next?.land) this.objects.set(name, Buffer.from(body));
    if (next) throw new StoreError(next.failure);
    if (this.objects.has(name)) throw new StoreError({ reason: 'exists', transient: false, status: 412, code: 'PreconditionFailed' });
    this.objects.set(name, Buffer.from(body));
  }

  protected async readObject(name: string): Promise<Buffer | undefined> {
    this.calls.push(`read ${name}`);
    return this.objects.get(name);
  }

  protected async listPage(prefix: string, token: string | undefined): Promise<ListPage> {
    this.calls.push(`list ${prefix} ${token ?? '-'}`);
    if (typeof this.pages === 'function') return this.pages(prefix, token);
    const page = this.pages.shift();
    if (!page) throw this.brokenListing(prefix, 'no more pages scripted');
    return page;
  }
}

const failureOf = async (p: Promise<unknown>): Promise<GatehouseError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof GatehouseError) return e;
    throw e;
  }
  throw new Error('expected a failure');
};

const serverError: StoreFailure = { reason: 'server', transient: true, status: 500, code: 'InternalError' };

describe('ObjectStoreSink', () => {
  test('a create whose answer was lost but which landed with the same bytes counts as done', async () => {
    const s = new ScriptedStore('p/');
    s.createFailures = [{ failure: serverError, land: true }];
    await s.put('a/b', Buffer.from('same'));
    expect(s.calls).toEqual(['create p/a/b', 'create p/a/b', 'read p/a/b']);
  });

  test('an object that exists with other bytes is a real exists, never overwritten', async () => {
    const s = new ScriptedStore();
    s.objects.set('a/b', Buffer.from('theirs'));
    s.createFailures = [{ failure: serverError }];
    const f = await failureOf(s.put('a/b', Buffer.from('ours')));
    expect(f.code).toBe('GH_ERR_RECORDING_FAILED');
    expect(f.details).toMatchObject({ sink: 'scripted', op: 'put', key: 'a/b', reason: 'exists', attempts: 2, bucket: 'b1' });
    expect(s.objects.get('a/b')?.toString()).toBe('theirs');
  });

  test('exists on a first attempt is not read back: nothing of ours can have landed', async () => {
    const s = new ScriptedStore();
    s.objects.set('k', Buffer.from('x'));
    const f = await failureOf(s.put('k', Buffer.from('x')));
    expect(f.details).toMatchObject({ reason: 'exists', attempts: 1 });
    expect(s.calls).toEqual(['create k']);
  });

  test('transient failures are retried up to the budget, then fail with the store, reason and count named', async () => {
    const s = new ScriptedStore();
    s.createFailures = [{ failure: serverError }, { failure: serverError }, { failure: serverError }];
    const f = await failureOf(s.put('k', Buffer.from('x')));
    expect(f.message).toBe('log sink scripted cannot put k in bucket b1: server error (InternalError, HTTP 500) after 3 attempts');
    expect(s.calls.filter((c) => c.startsWith('create'))).toHaveLength(3);
  });

  test('listing follows pages, strips the prefix, keeps only names under it, and sorts', async () => {
    const s = new ScriptedStore('p/');
    s.pages = [
      { names: ['p/s/2', 'p/s/10'], next: 't1' },
      { names: ['p/s/1', 'other/s/0'] },
    ];
    expect(await s.list('s/')).toEqual(['s/1', 's/10', 's/2']);
    expect(s.calls).toEqual(['list p/s/ -', 'list p/s/ t1']);
  });

  test('a listing the store answers in a way that cannot be followed fails at once, not retried as a store error', async () => {
    const s = new ScriptedStore();
    const f = await failureOf(s.list('s/'));
    expect(f.details).toMatchObject({ sink: 'scripted', op: 'list', reason: 'io' });
    expect(f.message).toContain('no more pages scripted');
    expect(s.calls).toEqual(['list s/ -']);
  });

  test.each([['../x'], ['a/./b'], ['']])('key %j is refused before the store is called', async (key) => {
    const s = new ScriptedStore();
    const f = await failureOf(s.put(key, Buffer.from('x')));
    expect(f.details).toMatchObject({ reason: 'invalid-key', op: 'put' });
    expect(s.calls).toEqual([]);
  });

  test.each([['a'], ['a//'], ['../'], ['a b/']])('prefix %j is a configuration error', (prefix) => {
    expect(() => new ScriptedStore(prefix)).toThrow(expect.objectContaining({ code: 'GH_ERR_CONFIG_INVALID', message: expect.stringContaining('Scripted log sink prefix') }));
  });
});
