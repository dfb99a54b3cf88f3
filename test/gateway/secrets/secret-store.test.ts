import { chmodSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatehouseError } from '../../../gateway/src/errors';
import { createSecretProvider, type SchemeProvider } from '../../../gateway/src/secrets';

const VALUE = 'sk-live-9f8e7d6c5b4a';

async function failure(promise: Promise<unknown>): Promise<GatehouseError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(GatehouseError);
    return e as GatehouseError;
  }
  throw new Error('expected the promise to reject');
}

function expectClean(error: GatehouseError, ref: string): void {
  expect(error.code).toBe('GH_ERR_SECRET_UNAVAILABLE');
  expect(error.message).toContain(ref);
  expect(error.message).not.toContain(VALUE);
  expect(JSON.stringify(error.details)).not.toContain(VALUE);
}

describe('env: secrets', () => {
  it('resolves a set variable', async () => {
    const secrets = createSecretProvider({ mode: 'production', env: { UPSTREAM_TOKEN: VALUE } });
    await expect(secrets.get('env:UPSTREAM_TOKEN')).resolves.toBe(VALUE);
  });

  it('reports a missing or empty variable by reference', async () => {
    const secrets = createSecretProvider({ mode: 'production', env: { EMPTY: '' } });
    const missing = await failure(secrets.get('env:MISSING_TOKEN'));
    expectClean(missing, 'env:MISSING_TOKEN');
    expect(missing.message).toMatch(/not set/);
    expect((await failure(secrets.get('env:EMPTY'))).message).toMatch(/empty/);
    expect((await failure(secrets.get('env:not-a-name'))).message).toMatch(/not a valid environment variable name/);
  });

  it('reads the environment on every use, so a changed variable is seen', async () => {
    const env: NodeJS.ProcessEnv = { TOKEN: 'one' };
    const secrets = createSecretProvider({ mode: 'production', env });
    await expect(secrets.get('env:TOKEN')).resolves.toBe('one');
    env.TOKEN = 'two';
    await expect(secrets.get('env:TOKEN')).resolves.toBe('two');
  });
});

describe('file: secrets', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-secrets-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function secretFile(name: string, content: string, mode = 0o600): string {
    const path = join(dir, name);
    writeFileSync(path, content);
    chmodSync(path, mode);
    return path;
  }

  it('removes exactly one trailing newline', async () => {
    const secrets = createSecretProvider({ mode: 'production' });
    await expect(secrets.get(`file:${secretFile('a', `${VALUE}\n`)}`)).resolves.toBe(VALUE);
    await expect(secrets.get(`file:${secretFile('b', `${VALUE}\r\n`)}`)).resolves.toBe(VALUE);
    await expect(secrets.get(`file:${secretFile('c', `${VALUE}\n\n`)}`)).resolves.toBe(`${VALUE}\n`);
    await expect(secrets.get(`file:${secretFile('d', `line1\nline2`)}`)).resolves.toBe('line1\nline2');
  });

  it('resolves relative paths against baseDir', async () => {
    secretFile('token', VALUE);
    const secrets = createSecretProvider({ mode: 'production', baseDir: dir });
    await expect(secrets.get('file:token')).resolves.toBe(VALUE);
  });

  it('picks up a rotated file on the next use, within the cache lifetime', async () => {
    const path = secretFile('rotating', 'old-value\n');
    const secrets = createSecretProvider({ mode: 'production', clock: () => 0 });
    await expect(secrets.get(`file:${path}`)).resolves.toBe('old-value');
    writeFileSync(path, 'new-value-2\n');
    // Make the change visible even on filesystems with coarse timestamps.
    const { mtime } = statSync(path);
    utimesSync(path, mtime, new Date(mtime.getTime() + 5000));
    await expect(secrets.get(`file:${path}`)).resolves.toBe('new-value-2');
  });

  it('picks up a rotation done by swapping the file (same size, new inode)', async () => {
    const path = secretFile('swapped', 'aaaa');
    const secrets = createSecretProvider({ mode: 'production', clock: () => 0 });
    await expect(secrets.get(`file:${path}`)).resolves.toBe('aaaa');
    const next = secretFile('swapped.next', 'bbbb');
    const { mtime } = statSync(path);
    utimesSync(next, mtime, mtime);
    renameSync(next, path);
    await expect(secrets.get(`file:${path}`)).resolves.toBe('bbbb');
  });

  it('reports a missing file by reference, and an empty one', async () => {
    const secrets = createSecretProvider({ mode: 'production' });
    const ref = `file:${join(dir, 'nope')}`;
    const error = await failure(secrets.get(ref));
    expectClean(error, ref);
    expect(error.message).toContain('ENOENT');
    expect((await failure(secrets.get(`file:${secretFile('empty', '\n')}`))).message).toMatch(/empty/);
    expect((await failure(secrets.get(`file:${dir}`))).message).toMatch(/not a regular file/);
  });

  it('fails once a cached file is deleted, rather than serving the old value', async () => {
    const path = secretFile('revoked', VALUE);
    const secrets = createSecretProvider({ mode: 'production', clock: () => 0 });
    await expect(secrets.get(`file:${path}`)).resolves.toBe(VALUE);
    rmSync(path);
    expectClean(await failure(secrets.get(`file:${path}`)), `file:${path}`);
  });

  it('refuses a world-readable file in production and warns once in development', async () => {
    const path = secretFile('open', VALUE, 0o644);
    const error = await failure(createSecretProvider({ mode: 'production' }).get(`file:${path}`));
    expectClean(error, `file:${path}`);
    expect(error.message).toMatch(/readable by every user/);

    const warnings: object[] = [];
    const dev = createSecretProvider({ mode: 'development', logger: { warn: (o) => warnings.push(o) }, cacheTtlMs: 0 });
    await expect(dev.get(`file:${path}`)).resolves.toBe(VALUE);
    await expect(dev.get(`file:${path}`)).resolves.toBe(VALUE);
    expect(warnings).toEqual([{ ref: `file:${path}` }]);

    const allowed = createSecretProvider({ mode: 'production', allowWorldReadableFiles: true });
    await expect(allowed.get(`file:${path}`)).resolves.toBe(VALUE);
  });
});

describe('secret store', () => {
  function countingProvider(values: string[], extra: Partial<SchemeProvider> = {}): SchemeProvider & { fetches: string[] } {
    const fetches: string[] = [];
    return {
      fetches,
      async fetch(name) {
        fetches.push(name);
        return { value: values[Math.min(fetches.length - 1, values.length - 1)]!, version: String(fetches.length) };
      },
      ...extra,
    };
  }

  it('refuses an unknown scheme and a malformed reference, naming them', async () => {
    const secrets = createSecretProvider({ mode: 'production' });
    const unknown = await failure(secrets.get('vault:kv/prod/token'));
    expectClean(unknown, 'vault:kv/prod/token');
    expect(unknown.message).toMatch(/no provider for scheme "vault" \(known: env, file\)/);
    expect(() => secrets.check('vault:x')).toThrow(/no provider for scheme "vault"/);
    expect(() => secrets.check('plain-text')).toThrow(/not a secret reference/);
    expect(() => secrets.check('env:TOKEN')).not.toThrow();
  });

  it('lets a cloud provider register under its scheme without changing callers', async () => {
    const awsSm = countingProvider([VALUE]);
    const secrets = createSecretProvider({ mode: 'production', providers: { 'aws-sm': awsSm } });
    expect(secrets.schemes).toEqual(['aws-sm', 'env', 'file']);
    await expect(secrets.get('aws-sm:arn:aws:secretsmanager:eu-west-1:1:secret:gh')).resolves.toBe(VALUE);
    expect(awsSm.fetches).toEqual(['arn:aws:secretsmanager:eu-west-1:1:secret:gh']);
  });

  it('serves from cache for the lifetime, then fetches again (injected clock)', async () => {
    let now = 1_000;
    const provider = countingProvider(['v1', 'v2']);
    const secrets = createSecretProvider({ mode: 'production', providers: { test: provider }, cacheTtlMs: 60_000, clock: () => now });
    await expect(secrets.get('test:a')).resolves.toBe('v1');
    now += 59_999;
    await expect(secrets.get('test:a')).resolves.toBe('v1');
    expect(provider.fetches).toHaveLength(1);
    now += 1;
    await expect(secrets.get('test:a')).resolves.toBe('v2');
    expect(provider.fetches).toHaveLength(2);
  });

  it("honours a provider's own lifetime and its isCurrent check", async () => {
    let current = true;
    const provider = countingProvider(['v1', 'v2'], { cacheTtlMs: 10, isCurrent: async () => current });
    let now = 0;
    const secrets = createSecretProvider({ mode: 'production', providers: { test: provider }, clock: () => now });
    await secrets.get('test:a');
    await expect(secrets.get('test:a')).resolves.toBe('v1');
    current = false;
    await expect(secrets.get('test:a')).resolves.toBe('v2');
    current = true;
    now = 10;
    await secrets.get('test:a');
    expect(provider.fetches).toHaveLength(3);
  });

  it('shares one fetch between concurrent callers', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const provider = countingProvider([VALUE]);
    const slow: SchemeProvider = { fetch: async (name, ref) => (await gate, provider.fetch(name, ref)) };
    const secrets = createSecretProvider({ mode: 'production', providers: { slow } });
    const both = Promise.all([secrets.get('slow:a'), secrets.get('slow:a')]);
    release();
    await expect(both).resolves.toEqual([VALUE, VALUE]);
    expect(provider.fetches).toHaveLength(1);
  });

  it('keeps a failing provider’s message (which could quote the value) out of the error text', async () => {
    const leaky: SchemeProvider = {
      async fetch() {
        throw Object.assign(new Error(`could not parse ${VALUE}`), { code: 'ParseError' });
      },
    };
    const secrets = createSecretProvider({ mode: 'production', providers: { leaky } });
    const error = await failure(secrets.get('leaky:thing'));
    expectClean(error, 'leaky:thing');
    expect(error.message).toContain('ParseError');
  });

  it('does not serve a stale value after a failed refresh, and invalidate() forces a fetch', async () => {
    let now = 0;
    let broken = false;
    const provider = countingProvider(['v1', 'v2', 'v3']);
    const flaky: SchemeProvider = {
      fetch: async (name, ref) => {
        if (broken) throw new Error('down');
        return provider.fetch(name, ref);
      },
    };
    const secrets = createSecretProvider({ mode: 'production', providers: { flaky }, cacheTtlMs: 100, clock: () => now });
    await expect(secrets.get('flaky:a')).resolves.toBe('v1');
    now = 100;
    broken = true;
    await failure(secrets.get('flaky:a'));
    now = 101;
    await failure(secrets.get('flaky:a'));
    broken = false;
    await expect(secrets.get('flaky:a')).resolves.toBe('v2');
    secrets.invalidate('flaky:a');
    await expect(secrets.get('flaky:a')).resolves.toBe('v3');
  });
});

describe('peek: values available without waiting', () => {
  it('reads env: synchronously (with get’s errors), and serves only fresh cache entries of other schemes', async () => {
    const fetched: string[] = [];
    const secrets = createSecretProvider({
      mode: 'production',
      env: { TOKEN: 'env-value' },
      providers: { slow: { cacheTtlMs: 1000, fetch: async (name) => (fetched.push(name), { value: `v-${name}` }) } },
    });
    expect(secrets.peek?.('env:TOKEN')).toBe('env-value');
    expect(() => secrets.peek?.('env:MISSING')).toThrow(/MISSING is not set/);
    expect(secrets.peek?.('slow:a')).toBeUndefined();
    expect(fetched).toEqual([]);
    await expect(secrets.get('slow:a')).resolves.toBe('v-a');
    expect(secrets.peek?.('slow:a')).toBe('v-a');
    secrets.invalidate('slow:a');
    expect(secrets.peek?.('slow:a')).toBeUndefined();
  });
});
