import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { Token } from 'cdktf';
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
  /**
   * Bucket receiving the usage and storage logs of the record bucket.
   * @default a new private bucket `<bucketName>-access-logs`
   */
  readonly accessLogsBucket?: string;
}

/** What a principal may do with the record. */
export type RecordAccess = 'append' | 'read';

/**
 * The record's home on Google Cloud: a bucket with a locked retention policy, uniform
 * bucket-level access, enforced public access prevention, versioning, and usage logs in a separate
 * bucket. The gateway's access is `roles/storage.objectCreator` plus `objectViewer`: it can create
 * objects and read them, but holds no delete permission, so it cannot overwrite one either (the
 * sink writes with `ifGenerationMatch=0`).
 */
export class RecordBucket extends Construct {
  public readonly bucket: StorageBucket;
  public readonly accessLogsBucket?: StorageBucket;
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

    this.bucket = new StorageBucket(this, 'Bucket', {
      name: props.bucketName,
      location: props.location,
      storageClass: 'STANDARD',
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      versioning: { enabled: true },
      retentionPolicy: { retentionPeriod: this.retentionDays * 86400, isLocked: true },
      // Soft delete adds nothing to a locked retention policy and would bill deleted bytes twice.
      softDeletePolicy: { retentionDurationSeconds: 0 },
      encryption: props.kmsKeyName ? { defaultKmsKeyName: props.kmsKeyName } : undefined,
      logging: { logBucket, logObjectPrefix: 'record-bucket/' },
      forceDestroy: false,
      lifecycle: { preventDestroy: true },
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
