import { SettingsReader, objectSettingsReader } from '../../stacks/settings-reader';

/** The readers the three reference stacks share: the same setting is read and refused alike on every cloud. */
describe('SettingsReader', () => {
  test('collects every problem, each named where it is, and throws them together', () => {
    const { reader: r } = objectSettingsReader('gatehouse:x', {
      replicas: { min: 1 }, size: { cpu: '1' }, tcpProtocols: ['telnet'], tcpTls: { cert: 'a' }, alarmEmail: 3, issuers: [{ name: 'a' }],
    });
    r.range('replicas', { min: 1, max: 2 });
    r.size('size');
    r.tcpProtocols('tcpProtocols');
    r.tcpTls('tcpTls');
    r.str('alarmEmail');
    r.issuers('issuers');
    expect(r.problems).toEqual([
      'gatehouse:x.replicas: expected {"min": number, "max": number}',
      'gatehouse:x.size: expected {"cpu": vCPU, "memoryMiB": number}',
      'gatehouse:x.tcpProtocols: unknown protocol "telnet"',
      'gatehouse:x.tcpTls: expected {"cert": secret reference, "key": secret reference}',
      'gatehouse:x.alarmEmail: expected a string, got number',
      'gatehouse:x.issuers[0]: needs name, issuer and audiences',
    ]);
    expect(() => r.finish('Invalid settings')).toThrow(/^Invalid settings:\n {2}gatehouse:x\.replicas[\s\S]*issuers\[0\]: needs name/);
  });

  test('numbers and booleans written as strings pass only where the source says so (cdk -c passes strings)', () => {
    const values = { n: '30', b: 'false' };
    const strict = objectSettingsReader('gatehouse:x', values).reader;
    expect([strict.num('n'), strict.bool('b')]).toEqual([undefined, undefined]);
    expect(strict.problems).toHaveLength(2);
    const lenient = new SettingsReader({ get: (k) => values[k as keyof typeof values], where: (k) => `gatehouse:${k}`, fromStrings: true });
    expect([lenient.num('n'), lenient.bool('b')]).toEqual([30, false]);
    expect(lenient.problems).toEqual([]);
  });

  test('an old name says the new one, at the issuer, its federation and the connection', () => {
    const { reader: r } = objectSettingsReader('gatehouse:x', {
      issuers: [{ name: 'g', issuer: 'https://x', audiences: ['a'], federation: { subjects: ['s'], oidcProviderArn: 'arn', extra: 1 } }],
      connections: [{ name: 'c', spec: { kind: 'http', upstream: 'https://api.example.com', route: { pathPrefix: '/c' } }, secretArn: 'arn' }],
    });
    r.issuers('issuers', { federationKeys: ['oidcProvider'], renamed: { oidcProviderArn: 'oidcProvider' } });
    r.connections('connections', 'env:X', { secretArn: 'secret' });
    expect(r.problems).toEqual([
      'gatehouse:x.issuers[0].federation.oidcProviderArn: renamed to oidcProvider',
      expect.stringMatching(/^gatehouse:x\.issuers\[0\]\.federation\.extra: unknown key \(known: subjects, audiences, oidcProvider\)$/),
      'gatehouse:x.connections[0].secretArn: renamed to secret',
    ]);
  });

  test('a settings object that is not one is a problem, not a crash', () => {
    const { reader } = objectSettingsReader('gatehouse:x', 'nope');
    expect(reader.problems).toEqual(['gatehouse:x: expected an object']);
  });
});
