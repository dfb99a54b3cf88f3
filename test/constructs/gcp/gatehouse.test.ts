import { Gatehouse, type GatehouseProps } from '../../../constructs/gcp/gatehouse';
import { onlyResource, resources, synth } from '../../support/cdktf';

function build(props: Partial<GatehouseProps> = {}): string {
  return synth((s) => new Gatehouse(s, 'G', {
    region: 'europe-west1',
    image: 'europe-docker.pkg.dev/p/r/gw:1',
    recordBucketName: 'p-records',
    issuers: [{ name: 'github', issuer: 'https://token.actions.githubusercontent.com', audiences: ['gatehouse'], gcpFederation: { attributeCondition: "assertion.repository_owner == 'acme'" } }],
    connections: [{ name: 'anthropic', spec: { kind: 'http', upstream: 'https://api.anthropic.com', route: { pathPrefix: '/anthropic' }, credential: { type: 'bearer' } } }],
    ...props,
  }));
}

describe('Gatehouse (Google Cloud)', () => {
  test('the gateway service account gets exactly: create+read record objects and read its secrets', () => {
    const json = build();
    const gw = /serviceAccount:\$\{google_service_account\./;
    const bucketRoles = (Object.values(resources(json, 'google_storage_bucket_iam_member')) as any[]).filter((m) => gw.test(m.member)).map((m) => m.role).sort();
    expect(bucketRoles).toEqual(['roles/storage.objectCreator', 'roles/storage.objectViewer']);
    const bindings = Object.values(resources(json, 'google_secret_manager_secret_iam_binding')) as any[];
    expect(bindings).toHaveLength(3);
    for (const b of bindings) expect(b.members).toEqual([expect.stringMatching(gw)]);
    expect(Object.keys(resources(json, 'google_project_iam_member'))).toHaveLength(0);
  });

  test('the federation pool may only read the record', () => {
    const json = build();
    const pool = (Object.values(resources(json, 'google_storage_bucket_iam_member')) as any[]).filter((m) => m.member.startsWith('principalSet://'));
    expect(pool.map((m) => m.role)).toEqual(['roles/storage.objectViewer']);
  });

  test('the configuration points at the bucket, secrets and database by reference', () => {
    const yaml: string = onlyResource(build(), 'google_cloud_run_v2_service').template.containers[0].env[0].value;
    expect(yaml).toMatch(/sink:\n\s+type: gcs\n\s+bucket: \$\{google_storage_bucket\.[^}]+\.name\}\n\s+prefix: gatehouse\//);
    expect(yaml).toMatch(/secret: gcp-sm:\$\{google_secret_manager_secret\.[^}]+\.id\}\/versions\/latest/);
    expect(yaml).toMatch(/signingKey: gcp-sm:\$\{google_secret_manager_secret\.[^}]+signing-key[^}]+\.id\}\/versions\/latest/);
    expect(yaml).toMatch(/url: gcp-sm:\$\{google_secret_manager_secret\.[^}]+state-url[^}]+\.id\}\/versions\/latest/);
  });

  test('busy polling is off unless asked for; when set it reaches the gateway configuration; a bad value fails the synth', () => {
    const yamlOf = (json: string): string => onlyResource(json, 'google_cloud_run_v2_service').template.containers[0].env[0].value;
    expect(yamlOf(build())).not.toContain('tuning');
    expect(yamlOf(build({ busyPollMicroseconds: 1000 }))).toMatch(/tuning:\n {2}busyPollMicroseconds: 1000/);
    expect(() => build({ busyPollMicroseconds: 1.5 })).toThrow(/busyPollMicroseconds must be a whole number from 0 to 10000, got 1.5/);
  });

  test('Cloud SQL is created after private services access', () => {
    const instance = onlyResource(build(), 'google_sql_database_instance');
    expect(instance.depends_on).toEqual([expect.stringMatching(/^google_service_networking_connection\./)]);
  });

  test('TCP protocols go to an instance group behind an internal load balancer, running as the same service account with the same configuration', () => {
    const json = build({ tcpProtocols: ['postgres', 'ssh'] });
    expect(onlyResource(json, 'google_compute_forwarding_rule').ports).toEqual(['5432', '2222']);
    const template = onlyResource(json, 'google_compute_region_instance_template');
    expect(template.service_account.email).toMatch(/google_service_account\./);
    expect(template.metadata['user-data']).toMatch(/base64encode/);
    expect(onlyResource(json, 'google_cloud_run_v2_service').template.containers[0].ports.container_port).toBe(8443);
  });

  test('an existing database URL secret replaces the created instance', () => {
    const json = build({ existingDatabaseUrlSecret: 'projects/p/secrets/pg' });
    expect(Object.keys(resources(json, 'google_sql_database_instance'))).toHaveLength(0);
    expect(json).toContain('gcp-sm:projects/p/secrets/pg/versions/latest');
  });

  test.each([
    ['a duplicate connection', { connections: [{ name: 'a', spec: {} }, { name: 'a', spec: {} }] }, /given more than once/],
    ['TCP protocols on an existing network without client ranges', { tcpProtocols: ['ssh'], network: { networkId: 'n', subnetworkId: 's' } }, /need clientCidrs/],
    ['a database tier with an existing database', { existingDatabaseUrlSecret: 'projects/p/secrets/pg', databaseTier: 'x' }, /conflicts/],
  ])('refuses %s', (_n, props, message) => {
    expect(() => build(props as Partial<GatehouseProps>)).toThrow(message);
  });
});
