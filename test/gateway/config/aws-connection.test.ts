import { parseConfig } from '../../../gateway/src/config/load';
import { buildWellKnownDocument } from '../../../gateway/src/server/well-known';

const base = `mode: development
identity: { issuers: [{ name: corp, issuer: "https://idp.example.com", audiences: [gatehouse] }] }
`;

test('an aws connection validates with its defaults (ambient brokered credential, no credential calls allowed) and is listed for clients', () => {
  const r = parseConfig(`${base}connections:
  - name: s3
    kind: aws
    service: s3
    region: eu-west-1
    route: { pathPrefix: /aws/s3 }
    callerCredentials: { keys: "env:KEYS" }
`);
  expect(r.ok ? [] : r.problems).toEqual([]);
  if (!r.ok) return;
  expect(r.config.connections[0]).toMatchObject({ kind: 'aws', brokered: { source: 'ambient', durationSeconds: 3600 }, allowCredentialOperations: [], callerCredentials: { ttlSeconds: 3600 }, virtualHostSuffixes: [] });
  expect(buildWellKnownDocument(r.config).connections).toContainEqual({ name: 's3', kind: 'aws', service: 's3', region: 'eu-west-1', pathPrefix: '/aws/s3' });
});

test('an aws connection reports every problem with its path: service, region, route, lifetime, role ARN, credential operation names', () => {
  const r = parseConfig(`${base}connections:
  - name: bad
    kind: aws
    service: S3
    region: europe
    route: {}
    callerCredentials: { keys: "env:KEYS", ttlSeconds: 5 }
    brokered: { source: static, roleArn: "role/agent" }
    allowCredentialOperations: ["sts:AssumeRole"]
`);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  const paths = r.problems.map((p) => p.path);
  for (const p of ['connections.0.service', 'connections.0.region', 'connections.0.route', 'connections.0.callerCredentials.ttlSeconds', 'connections.0.brokered.roleArn', 'connections.0.allowCredentialOperations.0']) {
    expect(paths).toContain(p);
  }
});

test('a static brokered credential needs both of its keys', () => {
  const r = parseConfig(`${base}connections:
  - name: s3
    kind: aws
    service: s3
    region: eu-west-1
    route: { pathPrefix: /aws/s3 }
    callerCredentials: { keys: "env:KEYS" }
    brokered: { source: static, accessKeyId: "env:ID" }
`);
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.problems.map((p) => `${p.path}: ${p.message}`)).toContainEqual(expect.stringMatching(/^connections\.0\.brokered: .*source static needs accessKeyId and secretAccessKey/));
});
