import { readFileSync } from 'node:fs';
import { checkGatehouseContextKeys } from '../../../stacks/context-keys';
import { FOUNDATION_APIS, GatehouseGcpFoundationStack, GatehouseGcpStack } from '../../../stacks/gcp/gatehouse-gcp-stack';
import { readGcpSettings } from '../../../stacks/gcp/settings';
import { Testing } from '../../support/cdktf';
import { BAD_CONNECTION_SPECS, connectionsOfEveryKind } from '../../support/connection-specs';
import { checkEmittedConfig } from '../../support/gateway-config';
import { outputsNotInTable } from '../../support/stack-outputs';
const context = JSON.parse(readFileSync('cdktf.json', 'utf8')).context;
const settings = () => readGcpSettings(context['gatehouse:gcp']);

describe('reference stacks (stacks/gcp)', () => {
  let json: any;
  let yaml: string;
  beforeAll(() => {
    // Synthesis with validation (construct validations run) once; the rest reads this JSON.
    json = JSON.parse(Testing.synth(new GatehouseGcpStack(Testing.app(), 'gatehouse-gcp', settings()), true));
    yaml = (Object.values(json.resource.google_cloud_run_v2_service)[0] as any).template.containers[0].env[0].value;
  });

  test('every output of both stacks is named by the shared output table (constructs/core/stack-outputs.ts)', () => {
    const outputs = Object.keys(json.output);
    expect(outputsNotInTable('gcp', outputs, settings().issuers.map((i) => i.name))).toEqual([]);
    expect(outputs).toEqual(expect.arrayContaining(['gateway_address', 'records', 'signing_key', 'credentials', 'gateway_identity', 'federation_github']));
    const foundation = JSON.parse(Testing.synth(new GatehouseGcpFoundationStack(Testing.app(), 'f', settings())));
    expect(outputsNotInTable('gcp', Object.keys(foundation.output), [])).toEqual([]);
  });

  test('the provider is pinned to the configured project and region', () => {
    expect(json.provider.google[0]).toMatchObject({ project: 'my-gatehouse-project', region: 'europe-west1' });
  });

  test('the service gets a configuration the gateway schema accepts (its cloud sink included)', () => {
    const { problems, sink } = checkEmittedConfig(yaml);
    expect(problems).toEqual([]);
    expect(sink).toEqual({ type: 'gcs', bucket: 'tfvalue', prefix: 'gatehouse/' });
  });

  test('busyPollMicroseconds reaches the service configuration, which the gateway schema still accepts', () => {
    const withPolling = readGcpSettings({ ...context['gatehouse:gcp'], busyPollMicroseconds: 1000 });
    const polled = JSON.parse(Testing.synth(new GatehouseGcpStack(Testing.app(), 's', withPolling)));
    const text: string = (Object.values(polled.resource.google_cloud_run_v2_service)[0] as any).template.containers[0].env[0].value;
    expect(checkEmittedConfig(text).problems).toEqual([]);
    expect(text).toMatch(/tuning:\n {2}busyPollMicroseconds: 1000/);
  });

  test('customerManagedKeys: false in the settings drops the service agents and the google-beta provider', () => {
    expect(json.provider['google-beta']).toEqual([{ project: 'my-gatehouse-project', region: 'europe-west1' }]);
    const plain = JSON.parse(Testing.synth(new GatehouseGcpStack(Testing.app(), 'plain', readGcpSettings({ ...context['gatehouse:gcp'], customerManagedKeys: false })), true));
    expect(plain.provider['google-beta']).toBeUndefined();
    expect(plain.resource.google_project_service_identity).toBeUndefined();
    expect(() => readGcpSettings({ ...context['gatehouse:gcp'], customerManagedKeys: 'yes' })).toThrow(/customerManagedKeys: expected true or false/);
  });

  test('the foundation stack holds the image repository (pushed to before the main stack is applied) and its APIs', () => {
    const foundation = JSON.parse(Testing.synth(new GatehouseGcpFoundationStack(Testing.app(), 'f', settings())));
    const repo = Object.values(foundation.resource.google_artifact_registry_repository)[0] as any;
    expect(repo).toMatchObject({ repository_id: 'gatehouse', location: 'europe-west1', format: 'DOCKER', docker_config: { immutable_tags: true } });
    expect((Object.values(foundation.resource.google_project_service) as any[]).map((s) => s.service).sort()).toEqual([...FOUNDATION_APIS].sort());
    expect(repo.depends_on).toHaveLength(FOUNDATION_APIS.length);
    // The main stack's default image lives in that repository.
    expect(settings().image).toBe('europe-west1-docker.pkg.dev/my-gatehouse-project/gatehouse/gateway:0.1.0');
  });

  test('setting only project (docs/gcp.md step 1) moves the image and the record bucket to it; a leftover placeholder value is refused', () => {
    const own = readGcpSettings({ ...context['gatehouse:gcp'], project: 'acme-gatehouse' });
    expect(own.image).toBe('europe-west1-docker.pkg.dev/acme-gatehouse/gatehouse/gateway:0.1.0');
    expect(own.recordBucketName).toBe('acme-gatehouse-gatehouse-records');
    expect(() => readGcpSettings({ ...context['gatehouse:gcp'], project: 'acme-gatehouse', image: 'europe-west1-docker.pkg.dev/my-gatehouse-project/gatehouse/gateway:0.1.0', recordBucketName: 'my-gatehouse-project-gatehouse-records' })).toThrow(
      /gatehouse:gcp\.image: .*still names the placeholder project "my-gatehouse-project" while project is "acme-gatehouse"[\s\S]*gatehouse:gcp\.recordBucketName: /,
    );
  });

  test('the foundation gives the image build its own account: push to the repository, write logs, read its source bucket; the docs pass it', () => {
    // Without --service-account, builds run as the project's default build account, in newer projects
    // the Compute Engine default account, which may lack the push permission
    // (cloud.google.com/build/docs/cloud-build-service-account); a user-specified account must log to
    // Cloud Logging or a user bucket (cloud.google.com/build/docs/securing-builds/configure-user-specified-service-accounts).
    const foundation = JSON.parse(Testing.synth(new GatehouseGcpFoundationStack(Testing.app(), 'f', settings())));
    const account = Object.values(foundation.resource.google_service_account)[0] as any;
    expect(account.account_id).toBe('gatehouse-image-build');
    const email = /\$\{google_service_account\.[^}]+\.email\}/;
    expect(Object.values(foundation.resource.google_artifact_registry_repository_iam_member)).toEqual([
      expect.objectContaining({ role: 'roles/artifactregistry.writer', repository: expect.stringMatching(/google_artifact_registry_repository\..+\.name/), member: expect.stringMatching(email) }),
    ]);
    expect(Object.values(foundation.resource.google_project_iam_member)).toEqual([expect.objectContaining({ role: 'roles/logging.logWriter', member: expect.stringMatching(email) })]);
    const source = Object.values(foundation.resource.google_storage_bucket)[0] as any;
    expect(source).toMatchObject({ name: 'my-gatehouse-project-gatehouse-build-source', uniform_bucket_level_access: true, public_access_prevention: 'enforced' });
    expect(Object.values(foundation.resource.google_storage_bucket_iam_member)).toEqual([expect.objectContaining({ role: 'roles/storage.objectViewer', member: expect.stringMatching(email) })]);
    expect(foundation.output.image_build_identity.value).toMatch(email);
    const docs = readFileSync('docs/gcp.md', 'utf8');
    expect(docs).toContain('--service-account "projects/$PROJECT/serviceAccounts/gatehouse-image-build@$PROJECT.iam.gserviceaccount.com"');
    expect(docs).toContain('--gcs-source-staging-dir "gs://$PROJECT-gatehouse-build-source/source"');
    expect(readFileSync('stacks/gcp/cloudbuild.yaml', 'utf8')).toMatch(/^options:\n {2}logging: CLOUD_LOGGING_ONLY$/m);
  });

  test('template snapshot', () => {
    expect(json).toMatchSnapshot();
  });

  test('bad settings are reported together, unknown keys included', () => {
    expect(() => readGcpSettings({ connections: [{ name: 1 }], recordRetentionDays: 'x', replicas: {}, busyPollMicroseconds: 'fast', instances: { min: 1, max: 2 }, issuers: [{ name: 'a', issuer: 'https://a', audiences: [], gcpFederation: {} }] })).toThrow(
      /gatehouse:gcp\.instances: unknown key[\s\S]*issuers\[0\]\.gcpFederation: unknown key[\s\S]*connections\[0\]: needs name and spec[\s\S]*recordRetentionDays: expected a number[\s\S]*replicas: expected[\s\S]*busyPollMicroseconds: expected a number/,
    );
  });

  test('connection specs are checked against the gateway\'s own schema at synth, every problem with its path', () => {
    // Before: only the AWS stack checked them; a bad spec deployed and kept every replica unready.
    const base = context['gatehouse:gcp'];
    const bad = () => readGcpSettings({ ...base, connections: BAD_CONNECTION_SPECS.map(({ name, spec }) => ({ name, spec })) });
    for (const { path } of BAD_CONNECTION_SPECS) expect(bad).toThrow(path);
  });

  test('every connection kind (http, postgres, git, ssh, aws) reaches configurations the gateway accepts: ssh on the TCP instances only', () => {
    const connections = connectionsOfEveryKind('gcp-sm:projects/p/secrets/user-held/versions/latest');
    const every = readGcpSettings({ ...context['gatehouse:gcp'], connections, tcpProtocols: ['ssh'], sshHostKey: 'gcp-sm:projects/p/secrets/ssh-host/versions/latest' });
    // Synthesized with validation: the stack checks both documents with the gateway's parser.
    const out = JSON.parse(Testing.synth(new GatehouseGcpStack(Testing.app(), 'kinds', every), true));
    const text: string = (Object.values(out.resource.google_cloud_run_v2_service)[0] as any).template.containers[0].env[0].value;
    expect(checkEmittedConfig(text).problems).toEqual([]);
    // Cloud Run serves HTTP only; an ssh connection there without its listener is refused by the gateway.
    expect(text).not.toMatch(/kind: ssh/);
    // Only the kinds with a brokered `credential` get a kit-made secret.
    const secretIds = (Object.values(out.resource.google_secret_manager_secret) as any[]).map((s) => s.secret_id).sort();
    expect(secretIds).toEqual(['gatehouse-api', 'gatehouse-github', 'gatehouse-state-ca']);
  });

  test('synth fails on a configuration the gateway would refuse at start, naming the document and the path', () => {
    // Before: these deployed, and no revision or VM ever became ready.
    const base = context['gatehouse:gcp'];
    const synthOf = (over: object) => () => Testing.synth(new GatehouseGcpStack(Testing.app(), 's', readGcpSettings({ ...base, ...over })), true);
    expect(synthOf({ issuers: [] })).toThrow(/Cloud Run gateway configuration: identity\.issuers: at least one trusted issuer is required/);
    // The gateway has no MySQL listener yet.
    expect(synthOf({ tcpProtocols: ['mysql'], tcpTls: { cert: 'gcp-sm:projects/p/secrets/pg-cert/versions/latest', key: 'gcp-sm:projects/p/secrets/pg-key/versions/latest' } })).toThrow(/TCP instances' gateway configuration: listeners: Unrecognized key: "mysql"/);
  });

  test('the documented image build uploads dist/ (.gcloudignore replaces .gitignore, which excludes it) and builds gateway/Dockerfile', () => {
    // gcloud builds submit: "If there is no .gcloudignore file, ... the .gitignore file is used"
    // (https://cloud.google.com/sdk/gcloud/reference/topic/gcloudignore).
    expect(readFileSync('.gitignore', 'utf8')).toMatch(/^\/dist\/$/m);
    const patterns = readFileSync('.gcloudignore', 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(patterns.filter((p) => /^\/?dist(\/|$)|^#!include/.test(p))).toEqual([]);
    expect(readFileSync('stacks/gcp/cloudbuild.yaml', 'utf8')).toMatch(/args: \[build, -f, gateway\/Dockerfile, -t, '\$\{_IMAGE\}', \.\]/);
    // --project: without it gcloud uses its configured default project, not the one the stacks deploy to.
    expect(readFileSync('docs/gcp.md', 'utf8')).toContain('gcloud builds submit --project "$PROJECT" --config stacks/gcp/cloudbuild.yaml');
    expect(readFileSync('docs/gcp.md', 'utf8')).toMatch(/gcloud secrets versions add gatehouse-<connection> --project "\$PROJECT"/);
  });

  test('an unknown gatehouse:* context key in cdktf.json is an error; cdktf.json itself passes', () => {
    expect(() => checkGatehouseContextKeys({ ...context, 'gatehouse:gpc': {} })).toThrow(/unknown key "gatehouse:gpc" \(known: gatehouse:azure, gatehouse:gcp\)/);
    expect(() => checkGatehouseContextKeys({ ...context, 'some-other-tool:key': 1 })).not.toThrow();
    expect(() => checkGatehouseContextKeys(context)).not.toThrow();
  });
});
