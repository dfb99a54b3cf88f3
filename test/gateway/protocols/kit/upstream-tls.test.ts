import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecretProvider } from '../../../../gateway/src/secrets';
import { readListenerPem, readPemReference, UpstreamCaCache } from '../../../../gateway/src/protocols/kit/upstream-tls';
import { makeTempDir } from '../../../support/recording-helpers';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('UpstreamCaCache', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir('gh-ca-')));
  afterEach(() => cleanup());

  it('reads a CA file once and serves it to every connection that names it', async () => {
    const path = join(dir, 'ca.pem');
    await writeFile(path, PEM);
    const cas = new UpstreamCaCache(createSecretProvider({ mode: 'development', env: {} }));
    expect(await cas.get(path)).toBe(PEM);
    await rm(path);
    // Still served: read once, on first use.
    expect(await cas.get(path)).toBe(PEM);
    expect(await cas.get(undefined)).toBeUndefined();
  });

  it('reads a secret reference through the secret provider', async () => {
    const cas = new UpstreamCaCache(createSecretProvider({ mode: 'development', env: { UPSTREAM_CA: PEM } }));
    expect(await cas.get('env:UPSTREAM_CA')).toBe(PEM);
  });

  it('forgets a failed read, so a later use tries again; the error names the reference only', async () => {
    const path = join(dir, 'later.pem');
    const cas = new UpstreamCaCache(createSecretProvider({ mode: 'development', env: {} }));
    await expect(cas.get(path)).rejects.toMatchObject({ code: 'GH_ERR_SECRET_UNAVAILABLE', message: expect.stringContaining(path) });
    await writeFile(path, PEM);
    expect(await cas.get(path)).toBe(PEM);
  });
});

describe('readPemReference: the one PEM reader of listeners and upstream dials', () => {
  const secrets = createSecretProvider({ mode: 'development', env: { LISTENER_CERT: PEM } });

  it('a listener certificate that cannot be read is a configuration error naming the path only', async () => {
    await expect(readListenerPem('/nonexistent/cert.pem', secrets)).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_UNREADABLE', message: 'cannot read /nonexistent/cert.pem: ENOENT' });
    await expect(readPemReference('/nonexistent/ca.pem', secrets)).rejects.toMatchObject({ code: 'GH_ERR_SECRET_UNAVAILABLE' });
  });

  it('a secret reference goes to the secret provider, for listeners and upstreams alike', async () => {
    expect(await readListenerPem('env:LISTENER_CERT', secrets)).toBe(PEM);
    expect(await readPemReference('env:LISTENER_CERT', secrets)).toBe(PEM);
  });
});
