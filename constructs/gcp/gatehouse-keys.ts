import { DataGoogleStorageProjectServiceAccount, KmsCryptoKey, KmsCryptoKeyIamMember, KmsKeyRing } from './providers';
import { Token } from 'cdktf';
import { Construct } from 'constructs';

export interface GatehouseKeysProps {
  readonly project: string;
  /** Key ring location: the region of the bucket, secrets and database (CMEK keys must share it). */
  readonly location: string;
  /** @default 'gatehouse' */
  readonly keyRingName?: string;
  /**
   * The region of the secrets and the state database. Their CMEK keys must be in their own
   * location (Secret Manager: a replica's key in the replica's location; Cloud SQL: "the provided
   * key must be in the same region as the SQL instance", website/docs/r/sql_database_instance.html.markdown),
   * so when it differs from `location` (records in a multi-region) a second ring there holds `regionalKey`.
   * @default `location`
   */
  readonly region?: string;
}

/**
 * The Cloud KMS location for data in a Cloud Storage location: a CMEK key must be in the bucket's
 * location (https://cloud.google.com/storage/docs/encryption/customer-managed-keys, "the key ring
 * must be in the same location as the data"); the multi-regions are named differently in Cloud KMS
 * (`EU` → `europe`, `US` → `us`, `ASIA` → `asia`), regions and dual-regions are the same, lowercase.
 */
export function kmsLocationFor(storageLocation: string): string {
  const multi: Record<string, string> = { EU: 'europe', US: 'us', ASIA: 'asia' };
  return multi[storageLocation.toUpperCase()] ?? storageLocation.toLowerCase();
}

/**
 * Cloud KMS keys the kit creates, in one key ring:
 * - `signingKey`: the record-digest signing key, an **HSM** asymmetric key (`EC_SIGN_P256_SHA256`):
 *   generated in Cloud KMS, never exported; its first version exists once the key does (the
 *   provider creates it unless `skip_initial_version_creation`), so the gateway can sign from its
 *   first start. Only `addSigner` members may sign, only `addVerifier` members may read the public key.
 * - `dataKey`: a symmetric key (rotated every 90 days) for customer-managed encryption of the
 *   record bucket; the Cloud Storage service agent gets encrypt/decrypt on it.
 *
 * Key rings and keys cannot be deleted in Google Cloud; `prevent_destroy` keeps Terraform from trying.
 */
export class GatehouseKeys extends Construct {
  public readonly keyRing: KmsKeyRing;
  public readonly signingKey: KmsCryptoKey;
  public readonly dataKey: KmsCryptoKey;
  /** Symmetric key in `region` for the secrets and the state database: `dataKey` when the locations agree. */
  public readonly regionalKey: KmsCryptoKey;
  /** The second key ring, when `region` differs from `location`. */
  public readonly regionalKeyRing?: KmsKeyRing;
  /** The Cloud Storage service agent's use of `dataKey`: a bucket encrypted with it depends on this. */
  public readonly storageAgentGrant: KmsCryptoKeyIamMember;
  private grants = 0;

  constructor(scope: Construct, id: string, props: GatehouseKeysProps) {
    super(scope, id);
    this.keyRing = new KmsKeyRing(this, 'KeyRing', { project: props.project, name: props.keyRingName ?? 'gatehouse', location: props.location, lifecycle: { preventDestroy: true } });
    this.signingKey = new KmsCryptoKey(this, 'SigningKey', {
      name: 'record-signing',
      keyRing: this.keyRing.id,
      purpose: 'ASYMMETRIC_SIGN',
      versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256', protectionLevel: 'HSM' },
      labels: { 'managed-by': 'gatehouse' },
      lifecycle: { preventDestroy: true },
    });
    this.dataKey = new KmsCryptoKey(this, 'DataKey', {
      name: 'records-data',
      keyRing: this.keyRing.id,
      purpose: 'ENCRYPT_DECRYPT',
      rotationPeriod: `${90 * 86400}s`,
      versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', protectionLevel: 'HSM' },
      labels: { 'managed-by': 'gatehouse' },
      lifecycle: { preventDestroy: true },
    });
    const region = props.region ?? props.location;
    const sameLocation = !Token.isUnresolved(region) && !Token.isUnresolved(props.location) && region.toLowerCase() === props.location.toLowerCase();
    if (sameLocation) {
      this.regionalKey = this.dataKey;
    } else {
      // Named apart from the first ring: with a location known only at deploy time the two may coincide.
      this.regionalKeyRing = new KmsKeyRing(this, 'RegionalKeyRing', { project: props.project, name: `${props.keyRingName ?? 'gatehouse'}-regional`, location: region, lifecycle: { preventDestroy: true } });
      this.regionalKey = new KmsCryptoKey(this, 'RegionalKey', {
        name: 'regional-data',
        keyRing: this.regionalKeyRing.id,
        purpose: 'ENCRYPT_DECRYPT',
        rotationPeriod: `${90 * 86400}s`,
        versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', protectionLevel: 'HSM' },
        labels: { 'managed-by': 'gatehouse' },
        lifecycle: { preventDestroy: true },
      });
    }
    // The bucket is created with this key as its default: the Cloud Storage service agent must hold
    // encrypt/decrypt on it first (website/docs/r/storage_bucket.html.markdown, `default_kms_key_name`),
    // and the bucket must depend on this grant (website/docs/d/storage_project_service_account.html.markdown).
    const gcsAgent = new DataGoogleStorageProjectServiceAccount(this, 'StorageAgent', { project: props.project });
    this.storageAgentGrant = new KmsCryptoKeyIamMember(this, 'StorageAgentUsesDataKey', {
      cryptoKeyId: this.dataKey.id,
      role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
      member: gcsAgent.member,
    });
  }

  /** `gcp-kms:` reference to the signing key's first version, as the gateway's `recording.signingKey`. */
  public get signingKeyReference(): string {
    return `gcp-kms:${this.signingKey.id}/cryptoKeyVersions/1`;
  }

  /**
   * Lets `member` sign with the record-signing key (that key only) and read its public key: the
   * gateway's signer reads it at start (gcp-kms-signer.ts, `readGcpKmsPublicKey`), and
   * cryptoKeyVersions.getPublicKey needs `cloudkms.cryptoKeyVersions.viewPublicKey`
   * (cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys.cryptoKeyVersions/getPublicKey),
   * which `roles/cloudkms.signer` does not hold (cloud.google.com/iam/docs/roles-permissions/cloudkms).
   * Without it no replica starts.
   */
  public addSigner(member: string): KmsCryptoKeyIamMember[] {
    const n = this.grants++;
    return [
      new KmsCryptoKeyIamMember(this, `Signer${n}`, { cryptoKeyId: this.signingKey.id, role: 'roles/cloudkms.signer', member }),
      new KmsCryptoKeyIamMember(this, `SignerReadsPublicKey${n}`, { cryptoKeyId: this.signingKey.id, role: 'roles/cloudkms.publicKeyViewer', member }),
    ];
  }

  /** Lets `member` read the record-signing key's public key (e.g. `gatehouse verify`). */
  public addVerifier(member: string): KmsCryptoKeyIamMember {
    return new KmsCryptoKeyIamMember(this, `Verifier${this.grants++}`, { cryptoKeyId: this.signingKey.id, role: 'roles/cloudkms.publicKeyViewer', member });
  }
}
