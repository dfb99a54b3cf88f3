import type { GatewayConnectionSpec } from '../../constructs/core/connection-spec';

/**
 * One connection of every kind the gateway's schema has, typed by the kits' `GatewayConnectionSpec`
 * (a kind missing from that type fails the type-check). `userSecret` is a secret reference of the
 * cloud under test for the references the user gives (SSH private key, AWS caller keys).
 */
export function connectionsOfEveryKind(userSecret: string): { name: string; spec: GatewayConnectionSpec }[] {
  return [
    { name: 'api', spec: { kind: 'http', upstream: 'https://api.example.com', route: { pathPrefix: '/api' }, credential: { type: 'bearer' } } },
    { name: 'db', spec: { kind: 'postgres', upstream: { host: 'db.internal', database: 'app', user: 'app', password: userSecret } } },
    { name: 'github', spec: { kind: 'git', upstream: 'https://github.com/', credential: { type: 'basic', username: 'x-access-token' } } },
    {
      name: 'bastion',
      spec: { kind: 'ssh', upstream: { host: 'bastion.internal', user: 'ops', privateKey: userSecret, hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl' } },
    },
    { name: 's3', spec: { kind: 'aws', service: 's3', region: 'eu-west-1', route: { pathPrefix: '/aws/s3' }, callerCredentials: { keys: userSecret } } },
  ];
}

/** Specs the gateway's schema refuses, each for one reason, with the path the refusal names. */
export const BAD_CONNECTION_SPECS: readonly { name: string; spec: object; path: RegExp }[] = [
  { name: 'git-not-url', spec: { kind: 'git', upstream: 'github.com' }, path: /connections\[0\]\.spec: upstream: / },
  { name: 'ssh-bad-key', spec: { kind: 'ssh', upstream: { host: 'h', user: 'u', privateKey: 'env:K', hostKey: 'not a key' } }, path: /connections\[1\]\.spec: upstream\.hostKey: / },
  { name: 'aws-bad-region', spec: { kind: 'aws', service: 's3', region: 'europe', route: { pathPrefix: '/s3' }, callerCredentials: { keys: 'env:K' } }, path: /connections\[2\]\.spec: region: / },
  { name: 'http-typo', spec: { kind: 'http', upstream: 'https://a.example', route: { pathPrefix: '/a' }, credentail: { type: 'none' } }, path: /connections\[3\]\.spec: \(root\): / },
];
