// The rules a first `cdktf deploy` of the Google Cloud kit must satisfy, each one as the provider
// (hashicorp/terraform-provider-google; @cdktf/provider-google 16.12.1 wraps v6.50.0, the kit
// requires >= 7.42.0 for two attributes it sets by override) or Google's documentation states it.
// No terraform runs here: each rule is checked on the synthesized JSON of one complete Gatehouse.
import { parse } from 'yaml';
import { Gatehouse, STATE_CA_SECRET_ID } from '../../../constructs/gcp/gatehouse';
import { CLOUD_RUN_TERMINATION_SECONDS, GatewayCloudRun } from '../../../constructs/gcp/gateway-cloud-run';
import { GATEHOUSE_APIS } from '../../../constructs/gcp/project-services';
import { STORAGE_ANALYTICS_WRITER } from '../../../constructs/gcp/record-bucket';
import { BOOTSTRAP_JOB_NAME, EXECUTION_TOKEN_LENGTH } from '../../../constructs/gcp/state-bootstrap-job';
import { GOOGLE_PROVIDER_VERSION } from '../../../constructs/gcp/state-database';
import { synth } from '../../support/cdktf';

const IMAGE = 'europe-west1-docker.pkg.dev/p/gatehouse/gateway:1.0.0';
let doc: any;
let res: Record<string, Record<string, any>>;
let service: any;
let config: any;
const all = (type: string): any[] => Object.values(res[type] ?? {});
const addr = (type: string, pred: (r: any) => boolean): string[] => Object.entries(res[type] ?? {}).filter(([, r]) => pred(r)).map(([id]) => `${type}.${id}`);

beforeAll(() => {
  doc = JSON.parse(synth((s) => new Gatehouse(s, 'G', {
    project: 'p',
    region: 'europe-west1',
    image: IMAGE,
    recordBucketName: 'p-records',
    issuers: [{ name: 'github', issuer: 'https://token.actions.githubusercontent.com', audiences: ['gatehouse'], federation: { subjects: ['repo:acme/audit:ref:refs/heads/main'] } }],
    connections: [
      { name: 'anthropic', spec: { kind: 'http', upstream: 'https://api.anthropic.com', route: { pathPrefix: '/anthropic' }, credential: { type: 'bearer' } } },
      { name: 'openai', spec: { kind: 'http', upstream: 'https://api.openai.com', route: { pathPrefix: '/openai' }, credential: { type: 'bearer' } }, secret: 'projects/p/secrets/team-openai' },
    ],
    tcpProtocols: ['postgres'],
    tcpTls: { cert: 'gcp-sm:projects/p/secrets/pg-cert/versions/latest', key: 'gcp-sm:projects/p/secrets/pg-key/versions/latest' },
  })));
  res = doc.resource;
  service = all('google_cloud_run_v2_service')[0];
  config = parse(service.template.containers[0].env[0].value);
});

describe('the record bucket', () => {
  test('has a locked retention policy and no Object Versioning (Google: the two cannot be on one bucket)', () => {
    // https://cloud.google.com/storage/docs/bucket-lock and /storage/docs/object-versioning:
    // Object Versioning cannot be enabled on a bucket with a retention policy.
    const records = all('google_storage_bucket').find((b) => b.name === 'p-records');
    expect(records.retention_policy).toEqual({ retention_period: 365 * 86400, is_locked: true });
    expect(records.versioning?.enabled ?? false).toBe(false);
  });

  test('usage logs are delivered: Cloud Storage\'s log writer may create objects in the log bucket', () => {
    // https://cloud.google.com/storage/docs/access-logs ("Set IAM permissions"): without
    // group:cloud-storage-analytics@google.com as objectCreator no log is ever written.
    const logs = Object.entries(res.google_storage_bucket).find(([, b]) => b.name === 'p-records-access-logs')![0];
    expect(all('google_storage_bucket_iam_member')).toContainEqual(expect.objectContaining({
      bucket: `\${google_storage_bucket.${logs}.name}`, role: 'roles/storage.objectCreator', member: STORAGE_ANALYTICS_WRITER,
    }));
  });

  test('its customer-managed key is usable by the storage service agent before the bucket is created', () => {
    // website/docs/r/storage_bucket.html.markdown (v6.50.0, `default_kms_key_name`): the key's IAM
    // policy must permit the Cloud Storage service account; website/docs/d/storage_project_service_account.html.markdown:
    // use depends_on between that IAM policy and the bucket (race otherwise).
    const records = all('google_storage_bucket').find((b) => b.name === 'p-records');
    expect(records.encryption.default_kms_key_name).toMatch(/google_kms_crypto_key\..*DataKey.*\.id/);
    const agentGrant = addr('google_kms_crypto_key_iam_member', (m) => /data\.google_storage_project_service_account/.test(m.member));
    expect(agentGrant).toHaveLength(1);
    expect(records.depends_on).toEqual(expect.arrayContaining(agentGrant));
  });
});

describe('APIs and the image', () => {
  test('every API the kit calls is turned on, and never turned off on destroy', () => {
    // An API must be enabled in the project before any call to it (https://cloud.google.com/service-usage/docs/enable-disable);
    // on a new project run, sqladmin, secretmanager, cloudkms, ... are off, so the first call fails SERVICE_DISABLED.
    const services = all('google_project_service');
    expect(services.map((s) => s.service).sort()).toEqual([...GATEHOUSE_APIS].sort());
    for (const s of services) expect(s.disable_on_destroy).toBe(false);
  });

  test('every other resource waits for the APIs', () => {
    const apis = Object.keys(res.google_project_service).map((id) => `google_project_service.${id}`);
    for (const [type, byId] of Object.entries(res)) {
      if (type === 'google_project_service') continue;
      for (const [id, r] of Object.entries(byId)) expect([`${type}.${id}`, r.depends_on ?? []]).toEqual([`${type}.${id}`, expect.arrayContaining(apis)]);
    }
  });

  test('the image is looked up in Artifact Registry at plan time, and Cloud Run runs that digest', () => {
    const image = Object.entries(doc.data.google_artifact_registry_docker_image)[0]!;
    expect(image[1]).toMatchObject({ project: 'p', location: 'europe-west1', repository_id: 'gatehouse', image_name: 'gateway:1.0.0' });
    expect((image[1] as any).depends_on).toBeUndefined();
    expect(service.template.containers[0].image).toBe(`\${data.google_artifact_registry_docker_image.${image[0]}.self_link}`);
  });
});

describe('the first revision becomes ready', () => {
  test('the service starts after every grant, key and database user it needs at start', () => {
    // Cloud Run's create waits for the revision to be ready (resource_cloud_run_v2_service.go,
    // v6.50.0, waits on the create operation); a revision that cannot read its key or log in never is.
    const needed = [
      ...addr('google_kms_crypto_key_iam_member', (m) => m.role === 'roles/cloudkms.signer' || (m.role === 'roles/cloudkms.publicKeyViewer' && /GatewayServiceAccount/.test(m.member))),
      ...addr('google_storage_bucket_iam_member', (m) => /google_service_account/.test(m.member)),
      ...addr('google_secret_manager_secret_iam_binding', () => true),
      ...addr('google_secret_manager_secret_iam_member', () => true),
      ...addr('google_sql_user', (u) => /GatewayServiceAccount/.test(u.name)),
      ...addr('google_secret_manager_secret_version', () => true),
    ];
    expect(needed.length).toBeGreaterThanOrEqual(8);
    expect(service.depends_on).toEqual(expect.arrayContaining(needed));
  });

  test('the service, and the TCP instances, start after the state bootstrap ran and after their own login grant', () => {
    // The gateway's first query needs its schema and rights (gateway/src/state/store.ts opens
    // with `select 1` and runs migrations in schema gatehouse); the job's creation waits for the
    // bootstrap's execution (run_execution_token, below). The login grant is
    // `cloudsql.instances.login` (https://cloud.google.com/sql/docs/postgres/iam-logins).
    const job = addr('google_cloud_run_v2_job', () => true);
    const gatewayLogin = addr('google_project_iam_member', (m) => m.role === 'roles/cloudsql.instanceUser' && /GatewayServiceAccount/.test(m.member));
    expect(job).toHaveLength(1);
    expect(gatewayLogin).toHaveLength(1);
    expect(service.depends_on).toEqual(expect.arrayContaining([...job, ...gatewayLogin]));
    const group = all('google_compute_region_instance_group_manager')[0];
    expect(group.depends_on).toEqual(expect.arrayContaining([...job, ...gatewayLogin]));
  });

  test('what the gateway reads at start exists after the apply: no secret without a version', () => {
    // The gateway's preflight loads the signing key and the state settings before it listens
    // (gateway/src/server/preflight.ts, gateway.ts); a `versions/latest` of a secret with no
    // version answers NOT_FOUND. Upstream credentials are read per request: only their connection fails.
    expect(config.recording.signingKey).toMatch(/^gcp-kms:\$\{google_kms_crypto_key\.[^}]+\.id\}\/cryptoKeyVersions\/1$/);
    const startRefs = [config.recording.signingKey, config.state.url, config.state.caCert].filter((r: string) => r.startsWith('gcp-sm:'));
    const withVersion = all('google_secret_manager_secret_version').map((v) => v.secret);
    for (const ref of startRefs) expect(withVersion.map((id: string) => `gcp-sm:${id}/versions/latest`)).toContain(ref);
    const signing = all('google_kms_crypto_key').find((k) => k.purpose === 'ASYMMETRIC_SIGN');
    expect(signing.skip_initial_version_creation ?? false).toBe(false);
  });

  test('the gateway drains within Cloud Run\'s termination window', () => {
    // https://cloud.google.com/run/docs/container-contract#instance-shutdown: SIGTERM, then SIGKILL
    // 10 s later; the gateway's own default drain is 25 s (gateway/src/config/schema.ts).
    expect(config.shutdownGraceSeconds).toBeLessThan(CLOUD_RUN_TERMINATION_SECONDS);
    expect(() => synth((s) => new GatewayCloudRun(s, 'R', {
      region: 'r', image: 'i', network: 'n', subnetwork: 's', config: { shutdownGraceSeconds: 25 },
    }))).toThrow(/shutdownGraceSeconds 25 exceeds Cloud Run's termination window/);
  });
});

describe('audit and secrets', () => {
  test('Data Access audit logs are on for storage, Secret Manager, Cloud KMS and Cloud SQL', () => {
    // Off by default for all but BigQuery: https://cloud.google.com/logging/docs/audit/configure-data-access
    const configs = all('google_project_iam_audit_config');
    expect(configs.map((c) => c.service).sort()).toEqual(['cloudkms.googleapis.com', 'secretmanager.googleapis.com', 'sqladmin.googleapis.com', 'storage.googleapis.com']);
    for (const c of configs) expect(c.audit_log_config.map((l: any) => l.log_type).sort()).toEqual(['ADMIN_READ', 'DATA_READ', 'DATA_WRITE']);
  });

  test('secrets are stored only in the region (user-managed replication)', () => {
    // https://cloud.google.com/secret-manager/docs/choosing-replication: automatic replication may store the payload anywhere.
    for (const s of all('google_secret_manager_secret')) {
      expect(s.replication.auto).toBeUndefined();
      expect(s.replication.user_managed.replicas).toEqual([expect.objectContaining({ location: 'europe-west1' })]);
      expect(s.replication.user_managed.replicas).toHaveLength(1);
    }
  });

  test('a secret the user brings gets one more reader, never an authoritative binding', () => {
    // website/docs/r/secret_manager_secret_iam.html.markdown (v6.50.0): `_iam_binding` is
    // "Authoritative for a given role"; `_iam_member` is "Non-authoritative ... Other members for the role ... are preserved".
    const onUsers = all('google_secret_manager_secret_iam_binding').filter((b) => b.secret_id === 'projects/p/secrets/team-openai');
    expect(onUsers).toEqual([]);
    expect(all('google_secret_manager_secret_iam_member').filter((m) => m.secret_id === 'projects/p/secrets/team-openai')).toEqual([
      expect.objectContaining({ role: 'roles/secretmanager.secretAccessor', member: expect.stringMatching(/^serviceAccount:\$\{google_service_account\./) }),
    ]);
    expect(all('google_secret_manager_secret').map((s) => s.secret_id).sort()).toEqual(['gatehouse-anthropic', STATE_CA_SECRET_ID]);
  });
});

describe('customer-managed keys for secrets and the state database', () => {
  // A service agent exists only once generateServiceIdentity is called, and a grant to a missing
  // one fails; Terraform's call is google_project_service_identity, google-beta only
  // (website/docs/r/project_service_identity.html.markdown, v7.42.0: "These resources are in beta,
  // and should be used with the terraform-provider-google-beta provider").
  const agentFor = (service: string): string => addr('google_project_service_identity', (i) => i.service === service)[0];
  const grantTo = (agent: string): string => addr('google_kms_crypto_key_iam_member', (m) => m.member === `\${${agent}.member}`)[0];

  test('the Secret Manager and Cloud SQL agents are created on google-beta, and the stack requires that provider', () => {
    for (const service of ['secretmanager.googleapis.com', 'sqladmin.googleapis.com']) {
      const id = agentFor(service).split('.')[1];
      expect(res.google_project_service_identity[id]).toMatchObject({ provider: 'google-beta', project: 'p', service });
    }
    expect(doc.terraform.required_providers['google-beta']).toEqual({ source: 'hashicorp/google-beta', version: GOOGLE_PROVIDER_VERSION });
  });

  test('each agent holds encrypt/decrypt on the regional key before the secrets and the instance that use it are created', () => {
    const secretsGrant = grantTo(agentFor('secretmanager.googleapis.com'));
    const sqlGrant = grantTo(agentFor('sqladmin.googleapis.com'));
    for (const grant of [secretsGrant, sqlGrant]) {
      expect(res.google_kms_crypto_key_iam_member[grant.split('.')[1]]).toMatchObject({ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', crypto_key_id: expect.stringMatching(/google_kms_crypto_key\..*DataKey.*\.id/) });
    }
    // Secret Manager: a user-managed replica's key must be in the replica's location (here the region, as the key ring).
    for (const secret of all('google_secret_manager_secret')) {
      expect(secret.replication.user_managed.replicas).toEqual([{ location: 'europe-west1', customer_managed_encryption: { kms_key_name: expect.stringMatching(/DataKey/) } }]);
      expect(secret.depends_on).toEqual(expect.arrayContaining([secretsGrant]));
    }
    // Cloud SQL: "The provided key must be in the same region as the SQL instance" (website/docs/r/sql_database_instance.html.markdown).
    const instance = all('google_sql_database_instance')[0];
    expect(instance.encryption_key_name).toMatch(/google_kms_crypto_key\..*DataKey.*\.id/);
    expect(instance.depends_on).toEqual(expect.arrayContaining([sqlGrant]));
  });
});

describe('federation', () => {
  test('the provider admits the exact subjects only, and grants name each subject, never the pool', () => {
    // https://cloud.google.com/iam/docs/workload-identity-federation-with-deployment-pipelines:
    // a condition on the organization alone admits every repository of it.
    const provider = all('google_iam_workload_identity_pool_provider')[0];
    expect(provider.attribute_condition).toBe("assertion.sub == 'repo:acme/audit:ref:refs/heads/main'");
    const members = [...all('google_storage_bucket_iam_member'), ...all('google_kms_crypto_key_iam_member')].map((m) => m.member);
    expect(members.filter((m) => m.startsWith('principalSet://'))).toEqual([]);
    expect(members.filter((m) => m.startsWith('principal://'))).toEqual([
      expect.stringMatching(/^principal:\/\/iam\.googleapis\.com\/\$\{google_iam_workload_identity_pool\.[^}]+\.name\}\/subject\/repo:acme\/audit:ref:refs\/heads\/main$/),
      expect.stringMatching(/subject\/repo:acme\/audit:ref:refs\/heads\/main$/),
    ]);
  });
});

describe('the state database is prepared during the same apply (no gcloud step)', () => {
  const jobEntry = () => Object.entries(res.google_cloud_run_v2_job)[0]! as [string, any];
  const bootstrapAccount = () => Object.keys(res.google_service_account).find((id) => /StateBootstrap/.test(id))!;

  test('the stack requires a google provider with run_execution_token (GA in 7.42.0) and database_roles (7.18.0)', () => {
    // hashicorp/terraform-provider-google: commit f01d2fdb02 "cloudrunv2: promote start_execution_token
    // and run_execution_token to GA", first in tag v7.42.0; google/services/sql/resource_sql_user.go
    // has `database_roles` from v7.18.0 (absent in v6.50.0, what the bindings were generated from).
    expect(doc.terraform.required_providers.google.version).toBe(GOOGLE_PROVIDER_VERSION);
    const [lower, upper] = GOOGLE_PROVIDER_VERSION.split(',').map((c) => c.trim());
    expect(lower).toBe('>= 7.42.0');
    expect(upper).toBe('< 8.0.0');
  });

  test('the job runs during the apply, and its creation waits for the execution to succeed', () => {
    // resource_cloud_run_v2_job.go (v7.42.0): run_execution_token "A unique string used as a suffix
    // creating a new execution upon job create or update. The Job will become ready when the
    // execution is successfully completed. The sum of job name and token length must be fewer than
    // 63 characters." start_execution_token starts one without waiting, which would let the
    // service race the bootstrap; the two conflict (ConflictsWith). A failed execution fails the
    // create after the id is set (resourceCloudRunV2JobCreate: d.SetId, then
    // CloudRunV2OperationWaitTime returns the error), so Terraform marks the job tainted and the
    // next `deploy` replaces it (deletion_protection false), which runs the bootstrap again.
    const job = jobEntry()[1];
    expect(job.start_execution_token).toBeUndefined();
    expect(job.run_execution_token).toMatch(new RegExp(`^\\$\\{substr\\(sha256\\(join\\("\\|", \\[data\\.google_artifact_registry_docker_image\\.[^,]+\\.self_link, trimsuffix\\(google_service_account\\.G_GatewayServiceAccount[^)]+\\), "gatehouse"\\]\\)\\), 0, ${EXECUTION_TOKEN_LENGTH}\\)\\}$`));
    expect(BOOTSTRAP_JOB_NAME.length + 1 + EXECUTION_TOKEN_LENGTH).toBeLessThan(63);
    expect(job.name).toBe(BOOTSTRAP_JOB_NAME);
    expect(job.deletion_protection).toBe(false);
    // The same image as the service, by digest: a new image re-runs the bootstrap (new token).
    expect(job.template.template.containers[0].image).toBe(service.template.containers[0].image);
  });

  test('the job starts after both database users, its login grant and the database it connects to', () => {
    // The URL names the database as a plain string (no implicit edge to google_sql_database), and
    // a Cloud SQL IAM user without `cloudsql.instances.login` cannot log in.
    const [, job] = jobEntry();
    const users = addr('google_sql_user', () => true);
    const adminLogin = addr('google_project_iam_member', (m) => m.role === 'roles/cloudsql.instanceUser' && m.member.includes(bootstrapAccount()));
    expect(users).toHaveLength(2);
    expect(adminLogin).toHaveLength(1);
    expect(job.depends_on).toEqual(expect.arrayContaining([...users, ...adminLogin, ...addr('google_sql_database', () => true)]));
  });

  test('only the bootstrap account is a cloudsqlsuperuser; the gateway\'s user has no database role', () => {
    // https://cloud.google.com/sql/docs/postgres/add-manage-iam-users: an IAM user has no privilege
    // until granted; resource_sql_user.go (v7.18.0+) passes database_roles to users.insert.
    const users = all('google_sql_user');
    expect(users.find((u) => u.name.includes(bootstrapAccount())).database_roles).toEqual(['cloudsqlsuperuser']);
    expect(users.find((u) => /GatewayServiceAccount/.test(u.name)).database_roles).toBeUndefined();
  });

  test('the bootstrap account holds one IAM grant: logging in to this instance; nothing on secrets, keys or records', () => {
    const mine = (m: any) => typeof m.member === 'string' && m.member.includes(bootstrapAccount());
    const grants = Object.entries(res)
      .filter(([type]) => /_iam_(member|binding)$/.test(type))
      .flatMap(([type, byId]) => Object.values(byId).filter((g: any) => mine(g) || (g.members ?? []).some((x: string) => x.includes(bootstrapAccount()))).map((g: any) => ({ type, ...g })));
    expect(grants).toEqual([expect.objectContaining({
      type: 'google_project_iam_member',
      role: 'roles/cloudsql.instanceUser',
      condition: expect.objectContaining({ expression: expect.stringMatching(/^resource\.name == "projects\/p\/instances\/\$\{google_sql_database_instance\.[^}]+\.name\}"/) }),
    })]);
    // The gateway never runs as it.
    expect(service.template.service_account).not.toContain(bootstrapAccount());
    expect(jobEntry()[1].template.template.service_account).toContain(bootstrapAccount());
  });

  test('the configuration uses no attribute google 7.0 removed (the bindings were generated from 6.50)', () => {
    // website/docs/guides/version_7_upgrade.html.markdown: google_compute_subnetwork.enable_flow_logs
    // removed (log_config instead); google_project_service.disable_on_destroy has no default
    // (the kit sets it); google_storage_bucket.retention_period is a string (Terraform converts).
    for (const subnet of all('google_compute_subnetwork')) {
      expect(subnet.enable_flow_logs).toBeUndefined();
      expect(subnet.log_config).toBeDefined();
    }
    for (const s of all('google_project_service')) expect(s.disable_on_destroy).toBe(false);
    expect(res.google_cloud_run_v2_worker_pool).toBeUndefined();
    expect(res.google_tpu_node).toBeUndefined();
  });
});
