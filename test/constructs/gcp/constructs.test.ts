import { CloudRunV2Service } from '@cdktf/provider-google/lib/cloud-run-v2-service';
import { IamWorkloadIdentityPoolProvider } from '@cdktf/provider-google/lib/iam-workload-identity-pool-provider';
import { SqlDatabaseInstance } from '@cdktf/provider-google/lib/sql-database-instance';
import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket';
import { GatewayCloudRun, type GatewayCloudRunProps } from '../../../constructs/gcp/gateway-cloud-run';
import { GatewayNetwork } from '../../../constructs/gcp/gateway-network';
import { RecordBucket } from '../../../constructs/gcp/record-bucket';
import { StateDatabase } from '../../../constructs/gcp/state-database';
import { UpstreamCredentials } from '../../../constructs/gcp/upstream-credentials';
import { WorkloadIdentityFederation } from '../../../constructs/gcp/workload-identity-federation';
import { onlyResource, resources, synth, validationErrors } from '../../support/cdktf';

const NET = 'projects/p/global/networks/n';
const SUBNET = 'projects/p/regions/europe-west1/subnetworks/s';
const runBase: GatewayCloudRunProps = { region: 'europe-west1', image: 'europe-docker.pkg.dev/p/r/gw:1', network: NET, subnetwork: SUBNET };

describe('RecordBucket', () => {
  const bucket = (extra = {}) => synth((s) => new RecordBucket(s, 'R', { location: 'EU', bucketName: 'records-x', retentionDays: 30, ...extra }));

  test('a locked retention policy, uniform access, public access prevention', () => {
    expect(bucket()).toHaveResourceWithProperties(StorageBucket, {
      name: 'records-x',
      retention_policy: { retention_period: 30 * 86400, is_locked: true },
      uniform_bucket_level_access: true,
      public_access_prevention: 'enforced',
      force_destroy: false,
    });
  });

  test('usage logs go to a separate private bucket', () => {
    const buckets = resources(bucket(), 'google_storage_bucket');
    const record = Object.values(buckets).find((b: any) => b.name === 'records-x') as any;
    expect(record.logging.log_bucket).toMatch(/google_storage_bucket\..*AccessLogs.*\.name/);
    const logs = Object.values(buckets).find((b: any) => b.name === 'records-x-access-logs') as any;
    expect(logs).toMatchObject({ uniform_bucket_level_access: true, public_access_prevention: 'enforced' });
  });

  test('append access creates and reads objects with no delete; read access only reads', () => {
    const json = synth((s) => {
      const r = new RecordBucket(s, 'R', { location: 'EU', bucketName: 'records-x' });
      r.addAccess('serviceAccount:gw@p.iam.gserviceaccount.com', 'append');
      r.addAccess('principalSet://x/*', 'read');
    });
    const grants = (Object.values(resources(json, 'google_storage_bucket_iam_member')) as any[]).map((m) => `${m.member} ${m.role}`).sort();
    expect(grants).toEqual([
      'group:cloud-storage-analytics@google.com roles/storage.objectCreator',
      'principalSet://x/* roles/storage.objectViewer',
      'serviceAccount:gw@p.iam.gserviceaccount.com roles/storage.objectCreator',
      'serviceAccount:gw@p.iam.gserviceaccount.com roles/storage.objectViewer',
    ]);
  });

  test.each([[{ retentionDays: 0 }, /retentionDays/], [{ bucketName: 'UPPER' }, /bucketName/], [{ prefix: 'x' }, /prefix/]])('refuses %j', (props, message) => {
    expect(() => bucket(props)).toThrow(message);
  });
});

describe('GatewayCloudRun', () => {
  test('internal ingress only, Direct VPC egress for all traffic, a warm instance, a dedicated service account', () => {
    const json = synth((s) => new GatewayCloudRun(s, 'G', runBase));
    expect(json).toHaveResourceWithProperties(CloudRunV2Service, {
      ingress: 'INGRESS_TRAFFIC_INTERNAL_ONLY',
      template: expect.objectContaining({
        vpc_access: { egress: 'ALL_TRAFFIC', network_interfaces: [{ network: NET, subnetwork: SUBNET }] },
        scaling: expect.objectContaining({ min_instance_count: 1 }),
        service_account: expect.stringMatching(/google_service_account\..*\.email/),
      }),
    });
    expect(onlyResource(json, 'google_service_account').account_id).toBe('gatehouse-gateway');
  });

  // Cloud Run routes to an instance once its startup probe passes: readiness, so an instance whose
  // state database is not prepared never serves (and its revision fails, as when it exited at start).
  test('startup probe on /readyz, liveness on /healthz, at the admin port; the HTTP port serves traffic; config in GATEHOUSE_CONFIG_YAML', () => {
    const service = onlyResource(synth((s) => new GatewayCloudRun(s, 'G', runBase)), 'google_cloud_run_v2_service');
    const c = service.template.containers[0];
    expect(c.ports).toEqual({ name: 'http1', container_port: 8443 });
    expect(c.startup_probe.http_get).toEqual({ path: '/readyz', port: 9090 });
    expect(c.liveness_probe.http_get).toEqual({ path: '/healthz', port: 9090 });
    expect(c.env[0].name).toBe('GATEHOUSE_CONFIG_YAML');
  });

  test('an existing service account is used instead of creating one', () => {
    const json = synth((s) => new GatewayCloudRun(s, 'G', { ...runBase, serviceAccountEmail: 'gw@p.iam.gserviceaccount.com' }));
    expect(Object.keys(resources(json, 'google_service_account'))).toHaveLength(0);
    expect(onlyResource(json, 'google_cloud_run_v2_service').template.service_account).toBe('gw@p.iam.gserviceaccount.com');
  });

  test.each([
    [{ replicas: { min: 0, max: 3 } }, /1 <= min <= max/],
    [{ size: { cpu: 0.5, memoryMiB: 512 } }, /size needs cpu of 1, 2, 4, 6 or 8/],
    [{ tcpProtocols: ['postgres'] }, /cannot be served here.*docs\/gcp\.md/],
    [{ config: { listeners: {} } }, /config.listeners/],
  ])('refuses %j', (props, message) => {
    expect(() => synth((s) => new GatewayCloudRun(s, 'G', { ...runBase, ...props } as GatewayCloudRunProps))).toThrow(message);
  });
});

describe('UpstreamCredentials (Secret Manager)', () => {
  test('each created secret is readable only by the members given to addAccess (authoritative binding)', () => {
    const json = synth((s) => new UpstreamCredentials(s, 'C', { region: 'europe-west1', connections: ['anthropic'], extraSecrets: ['gatehouse-x'] }).addAccess('serviceAccount:gw@p'));
    const bindings = Object.values(resources(json, 'google_secret_manager_secret_iam_binding')) as any[];
    expect(bindings).toHaveLength(2);
    for (const b of bindings) expect(b).toMatchObject({ role: 'roles/secretmanager.secretAccessor', members: ['serviceAccount:gw@p'] });
    expect(Object.keys(resources(json, 'google_secret_manager_secret_iam_member'))).toHaveLength(0);
  });

  test('references name the latest version of each secret', () => {
    let ref = '';
    synth((s) => {
      const c = new UpstreamCredentials(s, 'C', { region: 'europe-west1', existing: { openai: 'projects/p/secrets/oa' } });
      c.addAccess('serviceAccount:gw@p');
      ref = c.referenceFor('openai');
    });
    expect(ref).toBe('gcp-sm:projects/p/secrets/oa/versions/latest');
  });

  test('secrets nobody can read fail validation', () => {
    expect(validationErrors((s) => new UpstreamCredentials(s, 'C', { region: 'europe-west1', connections: ['a'] })).join('\n')).toMatch(/nobody can read the secrets/);
  });
});

describe('StateDatabase (Cloud SQL)', () => {
  test('private IP only, TLS required with the per-instance CA, IAM database authentication, regional, backups with point-in-time recovery', () => {
    expect(synth((s) => new StateDatabase(s, 'D', { project: 'p', region: 'europe-west1', networkId: NET }))).toHaveResourceWithProperties(SqlDatabaseInstance, {
      deletion_protection: true,
      settings: expect.objectContaining({
        availability_type: 'REGIONAL',
        ip_configuration: expect.objectContaining({ ipv4_enabled: false, private_network: NET, ssl_mode: 'ENCRYPTED_ONLY', server_ca_mode: 'GOOGLE_MANAGED_INTERNAL_CA' }),
        backup_configuration: expect.objectContaining({ enabled: true, point_in_time_recovery_enabled: true }),
        database_flags: expect.arrayContaining([{ name: 'cloudsql.iam_authentication', value: 'on' }]),
      }),
    });
  });

  test('a service account user is an IAM user named without .gserviceaccount.com, with login on this instance only, and no password', () => {
    let roleName = '';
    const json = synth((s) => {
      roleName = new StateDatabase(s, 'D', { project: 'p', region: 'europe-west1', networkId: NET }).addIamServiceAccountUser('Gw', 'gw@p.iam.gserviceaccount.com').roleName;
    });
    expect(roleName).toBe('gw@p.iam');
    expect(onlyResource(json, 'google_sql_user')).toEqual(expect.objectContaining({ name: 'gw@p.iam', type: 'CLOUD_IAM_SERVICE_ACCOUNT' }));
    expect(onlyResource(json, 'google_sql_user').password).toBeUndefined();
    expect(onlyResource(json, 'google_project_iam_member')).toMatchObject({
      role: 'roles/cloudsql.instanceUser',
      member: 'serviceAccount:gw@p.iam.gserviceaccount.com',
      condition: { expression: expect.stringMatching(/^resource\.name == "projects\/p\/instances\/\$\{google_sql_database_instance\.[^}]+\.name\}"/) },
    });
  });
});

describe('GatewayNetwork (VPC)', () => {
  test('custom-mode VPC, subnet with Private Google Access and flow logs, private services access', () => {
    const json = synth((s) => new GatewayNetwork(s, 'N', { region: 'europe-west1' }));
    expect(onlyResource(json, 'google_compute_network').auto_create_subnetworks).toBe(false);
    expect(onlyResource(json, 'google_compute_subnetwork')).toMatchObject({ private_ip_google_access: true, log_config: expect.any(Object) });
    expect(onlyResource(json, 'google_service_networking_connection').service).toBe('servicenetworking.googleapis.com');
  });

  test('Cloud NAT gives the subnet (and so Direct VPC egress) a way out; cloudNat: false drops it', () => {
    const nat = onlyResource(synth((s) => new GatewayNetwork(s, 'N', { region: 'europe-west1' })), 'google_compute_router_nat');
    expect(nat).toMatchObject({ source_subnetwork_ip_ranges_to_nat: 'LIST_OF_SUBNETWORKS', log_config: { enable: true } });
    expect(nat.subnetwork[0].name).toMatch(/google_compute_subnetwork\./);
    expect(Object.keys(resources(synth((s) => new GatewayNetwork(s, 'N', { region: 'europe-west1', cloudNat: false })), 'google_compute_router_nat'))).toHaveLength(0);
  });
});

describe('WorkloadIdentityFederation', () => {
  const props = { poolId: 'gatehouse-gh', providerId: 'github-oidc', issuerUrl: 'https://token.actions.githubusercontent.com', subjects: ['repo:acme/a:ref:refs/heads/main', 'repo:acme/b:environment:prod'] };

  test('an OIDC provider for the issuer whose condition lists the exact subjects', () => {
    expect(synth((s) => new WorkloadIdentityFederation(s, 'W', props))).toHaveResourceWithProperties(IamWorkloadIdentityPoolProvider, {
      attribute_condition: "assertion.sub in ['repo:acme/a:ref:refs/heads/main', 'repo:acme/b:environment:prod']",
      oidc: { issuer_uri: 'https://token.actions.githubusercontent.com' },
    });
  });

  test.each([
    [{ subjects: [] }, /at least one exact subject/],
    [{ subjects: ['repo:acme/*'] }, /must be an exact subject/],
    [{ subjects: ["repo:x' || true || '"] }, /must be an exact subject/],
    [{ issuerUrl: 'http://x' }, /https URL/],
    [{ poolId: 'X' }, /poolId/],
  ])('refuses %j', (extra, message) => {
    expect(() => synth((s) => new WorkloadIdentityFederation(s, 'W', { ...props, ...extra }))).toThrow(message);
  });
});
