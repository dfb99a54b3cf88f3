import { parse } from 'yaml';
import { Gatehouse, type GatehouseProps } from '../../../constructs/gcp/gatehouse';
import { parseStateUrl } from '../../../gateway/src/state/connection-url';
import { parseGcpKmsKeyReference } from '../../../gateway/src/recording/signers/gcp-kms-signer';
import { onlyResource, resources, synth } from '../../support/cdktf';

function build(props: Partial<GatehouseProps> = {}): string {
  return synth((s) => new Gatehouse(s, 'G', {
    project: 'p',
    region: 'europe-west1',
    image: 'europe-docker.pkg.dev/p/r/gw:1',
    recordBucketName: 'p-records',
    issuers: [{ name: 'github', issuer: 'https://token.actions.githubusercontent.com', audiences: ['gatehouse'], federation: { subjects: ['repo:acme/audit:ref:refs/heads/main'] } }],
    connections: [{ name: 'anthropic', spec: { kind: 'http', upstream: 'https://api.anthropic.com', route: { pathPrefix: '/anthropic' }, credential: { type: 'bearer' } } }],
    ...props,
  }));
}
const yamlOf = (json: string): any => parse(onlyResource(json, 'google_cloud_run_v2_service').template.containers[0].env[0].value);

describe('Gatehouse (Google Cloud)', () => {
  let json: string;
  let config: any;
  const gw = /^serviceAccount:\$\{google_service_account\.G_GatewayServiceAccount/;
  beforeAll(() => {
    json = build();
    config = yamlOf(json);
  });

  test('the gateway service account gets exactly: create+read record objects, read its secrets, sign with its key and read its public key, log in to its database', () => {
    const bucketRoles = (Object.values(resources(json, 'google_storage_bucket_iam_member')) as any[]).filter((m) => gw.test(m.member)).map((m) => m.role).sort();
    expect(bucketRoles).toEqual(['roles/storage.objectCreator', 'roles/storage.objectViewer']);
    const bindings = Object.values(resources(json, 'google_secret_manager_secret_iam_binding')) as any[];
    expect(bindings).toHaveLength(2);
    for (const b of bindings) expect(b.members).toEqual([expect.stringMatching(gw)]);
    const kms = (Object.values(resources(json, 'google_kms_crypto_key_iam_member')) as any[]).filter((m) => gw.test(m.member));
    expect(kms).toEqual([
      expect.objectContaining({ role: 'roles/cloudkms.signer', crypto_key_id: expect.stringMatching(/SigningKey/) }),
      expect.objectContaining({ role: 'roles/cloudkms.publicKeyViewer', crypto_key_id: expect.stringMatching(/SigningKey/) }),
    ]);
    const project = (Object.values(resources(json, 'google_project_iam_member')) as any[]).filter((m) => gw.test(m.member));
    expect(project).toEqual([expect.objectContaining({ role: 'roles/cloudsql.instanceUser', condition: expect.any(Object) })]);
  });

  test('the record-signing key is an HSM P-256 signing key in Cloud KMS, referenced by its first version', () => {
    const key = (Object.values(resources(json, 'google_kms_crypto_key')) as any[]).find((k) => k.purpose === 'ASYMMETRIC_SIGN');
    expect(key.version_template).toEqual({ algorithm: 'EC_SIGN_P256_SHA256', protection_level: 'HSM' });
    expect(config.recording.signingKey).toMatch(/^gcp-kms:\$\{google_kms_crypto_key\.G_Keys_SigningKey_[^}]+\.id\}\/cryptoKeyVersions\/1$/);
    expect(json).not.toMatch(/signing-key/);
    // The key's id is `<key ring id>/cryptoKeys/<name>` and the ring's `projects/<p>/locations/<l>/keyRings/<name>`
    // (resource_kms_crypto_key.go and resource_kms_key_ring.go, v6.50.0): filled in, the gateway's signer accepts it.
    const filled = config.recording.signingKey.replace(/\$\{[^}]+\}/, 'projects/p/locations/europe-west1/keyRings/gatehouse/cryptoKeys/record-signing');
    expect(parseGcpKmsKeyReference(filled)).toBe('projects/p/locations/europe-west1/keyRings/gatehouse/cryptoKeys/record-signing/cryptoKeyVersions/1');
  });

  test('federated subjects may read the record and the signing key\'s public key, nothing else', () => {
    const members = [...Object.values(resources(json, 'google_storage_bucket_iam_member')), ...Object.values(resources(json, 'google_kms_crypto_key_iam_member'))] as any[];
    const roles = members.filter((m) => m.member.startsWith('principal://')).map((m) => m.role).sort();
    expect(roles).toEqual(['roles/cloudkms.publicKeyViewer', 'roles/storage.objectViewer']);
  });

  test('the state database: IAM login as the gateway account, verify-full against the instance CA, no password anywhere', () => {
    expect(config.state).toEqual({
      url: expect.stringMatching(/^postgresql:\/\/\$\{replace\(trimsuffix\(google_service_account\.G_GatewayServiceAccount_[^.]+\.email, "\.gserviceaccount\.com"\), "@", "%40"\)\}@\$\{google_sql_database_instance\.[^}]+\.private_ip_address\}:5432\/gatehouse\?sslmode=verify-full$/),
      iamAuth: 'gcp-cloudsql',
      caCert: expect.stringMatching(/^gcp-sm:\$\{google_secret_manager_secret\.[^}]+state-ca[^}]+\.id\}\/versions\/latest$/),
      serverName: expect.stringMatching(/^p:\$\{google_sql_database_instance\.[^}]+\.name\}$/),
      schema: 'gatehouse',
    });
    const version = onlyResource(json, 'google_secret_manager_secret_version');
    expect(version.secret_data).toMatch(/^\$\{google_sql_database_instance\.[^}]+\.server_ca_cert\[0\]\.cert\}$/);
    for (const user of Object.values(resources(json, 'google_sql_user')) as any[]) {
      expect(user.type).toBe('CLOUD_IAM_SERVICE_ACCOUNT');
      expect(user.password).toBeUndefined();
    }
    expect(json).not.toMatch(/"password(_wo)?"/);
    expect(json).not.toMatch(/random_password/);
  });

  test('the URL, once Terraform fills it in, names the IAM user the gateway logs in as (the "@" in it percent-encoded)', () => {
    const resolved = config.state.url
      .replace(/\$\{replace\(trimsuffix\(google_service_account\.[^}]+\}/, 'gatehouse-gateway%40p.iam')
      .replace(/\$\{google_sql_database_instance\.[^}]+\.private_ip_address\}/, '10.20.0.3');
    expect(parseStateUrl(resolved)).toMatchObject({ user: 'gatehouse-gateway@p.iam', host: '10.20.0.3', port: 5432, database: 'gatehouse' });
  });

  test('a bootstrap job runs as its own account (an IAM database user) and gives the gateway\'s role its schema', () => {
    const job = onlyResource(json, 'google_cloud_run_v2_job');
    const container = job.template.template.containers[0];
    expect(job.template.template.service_account).toMatch(/google_service_account\.G_StateBootstrap_ServiceAccount/);
    expect(container.args.slice(0, 2)).toEqual(['bootstrap-state', '--admin-url']);
    expect(container.args[2]).toMatch(/^postgresql:\/\/\$\{replace\(trimsuffix\(google_service_account\.G_StateBootstrap_ServiceAccount[^}]+\), "@", "%40"\)\}@.*sslmode=verify-full$/);
    expect(container.args.slice(3)).toEqual([
      '--iam-auth', 'gcp-cloudsql', '--app-role', expect.stringMatching(/trimsuffix\(google_service_account\.G_GatewayServiceAccount/),
      '--schema', 'gatehouse', '--ca-cert', 'env:GATEHOUSE_STATE_CA', '--server-name', expect.stringMatching(/^p:\$\{google_sql_database_instance\./),
    ]);
    expect(container.env).toEqual([{ name: 'GATEHOUSE_STATE_CA', value: expect.stringMatching(/server_ca_cert\[0\]\.cert/) }]);
    const users = (Object.values(resources(json, 'google_sql_user')) as any[]).map((u) => u.name).sort();
    expect(users).toEqual([expect.stringMatching(/GatewayServiceAccount/), expect.stringMatching(/StateBootstrap/)]);
  });

  test('alarms: unhealthy instances, 5xx share, recording failures; an address subscribes when given', () => {
    const names = (Object.values(resources(json, 'google_monitoring_alert_policy')) as any[]).map((p) => p.display_name).sort();
    expect(names).toEqual([expect.stringMatching(/5xx/), expect.stringMatching(/fewer healthy/), expect.stringMatching(/recording failures/)]);
    expect(Object.keys(resources(json, 'google_monitoring_notification_channel'))).toHaveLength(0);
    const withEmail = build({ alarmEmail: 'oncall@example.com' });
    expect(onlyResource(withEmail, 'google_monitoring_notification_channel').labels).toEqual({ email_address: 'oncall@example.com' });
    for (const p of Object.values(resources(withEmail, 'google_monitoring_alert_policy')) as any[]) expect(p.notification_channels).toHaveLength(1);
  });

  test('the key ring is where the record bucket is (a multi-region bucket gets the Cloud KMS multi-region); secrets and database use a key in their region', () => {
    expect(onlyResource(json, 'google_kms_key_ring').location).toBe('europe-west1');
    const eu = build({ recordLocation: 'EU' });
    const rings = Object.values(resources(eu, 'google_kms_key_ring')) as any[];
    expect(rings.map((r) => [r.name, r.location])).toEqual([['gatehouse', 'europe'], ['gatehouse-regional', 'europe-west1']]);
    // Secret Manager and Cloud SQL take only a key in their own location: the regional one.
    expect(onlyResource(eu, 'google_sql_database_instance').encryption_key_name).toMatch(/RegionalKey/);
    for (const secret of Object.values(resources(eu, 'google_secret_manager_secret')) as any[]) {
      expect(secret.replication.user_managed.replicas[0].customer_managed_encryption.kms_key_name).toMatch(/RegionalKey/);
    }
    expect((Object.values(resources(eu, 'google_storage_bucket')) as any[]).find((b) => b.name === 'p-records').encryption.default_kms_key_name).toMatch(/DataKey/);
  });

  test('customerManagedKeys: false leaves secrets and database on Google-managed keys, and needs no google-beta', () => {
    const plain = build({ customerManagedKeys: false });
    expect(Object.keys(resources(plain, 'google_project_service_identity'))).toHaveLength(0);
    expect(onlyResource(plain, 'google_sql_database_instance').encryption_key_name).toBeUndefined();
    expect(JSON.parse(plain).terraform?.required_providers?.['google-beta']).toBeUndefined();
  });

  test('serveGateway: false creates everything but the service (the bootstrap job included)', () => {
    const first = build({ serveGateway: false });
    expect(Object.keys(resources(first, 'google_cloud_run_v2_service'))).toHaveLength(0);
    expect(Object.keys(resources(first, 'google_cloud_run_v2_job'))).toHaveLength(1);
    expect(Object.keys(resources(first, 'google_sql_user'))).toHaveLength(2);
  });

  test('busy polling is off unless asked for; when set it reaches the gateway configuration; a bad value fails the synth', () => {
    expect(config.tuning).toBeUndefined();
    expect(yamlOf(build({ busyPollMicroseconds: 1000 })).tuning).toEqual({ busyPollMicroseconds: 1000 });
    expect(() => build({ busyPollMicroseconds: 1.5 })).toThrow(/busyPollMicroseconds must be a whole number from 0 to 10000, got 1.5/);
  });

  test('Cloud SQL is created after private services access', () => {
    const instance = onlyResource(json, 'google_sql_database_instance');
    expect(instance.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^google_service_networking_connection\./)]));
  });

  test('TCP protocols go to an instance group behind an internal load balancer, running as the same service account with the same configuration', () => {
    const tcp = build({ tcpProtocols: ['postgres', 'ssh'], sshHostKey: 'gcp-sm:projects/p/secrets/ssh-host/versions/latest', tcpTls: { cert: 'gcp-sm:projects/p/secrets/pg-cert/versions/latest', key: 'gcp-sm:projects/p/secrets/pg-key/versions/latest' } });
    expect(onlyResource(tcp, 'google_compute_forwarding_rule').ports).toEqual(['5432', '2222']);
    const template = onlyResource(tcp, 'google_compute_region_instance_template');
    expect(template.service_account.email).toMatch(/google_service_account\./);
    expect(template.metadata['user-data']).toMatch(/base64encode/);
    expect(onlyResource(tcp, 'google_cloud_run_v2_service').template.containers[0].ports.container_port).toBe(8443);
  });

  test('an existing database (existingDatabase.secret, the name all three kits use) replaces the created instance, its agent and the bootstrap job', () => {
    const existing = build({ existingDatabase: { secret: 'projects/p/secrets/pg' } });
    expect(Object.keys(resources(existing, 'google_sql_database_instance'))).toHaveLength(0);
    expect(Object.keys(resources(existing, 'google_cloud_run_v2_job'))).toHaveLength(0);
    expect((Object.values(resources(existing, 'google_project_service_identity')) as any[]).map((i) => i.service)).toEqual(['secretmanager.googleapis.com']);
    expect(yamlOf(existing).state).toEqual({ url: 'gcp-sm:projects/p/secrets/pg/versions/latest' });
  });

  test('network and database shape what the kit creates (the names the three kits share)', () => {
    const shaped = build({ network: { cidr: '10.60.0.0/20', cloudNat: false }, database: { tier: 'db-custom-2-7680', backupRetentionDays: 14 } });
    expect(onlyResource(shaped, 'google_compute_subnetwork').ip_cidr_range).toBe('10.60.0.0/20');
    expect(Object.keys(resources(shaped, 'google_compute_router_nat'))).toHaveLength(0);
    const settings = onlyResource(shaped, 'google_sql_database_instance').settings;
    expect(settings.tier).toBe('db-custom-2-7680');
    expect(settings.backup_configuration.backup_retention_settings.retained_backups).toBe(14);
  });

  test('an existing Cloud SQL names its per-instance CA and server name, so the gateway can verify it (verify-full)', () => {
    const byo = build({ existingDatabase: { secret: 'projects/p/secrets/pg', caCert: 'gcp-sm:projects/p/secrets/pg-ca/versions/latest', serverName: 'p:byo-state' } });
    expect(yamlOf(byo).state).toEqual({ url: 'gcp-sm:projects/p/secrets/pg/versions/latest', caCert: 'gcp-sm:projects/p/secrets/pg-ca/versions/latest', serverName: 'p:byo-state' });
  });

  test.each([
    ['a duplicate connection', { connections: [{ name: 'a', spec: {} }, { name: 'a', spec: {} }] }, /given more than once/],
    ['an ssh connection without the ssh listener', { connections: [{ name: 'box', spec: { kind: 'ssh', upstream: { host: 'h', user: 'u', privateKey: 'env:K', hostKey: 'ssh-ed25519 AAAA' } } }] }, /ssh connection box needs tcpProtocols to include "ssh"/],
    ['TCP protocols on an existing network without client ranges', { tcpProtocols: ['ssh'], sshHostKey: 'env:K', existingNetwork: { networkId: 'n', subnetworkId: 's' } }, /need clientCidrs/],
    ['a database tier with an existing database', { existingDatabase: { secret: 'projects/p/secrets/pg' }, database: { tier: 'x' } }, /database applies to a created database; it conflicts with existingDatabase/],
    ['a network with an existing network', { existingNetwork: { networkId: 'n', subnetworkId: 's' }, network: { cidr: '10.60.0.0/20' } }, /network applies to a created VPC; it conflicts with existingNetwork/],
    ['a wildcard federation subject', { issuers: [{ name: 'gh', issuer: 'https://x', audiences: ['a'], federation: { subjects: ['repo:acme/*'] } }] }, /wildcard/],
    ['logRetentionDays (not supported on Google Cloud)', { logRetentionDays: 30 }, /logRetentionDays is not supported on Google Cloud/],
    ['a missing project', { project: undefined }, /project must be a Google Cloud project id/],
    ['an alarm address that is not one', { alarmEmail: 'oncall' }, /alarmEmail must be an email address/],
  ])('refuses %s', (_n, props, message) => {
    expect(() => build(props as Partial<GatehouseProps>)).toThrow(message);
  });
});
