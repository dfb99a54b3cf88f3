import { ArtifactRegistryRepositoryIamMember, ProjectIamMember, ServiceAccount, StorageBucket, StorageBucketIamMember } from './providers';
import { Construct } from 'constructs';
import type { ImageRepository } from './image-repository';

export interface ImageBuildAccountProps {
  readonly project: string;
  /** Location of the source bucket (the repository's region). */
  readonly location: string;
  /** The repository the build pushes to. */
  readonly repository: ImageRepository;
}

/**
 * The account Cloud Build runs the image build as (`gcloud builds submit --service-account`).
 * Without one, builds run as the project's default build account: in projects created since
 * 2024 that is the Compute Engine default account, which lacks Editor where the organization
 * policy withholds it, and the push fails (cloud.google.com/build/docs/cloud-build-service-account).
 * This one may only: push to the repository (`roles/artifactregistry.writer` on it), write its
 * build logs (`roles/logging.logWriter`; a user-specified account must log to Cloud Logging or a
 * user bucket, cloud.google.com/build/docs/securing-builds/configure-user-specified-service-accounts),
 * and read the uploaded source from its own staging bucket (`--gcs-source-staging-dir`), not every
 * bucket of the project (the record bucket included).
 */
export class ImageBuildAccount extends Construct {
  public readonly account: ServiceAccount;
  public readonly sourceBucket: StorageBucket;
  /** For `--gcs-source-staging-dir`. */
  public readonly sourceStagingDir: string;

  constructor(scope: Construct, id: string, props: ImageBuildAccountProps) {
    super(scope, id);
    this.account = new ServiceAccount(this, 'Account', {
      project: props.project,
      accountId: 'gatehouse-image-build',
      displayName: 'Gatehouse image build',
      description: 'Cloud Build pushes the Gatehouse image as this account',
    });
    const member = `serviceAccount:${this.account.email}`;
    new ArtifactRegistryRepositoryIamMember(this, 'Push', {
      project: props.project,
      location: props.location,
      repository: props.repository.repository.name,
      role: 'roles/artifactregistry.writer',
      member,
    });
    new ProjectIamMember(this, 'Logs', { project: props.project, role: 'roles/logging.logWriter', member });
    this.sourceBucket = new StorageBucket(this, 'Source', {
      project: props.project,
      name: `${props.project}-gatehouse-build-source`,
      location: props.location,
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      // Uploaded trees are needed only while their build runs.
      lifecycleRule: [{ condition: { age: 7 }, action: { type: 'Delete' } }],
      forceDestroy: true,
    });
    new StorageBucketIamMember(this, 'ReadSource', { bucket: this.sourceBucket.name, role: 'roles/storage.objectViewer', member });
    this.sourceStagingDir = `gs://${this.sourceBucket.name}/source`;
  }
}
