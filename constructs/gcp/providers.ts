// Every resource of @cdktf/provider-google the gcp kit uses, and nothing else of it: the one file that
// names the prebuilt provider bindings (constructs and the reference stack import from here), so a
// move off CDKTF (docs/deployment.md, "Moving off CDKTF") changes these lines, not every construct.
// Deep paths, never the package's root index: loading that costs seconds and hundreds of MB.
export { ArtifactRegistryRepository } from '@cdktf/provider-google/lib/artifact-registry-repository';
export { CloudRunV2Job } from '@cdktf/provider-google/lib/cloud-run-v2-job';
export { CloudRunV2Service } from '@cdktf/provider-google/lib/cloud-run-v2-service';
export { ComputeFirewall } from '@cdktf/provider-google/lib/compute-firewall';
export { ComputeForwardingRule } from '@cdktf/provider-google/lib/compute-forwarding-rule';
export { ComputeGlobalAddress } from '@cdktf/provider-google/lib/compute-global-address';
export { ComputeNetwork } from '@cdktf/provider-google/lib/compute-network';
export { ComputeRegionAutoscaler } from '@cdktf/provider-google/lib/compute-region-autoscaler';
export { ComputeRegionBackendService } from '@cdktf/provider-google/lib/compute-region-backend-service';
export { ComputeRegionHealthCheck } from '@cdktf/provider-google/lib/compute-region-health-check';
export { ComputeRegionInstanceGroupManager } from '@cdktf/provider-google/lib/compute-region-instance-group-manager';
export { ComputeRegionInstanceTemplate } from '@cdktf/provider-google/lib/compute-region-instance-template';
export { ComputeRouter } from '@cdktf/provider-google/lib/compute-router';
export { ComputeRouterNat } from '@cdktf/provider-google/lib/compute-router-nat';
export { ComputeSubnetwork } from '@cdktf/provider-google/lib/compute-subnetwork';
export { DataGoogleArtifactRegistryDockerImage } from '@cdktf/provider-google/lib/data-google-artifact-registry-docker-image';
export { DataGoogleStorageProjectServiceAccount } from '@cdktf/provider-google/lib/data-google-storage-project-service-account';
export { IamWorkloadIdentityPool } from '@cdktf/provider-google/lib/iam-workload-identity-pool';
export { IamWorkloadIdentityPoolProvider } from '@cdktf/provider-google/lib/iam-workload-identity-pool-provider';
export { KmsCryptoKey } from '@cdktf/provider-google/lib/kms-crypto-key';
export { KmsCryptoKeyIamMember } from '@cdktf/provider-google/lib/kms-crypto-key-iam-member';
export { KmsKeyRing } from '@cdktf/provider-google/lib/kms-key-ring';
export { LoggingMetric } from '@cdktf/provider-google/lib/logging-metric';
export { MonitoringAlertPolicy } from '@cdktf/provider-google/lib/monitoring-alert-policy';
export { MonitoringNotificationChannel } from '@cdktf/provider-google/lib/monitoring-notification-channel';
export { ProjectIamAuditConfig } from '@cdktf/provider-google/lib/project-iam-audit-config';
export { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
export { ProjectService } from '@cdktf/provider-google/lib/project-service';
export { GoogleProvider } from '@cdktf/provider-google/lib/provider';
export { SecretManagerSecret } from '@cdktf/provider-google/lib/secret-manager-secret';
export { SecretManagerSecretIamBinding } from '@cdktf/provider-google/lib/secret-manager-secret-iam-binding';
export { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member';
export { SecretManagerSecretVersion } from '@cdktf/provider-google/lib/secret-manager-secret-version';
export { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
export { ServiceNetworkingConnection } from '@cdktf/provider-google/lib/service-networking-connection';
export { SqlDatabase } from '@cdktf/provider-google/lib/sql-database';
export { SqlDatabaseInstance } from '@cdktf/provider-google/lib/sql-database-instance';
export { SqlUser } from '@cdktf/provider-google/lib/sql-user';
export { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket';
export { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
