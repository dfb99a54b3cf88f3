import { StorageBucket, StorageBucketIamMember } from './providers';
import { Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

export interface RecordBucketProps {
  /** Bucket location, e.g. `EUROPE-WEST1` or a multi-region. */
  readonly location: string;
  /** Bucket name (globally unique). */
  readonly bucketName: string;
  /**
   * Days every object is retained (a locked bucket retention policy: no object can be deleted or
   * replaced before its age reaches it, and the policy can never be shortened or removed).
   * @default 365
   */
  readonly retentionDays?: number;
  /**
   * Object prefix under which the gateway writes (ends with `/`).
   * @default 'gatehouse/'
   */
  readonly prefix?: string;
  /**
   * Cloud KMS key (`projects/.../cryptoKeys/...`) for CMEK.
   * @default Google-managed encryption
   */
  readonly kmsKeyName?: string;
  /** What must exist before the bucket (e.g. the storage service agent's grant on `kmsKeyName`). @default none */
  readonly dependsOn?: readonly ITerraformDependable[];
  /**
   * Bucket receiving the usage and storage logs of the record bucket.
   * @default a new private bucket `<bucketName>-access-logs`
   */
  readonly accessLogsBucket?: string;
}

/** What a principal may do with the record. */
export type RecordAccess = 'append' | 'read';

/**
 * Cloud Storage's usage and storage logs are written by this Google group; the log bucket must let
 * it create objects or no log is ever delivered (https://cloud.google.com/storage/docs/access-logs,
 * "Set IAM permissions": `group:cloud-storage-analytics@google.com`, `roles/storage.objectCreator`).
 */
export const STORAGE_ANALYTICS_WRITER = 'group:cloud-storage-analytics@google.com';

/**
 * The record's home on Google Cloud: a bucket with a locked retention policy (no Object
 * Versioning: see below), uniform bucket-level access, enforced public access prevention, and usage
 * logs delivered to a separate bucket. The gateway's access is `roles/storage.objectCreator` plus `objectViewer`: it can create
 * objects and read them, but holds no delete permission, so it cannot overwrite one either (the
 * sink writes with `ifGenerationMatch=0`).
 */
export class RecordBucket extends Construct {
  public readonly bucket: StorageBucket;
  public readonly accessLogsBucket?: StorageBucket;
  /** Cloud Storage's log writer on the access-log bucket (without it nothing is delivered). */
  public readonly logWriter: StorageBucketIamMember;
  public readonly prefix: string;
  public readonly retentionDays: number;
  private members = 0;

  constructor(scope: Construct, id: string, props: RecordBucketProps) {
    super(scope, id);
    this.retentionDays = props.retentionDays ?? 365;
    this.prefix = props.prefix ?? 'gatehouse/';
    if (!Token.isUnresolved(this.retentionDays) && (!Number.isInteger(this.retentionDays) || this.retentionDays < 1 || this.retentionDays > 36500)) {
      throw new Error(`RecordBucket: retentionDays must be a whole number between 1 and 36500, got ${this.retentionDays}`);
    }
    if (!Token.isUnresolved(this.prefix) && !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/$/.test(this.prefix)) {
      throw new Error(`RecordBucket: prefix must be a relative object prefix ending with "/" (e.g. "gatehouse/"), got "${this.prefix}"`);
    }
    if (!Token.isUnresolved(props.bucketName) && !/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(props.bucketName)) {
      throw new Error(`RecordBucket: bucketName must be 3-63 lowercase letters, digits, ".", "-" and "_", got "${props.bucketName}"`);
    }

    let logBucket = props.accessLogsBucket;
    if (!logBucket) {
      this.accessLogsBucket = new StorageBucket(this, 'AccessLogs', {
        name: `${props.bucketName}-access-logs`,
        location: props.location,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        versioning: { enabled: true },
        forceDestroy: false,
      });
      logBucket = this.accessLogsBucket.name;
    }
    this.logWriter = new StorageBucketIamMember(this, 'AccessLogsWriter', { bucket: logBucket, role: 'roles/storage.objectCreator', member: STORAGE_ANALYTICS_WRITER });

    this.bucket = new StorageBucket(this, 'Bucket', {
      name: props.bucketName,
      location: props.location,
      storageClass: 'STANDARD',
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      // A retention policy and Object Versioning cannot be on the same bucket ("Object Versioning
      // cannot be enabled on a bucket with a retention policy", https://cloud.google.com/storage/docs/bucket-lock
      // and https://cloud.google.com/storage/docs/object-versioning): the apply would fail. The locked
      // retention policy already keeps every object from deletion and replacement until it is old enough.
      // The provider creates the bucket unlocked and locks the policy right after
      // (resource_storage_bucket.go, v6.50.0: "`is_locked` cannot be set on creation", then lockRetentionPolicy).
      retentionPolicy: { retentionPeriod: this.retentionDays * 86400, isLocked: true },
      // Soft delete adds nothing to a locked retention policy and would bill deleted bytes twice.
      softDeletePolicy: { retentionDurationSeconds: 0 },
      encryption: props.kmsKeyName ? { defaultKmsKeyName: props.kmsKeyName } : undefined,
      logging: { logBucket, logObjectPrefix: 'record-bucket/' },
      forceDestroy: false,
      lifecycle: { preventDestroy: true },
      dependsOn: props.dependsOn ? [...props.dependsOn] : undefined,
    });
  }

  /**
   * Lets `member` (e.g. `serviceAccount:gw@p.iam.gserviceaccount.com`) append to the record
   * (create and read objects) or only read it. No role given here holds `storage.objects.delete`.
   */
  public addAccess(member: string, access: RecordAccess): StorageBucketIamMember[] {
    const roles = access === 'append' ? ['roles/storage.objectCreator', 'roles/storage.objectViewer'] : ['roles/storage.objectViewer'];
    return roles.map((role) => new StorageBucketIamMember(this, `Access${this.members++}`, { bucket: this.bucket.name, role, member }));
  }
}
