// One test per row of the parity table in docs/deployment.md (the same row ids on every cloud):
// what the AWS kit has, the Google Cloud kit has too, checked on one synthesized Gatehouse.
import { parse } from 'yaml';
import { TerraformStack } from 'cdktf';
import { Gatehouse, STATE_CA_SECRET_ID, type GatehouseProps } from '../../../constructs/gcp/gatehouse';
import { CLOUD_RUN_TERMINATION_SECONDS } from '../../../constructs/gcp/gateway-cloud-run';
import { Testing, synth } from '../../support/cdktf';

let res: Record<string, Record<string, any>>;
let config: any;
let service: any;
const all = (type: string): any[] => Object.values(res[type] ?? {});
const gw = /^serviceAccount:\$\{google_service_account\.G_GatewayServiceAccount/;

beforeAll(() => {
  res = JSON.parse(synth((s) => new Gatehouse(s, 'G', {
    project: 'p',
    region: 'europe-west1',
    image: 'europe-west1-docker.pkg.dev/p/gatehouse/gateway:1',
    recordBucketName: 'p-records',
    alarmEmail: 'oncall@example.com',
    issuers: [{ name: 'github', issuer: 'https://token.actions.githubusercontent.com', audiences: ['gatehouse'], federation: { subjects: ['repo:acme/audit:ref:refs/heads/main'] } }],
    connections: [{ name: 'anthropic', spec: { kind: 'http', upstream: 'https://api.anthropic.com', route: { pathPrefix: '/anthropic' }, credential: { type: 'bearer' } } }],
  }))).resource;
  service = all('google_cloud_run_v2_service')[0];
  config = parse(service.template.containers[0].env[0].value);
});

describe('parity (Google Cloud column of docs/deployment.md)', () => {
  test('private-networking: all egress through the VPC, the database on a private IP only', () => {
    expect(service.template.vpc_access.egress).toBe('ALL_TRAFFIC');
    expect(all('google_sql_database_instance')[0].settings.ip_configuration).toMatchObject({ ipv4_enabled: false, private_network: expect.stringMatching(/google_compute_network/) });
    expect(all('google_compute_subnetwork')[0]).toMatchObject({ private_ip_google_access: true, log_config: expect.any(Object) });
  });

  test('internal-ingress-only: Cloud Run accepts traffic from the VPC only; clientCidrs, which cannot narrow it, says so at synth', () => {
    expect(service.ingress).toBe('INGRESS_TRAFFIC_INTERNAL_ONLY');
    // No ingress setting narrows Cloud Run by source address (https://cloud.google.com/run/docs/securing/ingress),
    // and firewall rules apply to VPC interfaces, which Cloud Run's front end is not: the narrowing
    // AWS and Azure give HTTP is not there, and a user who sets clientCidrs is told (docs/gcp.md).
    const warnings = (props: Partial<GatehouseProps>) => {
      const stack = new TerraformStack(Testing.app(), 's');
      const g = new Gatehouse(stack, 'G', { project: 'p', region: 'europe-west1', image: 'img', recordBucketName: 'p-records', ...props });
      return g.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data));
    };
    expect(warnings({ clientCidrs: ['10.8.0.0/24'] })).toEqual([expect.stringMatching(/clientCidrs narrows the TCP load balancer only.*refused unless it presents a valid token/)]);
    expect(warnings({})).toEqual([]);
  });

  test('customer-managed-keys: the record bucket, the secrets and the database are encrypted with a Cloud KMS key the kit creates', () => {
    const records = all('google_storage_bucket').find((b) => b.name === 'p-records');
    expect(records.encryption.default_kms_key_name).toMatch(/google_kms_crypto_key\./);
    expect(all('google_kms_crypto_key').find((k) => k.purpose === 'ENCRYPT_DECRYPT')).toMatchObject({ rotation_period: `${90 * 86400}s` });
    for (const secret of all('google_secret_manager_secret')) {
      expect(secret.replication.user_managed.replicas[0].customer_managed_encryption.kms_key_name).toMatch(/google_kms_crypto_key\./);
    }
    expect(all('google_sql_database_instance')[0].encryption_key_name).toMatch(/google_kms_crypto_key\./);
  });

  test('record-overwrite-delete-prevention: locked retention, and the gateway holds no delete permission', () => {
    const records = all('google_storage_bucket').find((b) => b.name === 'p-records');
    expect(records.retention_policy.is_locked).toBe(true);
    expect(records.lifecycle).toEqual({ prevent_destroy: true });
    const roles = all('google_storage_bucket_iam_member').filter((m) => gw.test(m.member)).map((m) => m.role).sort();
    expect(roles).toEqual(['roles/storage.objectCreator', 'roles/storage.objectViewer']);
  });

  test('access-audit-logs-delivered: usage logs have a writer; Data Access audit logs are on', () => {
    expect(all('google_storage_bucket_iam_member')).toContainEqual(expect.objectContaining({ member: 'group:cloud-storage-analytics@google.com', role: 'roles/storage.objectCreator' }));
    expect(all('google_project_iam_audit_config').map((c) => c.service).sort()).toEqual(['cloudkms.googleapis.com', 'secretmanager.googleapis.com', 'sqladmin.googleapis.com', 'storage.googleapis.com']);
  });

  test('alarm-unhealthy-replicas: fewer active instances than the floor, notified', () => {
    const policy = all('google_monitoring_alert_policy').find((p) => /instance_count/.test(p.conditions[0].condition_threshold.filter));
    expect(policy.conditions[0].condition_threshold).toMatchObject({ comparison: 'COMPARISON_LT', threshold_value: 1 });
    expect(policy.notification_channels).toHaveLength(1);
    // The threshold follows the floor, not a constant 1.
    const two: Record<string, Record<string, any>> = JSON.parse(synth((s) => new Gatehouse(s, 'G', {
      project: 'p', region: 'europe-west1', image: 'europe-west1-docker.pkg.dev/p/gatehouse/gateway:1', recordBucketName: 'p-records',
      alarmEmail: 'oncall@example.com', replicas: { min: 2, max: 4 },
    }))).resource;
    const floor2 = Object.values(two.google_monitoring_alert_policy).find((p: any) => /instance_count/.test(p.conditions[0].condition_threshold.filter)) as any;
    expect(floor2.conditions[0].condition_threshold).toMatchObject({ comparison: 'COMPARISON_LT', threshold_value: 2 });
  });

  test('alarm-5xx-rate: the 5xx share of requests, notified', () => {
    const policy = all('google_monitoring_alert_policy').find((p) => /5xx/.test(p.conditions[0].condition_threshold.filter));
    expect(policy.conditions[0].condition_threshold).toMatchObject({ comparison: 'COMPARISON_GT', threshold_value: 0.05, denominator_filter: expect.stringMatching(/request_count/) });
    expect(policy.notification_channels).toHaveLength(1);
  });

  test('alarm-recording-failures: any GH_ERR_RECORDING_* log line, notified', () => {
    const metric = all('google_logging_metric')[0];
    expect(metric.filter).toMatch(/jsonPayload\.code =~ "\^GH_ERR_RECORDING_"/);
    const policy = all('google_monitoring_alert_policy').find((p) => /logging\.googleapis\.com\/user/.test(p.conditions[0].condition_threshold.filter));
    expect(policy.conditions[0].condition_threshold).toMatchObject({ comparison: 'COMPARISON_GT', threshold_value: 0 });
    expect(policy.notification_channels).toHaveLength(1);
  });

  test('federation-exact-subjects: the pool admits listed subjects only, grants name each', () => {
    expect(all('google_iam_workload_identity_pool_provider')[0].attribute_condition).toBe("assertion.sub == 'repo:acme/audit:ref:refs/heads/main'");
    const members = [...all('google_storage_bucket_iam_member'), ...all('google_kms_crypto_key_iam_member')].map((m) => m.member);
    expect(members.some((m) => m.startsWith('principalSet://'))).toBe(false);
    // Each grant names the one admitted subject of this pool (not only "no principalSet").
    const federated = members.filter((m) => m.startsWith('principal://'));
    expect(federated.length).toBeGreaterThan(0);
    for (const m of federated) expect(m).toMatch(/^principal:\/\/iam\.googleapis\.com\/\$\{google_iam_workload_identity_pool\.[^}]+\.name\}\/subject\/repo:acme\/audit:ref:refs\/heads\/main$/);
  });

  test('graceful-drain-within-termination-window: the gateway drains in less than Cloud Run\'s 10 s', () => {
    expect(config.shutdownGraceSeconds).toBeGreaterThan(0);
    expect(config.shutdownGraceSeconds).toBeLessThan(CLOUD_RUN_TERMINATION_SECONDS);
  });

  test('hsm-signing-key: digests signed by an HSM key in Cloud KMS the gateway may only sign with and read the public key of', () => {
    const key = all('google_kms_crypto_key').find((k) => k.purpose === 'ASYMMETRIC_SIGN');
    expect(key.version_template).toEqual({ algorithm: 'EC_SIGN_P256_SHA256', protection_level: 'HSM' });
    expect(config.recording.signingKey).toMatch(/^gcp-kms:/);
    // The signer reads its public key at start: getPublicKey needs cloudkms.cryptoKeyVersions.viewPublicKey
    // (cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys.cryptoKeyVersions/getPublicKey),
    // which roles/cloudkms.signer lacks (cloud.google.com/iam/docs/roles-permissions/cloudkms).
    expect(all('google_kms_crypto_key_iam_member').filter((m) => gw.test(m.member)).map((m) => m.role).sort()).toEqual(['roles/cloudkms.publicKeyViewer', 'roles/cloudkms.signer']);
  });

  test('least-privilege-state-database: IAM login as its own role, verify-full, no password, a separate bootstrap identity', () => {
    expect(config.state).toMatchObject({ iamAuth: 'gcp-cloudsql', url: expect.stringMatching(/sslmode=verify-full$/) });
    expect(config.state.url).not.toMatch(/:[^@/]*@/);
    expect(all('google_sql_user').every((u) => u.type === 'CLOUD_IAM_SERVICE_ACCOUNT' && u.password === undefined)).toBe(true);
    expect(all('google_cloud_run_v2_job')[0].template.template.service_account).not.toBe(service.template.service_account);
  });

  test('state-database-verified-tls: verify-full against the instance\'s own CA, copied by Terraform, and the name its certificate carries', () => {
    // website/docs/r/sql_database_instance.html.markdown (v6.50.0): `server_ca_cert` exports the
    // CA of the instance; with GOOGLE_MANAGED_INTERNAL_CA the server certificate names
    // `<project>:<instance>` (GoogleCloudPlatform/cloud-sql-nodejs-connector src/socket.ts checks the same).
    const instance = Object.entries(res.google_sql_database_instance)[0]! as [string, any];
    expect(instance[1].settings.ip_configuration).toMatchObject({ ssl_mode: 'ENCRYPTED_ONLY', server_ca_mode: 'GOOGLE_MANAGED_INTERNAL_CA' });
    expect(config.state.url).toMatch(/sslmode=verify-full$/);
    expect(config.state.serverName).toBe(`p:\${google_sql_database_instance.${instance[0]}.name}`);
    const caSecret = Object.entries(res.google_secret_manager_secret).find(([, sec]) => sec.secret_id === STATE_CA_SECRET_ID)![0];
    expect(config.state.caCert).toBe(`gcp-sm:\${google_secret_manager_secret.${caSecret}.id}/versions/latest`);
    const version = all('google_secret_manager_secret_version').find((v) => v.secret === `\${google_secret_manager_secret.${caSecret}.id}`);
    expect(version.secret_data).toBe(`\${google_sql_database_instance.${instance[0]}.server_ca_cert[0].cert}`);
  });
});
