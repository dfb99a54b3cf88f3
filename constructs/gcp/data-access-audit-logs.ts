import { ProjectIamAuditConfig } from './providers';
import { Construct } from 'constructs';

/** Services whose Data Access audit logs the kit turns on: where the record, its keys, secrets and state live. */
export const AUDITED_SERVICES = ['storage.googleapis.com', 'secretmanager.googleapis.com', 'cloudkms.googleapis.com', 'sqladmin.googleapis.com'] as const;

export interface DataAccessAuditLogsProps {
  readonly project: string;
  /** @default AUDITED_SERVICES */
  readonly services?: readonly string[];
}

/**
 * Data Access audit logs (ADMIN_READ, DATA_READ, DATA_WRITE) for the services holding the record,
 * its keys, the gateway's secrets and its state. Google Cloud writes only Admin Activity logs by
 * default; Data Access logs are off for every service but BigQuery
 * (https://cloud.google.com/logging/docs/audit/configure-data-access). Who read a record object,
 * used the signing key or read a secret is otherwise never logged.
 *
 * `google_project_iam_audit_config` is authoritative for its service: other audit configs of the
 * same service in the project are replaced (website/docs/r/google_project_iam.html.markdown).
 */
export class DataAccessAuditLogs extends Construct {
  public readonly configs: ProjectIamAuditConfig[];

  constructor(scope: Construct, id: string, props: DataAccessAuditLogsProps) {
    super(scope, id);
    this.configs = (props.services ?? AUDITED_SERVICES).map(
      (service) =>
        new ProjectIamAuditConfig(this, service.split('.')[0]!, {
          project: props.project,
          service,
          auditLogConfig: [{ logType: 'ADMIN_READ' }, { logType: 'DATA_READ' }, { logType: 'DATA_WRITE' }],
        }),
    );
  }
}
