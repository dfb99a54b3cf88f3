import { ProjectService } from './providers';
import { Construct } from 'constructs';

/**
 * The Google APIs the kit's resources are created through. An API must be enabled in the project
 * before anything calls it (https://cloud.google.com/service-usage/docs/enable-disable); on a new
 * project most of these are off, and the first apply would fail at the first resource whose API is.
 * `google_project_service` itself needs the Service Usage API (website/docs/r/google_project_service.html.markdown).
 */
export const GATEHOUSE_APIS = [
  'run.googleapis.com',
  'sqladmin.googleapis.com',
  'secretmanager.googleapis.com',
  'cloudkms.googleapis.com',
  'artifactregistry.googleapis.com',
  'compute.googleapis.com',
  'servicenetworking.googleapis.com',
  'iam.googleapis.com',
  'iamcredentials.googleapis.com',
  'sts.googleapis.com',
  'logging.googleapis.com',
  'monitoring.googleapis.com',
  'storage.googleapis.com',
  'cloudresourcemanager.googleapis.com',
] as const;

export interface ProjectServicesProps {
  /** Project id. */
  readonly project: string;
  /** @default GATEHOUSE_APIS */
  readonly services?: readonly string[];
}

/**
 * Turns on the APIs a Gatehouse needs. Turning one on that is already on is a no-op, and destroying
 * this construct never turns an API off (`disable_on_destroy = false`): other workloads of the
 * project may use it. Every kit resource depends on `services` so nothing is created before its
 * API answers.
 */
export class ProjectServices extends Construct {
  public readonly services: ProjectService[];

  constructor(scope: Construct, id: string, props: ProjectServicesProps) {
    super(scope, id);
    this.services = (props.services ?? GATEHOUSE_APIS).map(
      (service) => new ProjectService(this, service.split('.')[0]!, { project: props.project, service, disableOnDestroy: false, disableDependentServices: false }),
    );
  }
}
