import { GatehouseKeys } from '../../../constructs/gcp/gatehouse-keys';
import { GcpKmsSigner } from '../../../gateway/src/recording/signers/gcp-kms-signer';
import { CloudKmsStandIn } from '../../gateway/recording/signers/cloud-kms-stand-in';
import { resources, synth } from '../../support/cdktf';

/**
 * The roles the GCP kit binds on the record-signing key are what the gateway's signer and a
 * federated verifier need, and no more: the Cloud KMS stand-in checks each method's permission
 * (getPublicKey: viewPublicKey, asymmetricSign: useToSign) against the roles taken from the
 * synthesized IAM members. Dropping the gateway's publicKeyViewer (its signer reads the public key
 * at start) or giving a verifier a signing role fails here.
 */
const GATEWAY = 'serviceAccount:gatehouse-gateway@p.iam.gserviceaccount.com';
const VERIFIER = 'principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/subject/repo:acme/audit:ref:refs/heads/main';

describe('Cloud KMS signing key: the kit grants what the gateway and verifiers need', () => {
  const kms = new CloudKmsStandIn();
  let rolesOf: (member: string) => string[];

  beforeAll(async () => {
    const json = synth((s) => {
      const keys = new GatehouseKeys(s, 'K', { project: 'p', location: 'europe-west1' });
      keys.addSigner(GATEWAY);
      keys.addVerifier(VERIFIER);
    });
    const members = Object.values(resources(json, 'google_kms_crypto_key_iam_member')) as { member: string; role: string; crypto_key_id: string }[];
    rolesOf = (member) => members.filter((m) => m.member === member).map((m) => m.role).sort();
    kms.roles.set('gateway-token', rolesOf(GATEWAY));
    kms.roles.set('verifier-token', rolesOf(VERIFIER));
    kms.roles.set('signer-only-token', ['roles/cloudkms.signer']);
    await kms.start();
  });
  afterAll(async () => kms.stop());

  const signer = (token: string) => GcpKmsSigner.create({ keyRef: kms.ref(1), endpoint: kms.url, auth: { getAccessToken: async () => token }, attempts: 1 });

  test('the gateway\'s service account reads the public key at start and signs digests', async () => {
    expect(rolesOf(GATEWAY)).toEqual(['roles/cloudkms.publicKeyViewer', 'roles/cloudkms.signer']);
    const s = await signer('gateway-token');
    expect((await s.sign(Buffer.from('gatehouse-digest-v1\n{}'))).length).toBeGreaterThan(60);
  });

  test('a federated verifier reads the public key (gatehouse verify --trust-key gcp-kms:…) but may not sign', async () => {
    expect(rolesOf(VERIFIER)).toEqual(['roles/cloudkms.publicKeyViewer']);
    const s = await signer('verifier-token');
    await expect(s.sign(Buffer.from('forged digest'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { status: 403, code: 'PERMISSION_DENIED' } });
  });

  test('signing alone is not enough for the gateway: without publicKeyViewer its start fails, closed', async () => {
    await expect(signer('signer-only-token')).rejects.toMatchObject({ code: 'GH_ERR_SECRET_UNAVAILABLE', details: { status: 403, code: 'PERMISSION_DENIED' } });
  });
});
