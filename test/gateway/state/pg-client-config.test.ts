import { pgClientConfig } from '../../../gateway/src/state/pg-client-config';
import { resolveStateClientConfig } from '../../../gateway/src/state/store';

/** The state URL becomes explicit `pg` options, read as the `pg` driver reads a connection string. */
describe('state: pg client configuration from the URL', () => {
  test('user, password, host, port and database, percent-decoded (Cloud SQL IAM user names hold "@")', () => {
    const c = pgClientConfig({ url: 'postgresql://gh-sa%40proj.iam:p%40ss@db.internal:6432/state%20db', allowUnverifiedServer: true });
    expect(c).toMatchObject({ user: 'gh-sa@proj.iam', password: 'p@ss', host: 'db.internal', port: 6432, database: 'state db', application_name: 'gatehouse' });
    expect(c.ssl).toBeUndefined();
  });

  test('a token password function replaces the URL having none; it is passed through, not called', () => {
    const password = async () => 'token';
    const c = pgClientConfig({ url: 'postgresql://app@h/d?sslmode=verify-full', iamAuth: 'azure-entra', password });
    expect(c.password).toBe(password);
  });

  test('sslmode as pg reads it: disable is plaintext, no-verify unchecked, every other mode verifies', () => {
    expect(pgClientConfig({ url: 'postgres://a@h/d?sslmode=disable', allowUnverifiedServer: true }).ssl).toBe(false);
    expect(pgClientConfig({ url: 'postgres://a@h/d?sslmode=no-verify', allowUnverifiedServer: true }).ssl).toEqual({ rejectUnauthorized: false });
    for (const mode of ['require', 'verify-ca', 'verify-full', 'prefer']) {
      expect(pgClientConfig({ url: `postgres://a@h/d?sslmode=${mode}`, allowUnverifiedServer: true }).ssl).toEqual({ rejectUnauthorized: true });
    }
  });

  test('caCert replaces the system roots; serverName is the name checked', () => {
    const ssl = pgClientConfig({ url: 'postgres://a@10.0.0.5/d?sslmode=verify-full', caCert: 'env:CA', caPem: 'PEM', serverName: 'proj:inst' }).ssl as { ca: string; checkServerIdentity: unknown };
    expect(ssl.ca).toBe('PEM');
    expect(typeof ssl.checkServerIdentity).toBe('function');
  });

  test('schema becomes search_path in the startup options, after any options of the URL', () => {
    expect(pgClientConfig({ url: 'postgres://a@h/d?sslmode=verify-full', schema: 'gatehouse' }).options).toBe('-c search_path=gatehouse');
    expect(pgClientConfig({ url: 'postgres://a@h/d?sslmode=verify-full&options=-c%20statement_timeout%3D5000', schema: 'gh' }).options).toBe('-c statement_timeout=5000 -c search_path=gh');
    expect(pgClientConfig({ url: 'postgres://a@h/d?sslmode=verify-full' }).options).toBeUndefined();
  });

  test('a unix socket directory in ?host= and other parameters pass through', () => {
    expect(pgClientConfig({ url: 'postgres://a@/d?host=/var/run/postgresql&statement_timeout=1000&application_name=x' })).toMatchObject({ host: '/var/run/postgresql', statement_timeout: '1000', application_name: 'x' });
  });

  test('the cross-field rules hold at open too, and a bad URL is refused without being repeated', () => {
    expect(() => pgClientConfig({ url: 'postgres://a:pw@h/d?sslmode=verify-full', iamAuth: 'gcp-cloudsql' })).toThrow(/state.url: a password in the URL together with iamAuth/);
    let message = '';
    try {
      pgClientConfig({ url: 'postgres://a:s3cret%zz@h/d' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/state.url: the password in the URL is not valid percent-encoding/);
    expect(message).not.toContain('s3cret');
  });

  test('a URL held in a secret (a bring-your-own database) is refused at open unless verified: GH_ERR_CONFIG_INVALID, nothing connected, no password repeated', async () => {
    const urls: Record<string, string> = {
      'env:BYO_REQUIRE': 'postgresql://app:s3cret@byo.postgres.database.azure.com:5432/gh?sslmode=require',
      'env:BYO_VERIFIED': 'postgresql://app:s3cret@byo.postgres.database.azure.com:5432/gh?sslmode=verify-full',
    };
    const resolveSecret = async (ref: string) => urls[ref]!;
    const refused = await resolveStateClientConfig({ url: 'env:BYO_REQUIRE', embeddedPath: 'memory' }, { resolveSecret }).then(() => undefined, (e: unknown) => e);
    expect(refused).toMatchObject({ code: 'GH_ERR_CONFIG_INVALID', message: expect.stringContaining('state.url: a state database on another host needs sslmode=verify-full (found sslmode=require)') });
    expect((refused as Error).message).not.toContain('s3cret');
    // The same URL passes with the explicit opt-out, or once raised by state.sslMode.
    await expect(resolveStateClientConfig({ url: 'env:BYO_REQUIRE', embeddedPath: 'memory', allowUnverifiedServer: true }, { resolveSecret })).resolves.toMatchObject({ ssl: { rejectUnauthorized: true } });
    await expect(resolveStateClientConfig({ url: 'env:BYO_REQUIRE', embeddedPath: 'memory', sslMode: 'verify-full' }, { resolveSecret })).resolves.toMatchObject({ host: 'byo.postgres.database.azure.com' });
    await expect(resolveStateClientConfig({ url: 'env:BYO_VERIFIED', embeddedPath: 'memory' }, { resolveSecret })).resolves.toMatchObject({ ssl: { rejectUnauthorized: true } });
  });
});
