import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { GatehouseError } from '../../../gateway/src/errors';
import { createSecretProvider } from '../../../gateway/src/secrets';
import { awsSecretsManagerSchemeProvider, parseAwsSecretName, postgresUrlFromRdsSecret, type AwsSecretsManagerOptions } from '../../../gateway/src/secrets/aws-secrets-manager';
import { FakeSecretsManager } from './fake-secrets-manager';

const FAKE_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };
// An RDS-generated password may hold any printable character but / @ " and space; the URL must survive worse.
const PASSWORD = 'p@ss:w/rd?#%&=+ "x"';
const RDS_SECRET = { engine: 'postgres', username: 'gate house', password: PASSWORD, host: 'db.cluster-abc.eu-west-1.rds.amazonaws.com', port: 5432, dbname: 'gatehouse' };

async function failure(promise: Promise<unknown>): Promise<GatehouseError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(GatehouseError);
    return e as GatehouseError;
  }
  throw new Error('expected the promise to reject');
}

/** The error names the reference and never carries the value, in its text or its cause chain. */
function expectClean(error: GatehouseError, ref: string, secretText: string): void {
  expect(error.code).toBe('GH_ERR_SECRET_UNAVAILABLE');
  expect(error.message).toContain(ref);
  expect(error.details).toEqual({ ref });
  let e: unknown = error;
  for (let depth = 0; e && depth < 5; depth++, e = (e as { cause?: unknown }).cause) {
    expect(String((e as Error).message ?? e)).not.toContain(secretText);
    expect(JSON.stringify(e)).not.toContain(secretText);
  }
}

describe('parseAwsSecretName', () => {
  it('splits at the first # (names and ARNs cannot hold one)', () => {
    expect(parseAwsSecretName('prod/db')).toEqual({ secretId: 'prod/db' });
    expect(parseAwsSecretName('arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf#postgres-url')).toEqual({
      secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf',
      jsonKey: 'postgres-url',
    });
  });
});

describe('postgresUrlFromRdsSecret', () => {
  it('percent-encodes every part, so node-postgres reads back the exact user, password and database', () => {
    const url = postgresUrlFromRdsSecret({ ...RDS_SECRET, dbname: 'gate house' }, 'aws-sm:x#postgres-url');
    expect(url).toMatch(/^postgresql:\/\/gate%20house:[^@]+@db\.cluster-abc\.eu-west-1\.rds\.amazonaws\.com:5432\/gate%20house\?sslmode=require$/);
    const client = new pg.Client({ connectionString: url });
    expect({ user: client.user, password: client.password, host: client.host, port: client.port, database: client.database }).toEqual({
      user: 'gate house',
      password: PASSWORD,
      host: RDS_SECRET.host,
      port: 5432,
      database: 'gate house',
    });
    expect(client.ssl).toBeTruthy();
  });

  it('defaults port 5432 and database postgres; accepts a string port; brackets an IPv6 host', () => {
    expect(postgresUrlFromRdsSecret({ username: 'u', password: 'p', host: 'h' }, 'r')).toBe('postgresql://u:p@h:5432/postgres?sslmode=require');
    expect(postgresUrlFromRdsSecret({ username: 'u', password: 'p', host: '::1', port: '6543', dbname: 'd' }, 'r', 'verify-full')).toBe('postgresql://u:p@[::1]:6543/d?sslmode=verify-full');
  });

  it('refuses incomplete or odd secrets, naming fields but never values', async () => {
    const ref = 'aws-sm:db#postgres-url';
    for (const [fields, why] of [
      [{ username: 'u', host: 'h' }, /lacks password/],
      [{ username: 'u', password: 'p', host: 'h/evil' }, /host/],
      [{ username: 'u', password: 'p', host: 'h', port: 70000 }, /port/],
      [{ username: 'u', password: 'p', host: 'h', dbname: 5 }, /dbname/],
      [{ username: 'u', password: 'p', host: 'h', dbname: 'a/b' }, /reserved/],
    ] as const) {
      const e = await failure(Promise.resolve().then(() => postgresUrlFromRdsSecret(fields, ref)));
      expect(e.message).toMatch(why);
      expectClean(e, ref, '"p"');
    }
  });
});

describe('aws-sm scheme provider (against a loopback GetSecretValue)', () => {
  let sm: FakeSecretsManager;
  const providers: Array<{ close(): void }> = [];
  beforeEach(async () => {
    sm = new FakeSecretsManager();
    await sm.start();
  });
  afterEach(async () => {
    for (const p of providers.splice(0)) p.close();
    await sm.stop();
  });
  const store = (options: AwsSecretsManagerOptions = {}) => {
    const provider = awsSecretsManagerSchemeProvider({ endpoint: sm.url, credentials: FAKE_CREDENTIALS, region: 'us-east-2', maxAttempts: 1, ...options });
    providers.push(provider);
    return createSecretProvider({ mode: 'production', providers: { 'aws-sm': provider } });
  };

  it('returns a plain secret by name (default region) and by ARN (the ARN\'s region, SigV4-signed)', async () => {
    const s = sm.add('prod/anthropic-key', 'sk-ant-123', 'eu-west-1');
    const secrets = store();
    expect(await secrets.get('aws-sm:prod/anthropic-key')).toBe('sk-ant-123');
    expect(await secrets.get(`aws-sm:${s.arn}`)).toBe('sk-ant-123');
    expect(sm.calls.map((c) => [c.target, c.secretId, c.credentialScope])).toEqual([
      ['secretsmanager.GetSecretValue', 'prod/anthropic-key', 'us-east-2/secretsmanager'],
      ['secretsmanager.GetSecretValue', s.arn, 'eu-west-1/secretsmanager'],
    ]);
  });

  it('#field selects one field of a JSON secret; the store caches it', async () => {
    sm.add('upstream', JSON.stringify({ token: 'tok-1', retries: 3 }));
    const secrets = store();
    expect(await secrets.get('aws-sm:upstream#token')).toBe('tok-1');
    expect(await secrets.get('aws-sm:upstream#token')).toBe('tok-1');
    expect(await secrets.get('aws-sm:upstream#retries')).toBe('3');
    expect(sm.calls).toHaveLength(2);
  });

  it('#postgres-url renders the kit\'s RDS secret (by ARN) as a URL node-postgres reads back exactly', async () => {
    const s = sm.add('gatehouse/db', JSON.stringify(RDS_SECRET));
    const url = await store().get(`aws-sm:${s.arn}#postgres-url`);
    const client = new pg.Client({ connectionString: url });
    expect([client.user, client.password, client.host, client.port, client.database]).toEqual(['gate house', PASSWORD, RDS_SECRET.host, 5432, 'gatehouse']);
    expect(url.endsWith('?sslmode=require')).toBe(true);
  });

  it('#postgres-url prefers a postgres-url field the secret carries itself', async () => {
    sm.add('db2', JSON.stringify({ 'postgres-url': 'postgresql://a:b@c:5432/d' }));
    expect(await store().get('aws-sm:db2#postgres-url')).toBe('postgresql://a:b@c:5432/d');
  });

  it('reads a binary secret as UTF-8', async () => {
    sm.add('bin', Buffer.from('binary-value', 'utf8'));
    expect(await store().get('aws-sm:bin')).toBe('binary-value');
  });

  it('a missing field or a non-JSON secret fails naming the reference, never the value', async () => {
    sm.add('upstream', JSON.stringify({ token: 'tok-secret-1' }));
    sm.add('plain', 'not-json-secret-value');
    const secrets = store();
    const noField = await failure(secrets.get('aws-sm:upstream#password'));
    expect(noField.message).toMatch(/no field "password"/);
    expectClean(noField, 'aws-sm:upstream#password', 'tok-secret-1');
    const notJson = await failure(secrets.get('aws-sm:plain#token'));
    expect(notJson.message).toMatch(/not JSON/);
    expectClean(notJson, 'aws-sm:plain#token', 'not-json-secret-value');
  });

  it('AWS errors (not found, access denied, KMS decryption) map to GH_ERR_SECRET_UNAVAILABLE with the error name', async () => {
    const secrets = store();
    const missing = await failure(secrets.get('aws-sm:nope'));
    expect(missing.message).toMatch(/ResourceNotFoundException/);
    expectClean(missing, 'aws-sm:nope', 'nothing');
    for (const type of ['AccessDeniedException', 'DecryptionFailure']) {
      sm.failure = { status: 400, type };
      const e = await failure(secrets.get('aws-sm:any'));
      expect(e.message).toContain(type);
      expectClean(e, 'aws-sm:any', 'nothing');
    }
  });

  it('an endpoint that is down fails with GH_ERR_SECRET_UNAVAILABLE', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const secrets = store({ endpoint: `http://127.0.0.1:${port}` });
    const e = await failure(secrets.get('aws-sm:x'));
    expect(e.message).toMatch(/ECONNREFUSED/);
    expectClean(e, 'aws-sm:x', 'nothing');
  });

  it('refuses malformed references', async () => {
    const secrets = store();
    expect((await failure(secrets.get('aws-sm:#field'))).message).toMatch(/no secret name/);
    expect((await failure(secrets.get('aws-sm:name#'))).message).toMatch(/empty field name/);
    expect(sm.calls).toHaveLength(0);
  });
});
