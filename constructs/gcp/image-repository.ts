import { ArtifactRegistryRepository } from './providers';
import { Token } from 'cdktf';
import { Construct } from 'constructs';

export interface ImageRepositoryProps {
  readonly project: string;
  /** Artifact Registry location (the Cloud Run region). */
  readonly location: string;
  /** @default 'gatehouse' */
  readonly repositoryId?: string;
}

/**
 * The Artifact Registry Docker repository the gateway image is pushed to. It must exist before
 * the image can be pushed, and the image before Cloud Run can deploy it: the reference app puts it
 * in its own stack (`gatehouse-gcp-foundation`), applied first (docs/gcp.md, "Deploy").
 * Tags are immutable: a deployed tag always names the same image.
 */
export class ImageRepository extends Construct {
  public readonly repository: ArtifactRegistryRepository;
  public readonly repositoryId: string;
  private readonly project: string;
  private readonly location: string;

  constructor(scope: Construct, id: string, props: ImageRepositoryProps) {
    super(scope, id);
    this.repositoryId = props.repositoryId ?? 'gatehouse';
    this.project = props.project;
    this.location = props.location;
    if (!Token.isUnresolved(this.repositoryId) && !/^[a-z][a-z0-9-]{0,61}[a-z0-9]$/.test(this.repositoryId)) {
      throw new Error(`ImageRepository: repositoryId must be lowercase letters, digits and "-", starting with a letter, got "${this.repositoryId}"`);
    }
    this.repository = new ArtifactRegistryRepository(this, 'Repository', {
      project: props.project,
      location: props.location,
      repositoryId: this.repositoryId,
      format: 'DOCKER',
      description: 'Gatehouse gateway images',
      dockerConfig: { immutableTags: true },
    });
  }

  /** The image reference for `tag` (`<location>-docker.pkg.dev/<project>/<repository>/gateway:<tag>`). */
  public imageUri(tag: string, imageName = 'gateway'): string {
    return `${this.location}-docker.pkg.dev/${this.project}/${this.repositoryId}/${imageName}:${tag}`;
  }
}

/** The parts of an Artifact Registry image reference, or undefined for another registry. */
export function parseArtifactRegistryImage(image: string): { location: string; project: string; repositoryId: string; imageName: string } | undefined {
  const m = /^([a-z0-9-]+)-docker\.pkg\.dev\/([a-z0-9-]+)\/([a-z0-9-]+)\/([a-z0-9._/-]+(?::[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64}))$/.exec(image);
  return m ? { location: m[1]!, project: m[2]!, repositoryId: m[3]!, imageName: m[4]! } : undefined;
}
