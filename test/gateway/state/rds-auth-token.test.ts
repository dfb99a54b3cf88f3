import { createHash, createHmac } from 'node:crypto';
import { stateSchema } from '../../../gateway/src/config/schema';
import { rdsRegionOf, rdsSigningRegion, stateConnectionProblems } from '../../../gateway/src/state/connection-url';
import { createRdsTokenSource, rdsAuthToken, type RdsAuthTarget } from '../../../gateway/src/state/rds-auth-token';

/**
 * RDS IAM authentication tokens (the login with a real PostgreSQL: iam-auth.test.ts). The
 * expected tokens below were produced by AWS's own signer, `@aws-sdk/rds-signer` 3.1178.0
 * (`new Signer({ hostname, port, username, region, credentials }).getAuthToken()` with the clock
 * fixed at 2026-12-06T22:30:00Z); the package is not a dependency, so its output is kept here.
 */
const target: RdsAuthTarget = { host: 'gatehouse-state.cluster-abcdefghijkl.eu-west-1.rds.amazonaws.com', port: 5432, user: 'gatehouse_app', region: 'eu-west-1' };
const keys = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const sessionToken = 'IQoJb3JpZ2luX2VjEXAMPLE//+token=';
const at = new Date(Date.UTC(2026, 11, 6, 22, 30, 0));

const BY_AWS_SIGNER_WITH_SESSION =
  'gatehouse-state.cluster-abcdefghijkl.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=gatehouse_app&X-Amz-Algorithm=AWS4-HMAC-SHA256' +
  '&X-Amz-Credential=AKIDEXAMPLE%2F20261206%2Feu-west-1%2Frds-db%2Faws4_request&X-Amz-Date=20261206T223000Z&X-Amz-Expires=900' +
  '&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2F%2F%2Btoken%3D&X-Amz-Signature=36c8d825fe39c9c36063654dfed4b1bf4276e4be3006648c0439a731c6cfacb5&X-Amz-SignedHeaders=host';
const BY_AWS_SIGNER_KEYS_ONLY =
  'gatehouse-state.cluster-abcdefghijkl.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=gatehouse_app&X-Amz-Algorithm=AWS4-HMAC-SHA256' +
  '&X-Amz-Credential=AKIDEXAMPLE%2F20261206%2Feu-west-1%2Frds-db%2Faws4_request&X-Amz-Date=20261206T223000Z&X-Amz-Expires=900' +
  '&X-Amz-Signature=e88e164b6546e47f055fc42fa3181ecf0b82025a887bc005848f522bc4f8f076&X-Amz-SignedHeaders=host';

/**
 * The signature recomputed from the documented SigV4 query-string algorithm with node:crypto
 * alone: canonical request, string to sign, derived key ("Create a signed AWS API request",
 * docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html). Independent of the
 * signing library the gateway uses.
 */
function documentedSignature(token: string, secretAccessKey: string): { signature: string; signed: string } {
  const [hostPort, query] = token.split('/?') as [string, string];
  const pairs = query.split('&').map((p) => p.split('=') as [string, string]);
  const signature = pairs.find(([k]) => k === 'X-Amz-Signature')![1];
  const canonicalQuery = pairs.filter(([k]) => k !== 'X-Amz-Signature').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('&');
  const get = (k: string) => decodeURIComponent(pairs.find(([n]) => n === k)![1]);
  const amzDate = get('X-Amz-Date');
  const scope = get('X-Amz-Credential').split('/').slice(1).join('/');
  const canonicalRequest = ['GET', '/', canonicalQuery, `host:${hostPort}`, '', 'host', createHash('sha256').update('').digest('hex')].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const [date, region, service] = scope.split('/') as [string, string, string];
  let key: Buffer = createHmac('sha256', `AWS4${secretAccessKey}`).update(date).digest();
  for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return { signature, signed: createHmac('sha256', key).update(stringToSign).digest('hex') };
}

describe('RDS IAM authentication tokens', () => {
  test('the token is byte for byte what AWS\'s own signer (@aws-sdk/rds-signer) makes, with and without a session token', async () => {
    expect(await rdsAuthToken(target, { ...keys, sessionToken }, at)).toBe(BY_AWS_SIGNER_WITH_SESSION);
    expect(await rdsAuthToken(target, keys, at)).toBe(BY_AWS_SIGNER_KEYS_ONLY);
  });

  test('its signature is the documented SigV4 one for rds-db:connect, 15 minutes, host-only signed headers', async () => {
    for (const token of [await rdsAuthToken(target, { ...keys, sessionToken }, at), await rdsAuthToken({ ...target, user: 'app user/ü', port: 6432 }, keys, at)]) {
      const { signature, signed } = documentedSignature(token, keys.secretAccessKey);
      expect(signature).toBe(signed);
      expect(token).toMatch(/X-Amz-Expires=900&/);
      expect(token).toMatch(/%2Frds-db%2Faws4_request&/);
    }
    // A different key, user or time gives a different signature.
    const other = documentedSignature(await rdsAuthToken(target, keys, at), 'another-secret');
    expect(other.signature).not.toBe(other.signed);
  });

  test('each call signs anew with the credentials of that moment (one token per new connection)', async () => {
    let clock = at.getTime();
    let calls = 0;
    const source = createRdsTokenSource(target, {
      now: () => clock,
      credentials: async () => {
        calls++;
        return { ...keys, sessionToken: `session-${calls}` };
      },
    });
    const first = await source.token();
    const second = await source.token();
    clock += 60_000;
    const third = await source.token();
    expect(calls).toBe(3);
    expect(new Set([first, second, third]).size).toBe(3);
    expect(first).toContain('X-Amz-Security-Token=session-1&');
    expect(third).toContain('X-Amz-Date=20261206T223100Z');
  });

  test('a credential failure is GH_ERR_STATE_TOKEN_UNAVAILABLE, with no key or token in the message', async () => {
    const source = createRdsTokenSource(target, {
      credentials: async () => {
        // Real session tokens are several hundred characters of base64.
        throw new Error(`container credentials endpoint refused; had ${keys.secretAccessKey} IQoJb3JpZ2luX2Vj${'QWxhZGRpbjpvcGVuIHNlc2FtZQ'.repeat(12)}`);
      },
    });
    const e = await source.token().then(() => undefined, (err: unknown) => err as Error & { code?: string });
    expect(e).toMatchObject({ code: 'GH_ERR_STATE_TOKEN_UNAVAILABLE', details: { iamAuth: 'aws-rds' } });
    expect(e!.message).not.toContain(keys.secretAccessKey);
    expect(e!.message).not.toContain('IQoJ');
  });

  test('the region: state.awsRegion, else the RDS endpoint\'s, else AWS_REGION; none is a config error', () => {
    expect(rdsRegionOf(target.host)).toBe('eu-west-1');
    expect(rdsRegionOf('db.abc.cn-north-1.rds.amazonaws.com.cn')).toBe('cn-north-1');
    expect(rdsRegionOf('db.internal.example.com')).toBeUndefined();
    expect(rdsSigningRegion('10.0.3.4', undefined, { AWS_REGION: 'us-east-2' })).toBe('us-east-2');
    expect(rdsSigningRegion(target.host, undefined, { AWS_REGION: 'us-east-2' })).toBe('eu-west-1');
    expect(rdsSigningRegion('10.0.3.4', 'ap-south-1', {})).toBe('ap-south-1');
    expect(rdsSigningRegion('10.0.3.4', undefined, {})).toBeUndefined();
  });

  test.each([
    [{ awsRegion: 'eu-west-1' }, 'awsRegion', /applies to iamAuth aws-rds only/],
    [{ iamAuth: 'aws-rds', awsRegion: 'Europe' }, 'awsRegion', /an AWS region such as/],
    [{ iamAuth: 'aws-rds', awsRegion: 'us-east-1' }, 'awsRegion', /RDS endpoint in eu-west-1/],
    [{ iamAuth: 'aws-rds', url: `postgresql://gatehouse_app@${target.host}:5432/gatehouse?sslmode=require` }, 'url', /needs sslmode=verify-full/],
    [{ iamAuth: 'aws-rds', url: `postgresql://gatehouse_app:pw@${target.host}:5432/gatehouse?sslmode=verify-full` }, 'url', /a password in the URL together with iamAuth aws-rds/],
  ])('config %o is refused at %s', (over, field, message) => {
    const state = { url: `postgresql://gatehouse_app@${target.host}:5432/gatehouse?sslmode=verify-full`, ...over } as Parameters<typeof stateConnectionProblems>[0];
    expect(stateConnectionProblems(state)).toContainEqual({ field, message: expect.stringMatching(message) });
    const parsed = stateSchema.safeParse(state);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('.'))).toContain(field);
  });

  test('a valid aws-rds section passes the schema', () => {
    const parsed = stateSchema.safeParse({ url: `postgresql://gatehouse_app@${target.host}:5432/gatehouse?sslmode=verify-full`, iamAuth: 'aws-rds', awsRegion: 'eu-west-1', caCert: 'file:/app/aws-rds-ca.pem' });
    expect(parsed.success).toBe(true);
  });
});
