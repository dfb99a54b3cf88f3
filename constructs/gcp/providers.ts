// Every resource of @cdktf/provider-google the gcp kit uses, and nothing else of it: the one file that
// names the prebuilt provider bindings (constructs and the reference stack import from here), so a
// move off CDKTF (docs/deployment.md, "Moving off CDKTF") changes these lines, not every construct.
// Deep paths, never the package's root index: loading that costs seconds and hundreds of MB.
export { ArtifactRegistryRepository } from '@cdktf/provider-google/lib/artifact-registry-repository/index.js';
export { ArtifactRegistryRepositoryIamMember } from '@cdktf/provider-google/lib/artifact-registry-repository-iam-member/index.js';
export { CloudRunV2Job } from '@cdktf/provider-google/lib/cloud-run-v2-job/index.js';
export { CloudRunV2Service } from '@cdktf/provider-google/lib/cloud-run-v2-service/index.js';
export { ComputeFirewall } from '@cdktf/provider-google/lib/compute-firewall/index.js';
export { ComputeForwardingRule } from '@cdktf/provider-google/lib/compute-forwarding-rule/index.js';
export { ComputeGlobalAddress } from '@cdktf/provider-google/lib/compute-global-address/index.js';
export { ComputeNetwork } from '@cdktf/provider-google/lib/compute-network/index.js';
export { ComputeRegionAutoscaler } from '@cdktf/provider-google/lib/compute-region-autoscaler/index.js';
export { ComputeRegionBackendService } from '@cdktf/provider-google/lib/compute-region-backend-service/index.js';
export { ComputeRegionHealthCheck } from '@cdktf/provider-google/lib/compute-region-health-check/index.js';
export { ComputeRegionInstanceGroupManager } from '@cdktf/provider-google/lib/compute-region-instance-group-manager/index.js';
export { ComputeRegionInstanceTemplate } from '@cdktf/provider-google/lib/compute-region-instance-template/index.js';
export { ComputeRouter } from '@cdktf/provider-google/lib/compute-router/index.js';
export { ComputeRouterNat } from '@cdktf/provider-google/lib/compute-router-nat/index.js';
export { ComputeSubnetwork } from '@cdktf/provider-google/lib/compute-subnetwork/index.js';
export { DataGoogleArtifactRegistryDockerImage } from '@cdktf/provider-google/lib/data-google-artifact-registry-docker-image/index.js';
export { DataGoogleStorageProjectServiceAccount } from '@cdktf/provider-google/lib/data-google-storage-project-service-account/index.js';
export { IamWorkloadIdentityPool } from '@cdktf/provider-google/lib/iam-workload-identity-pool/index.js';
export { IamWorkloadIdentityPoolProvider } from '@cdktf/provider-google/lib/iam-workload-identity-pool-provider/index.js';
export { KmsCryptoKey } from '@cdktf/provider-google/lib/kms-crypto-key/index.js';
export { KmsCryptoKeyIamMember } from '@cdktf/provider-google/lib/kms-crypto-key-iam-member/index.js';
export { KmsKeyRing } from '@cdktf/provider-google/lib/kms-key-ring/index.js';
export { LoggingMetric } from '@cdktf/provider-google/lib/logging-metric/index.js';
export { MonitoringAlertPolicy } from '@cdktf/provider-google/lib/monitoring-alert-policy/index.js';
export { MonitoringNotificationChannel } from '@cdktf/provider-google/lib/monitoring-notification-channel/index.js';
export { ProjectIamAuditConfig } from '@cdktf/provider-google/lib/project-iam-audit-config/index.js';
export { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
export { ProjectService } from '@cdktf/provider-google/lib/project-service/index.js';
export { GoogleProvider } from '@cdktf/provider-google/lib/provider/index.js';
export { SecretManagerSecret } from '@cdktf/provider-google/lib/secret-manager-secret/index.js';
export { SecretManagerSecretIamBinding } from '@cdktf/provider-google/lib/secret-manager-secret-iam-binding/index.js';
export { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member/index.js';
export { SecretManagerSecretVersion } from '@cdktf/provider-google/lib/secret-manager-secret-version/index.js';
export { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
export { ServiceNetworkingConnection } from '@cdktf/provider-google/lib/service-networking-connection/index.js';
export { SqlDatabase } from '@cdktf/provider-google/lib/sql-database/index.js';
export { SqlDatabaseInstance } from '@cdktf/provider-google/lib/sql-database-instance/index.js';
export { SqlUser } from '@cdktf/provider-google/lib/sql-user/index.js';
export { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
export { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member/index.js';
