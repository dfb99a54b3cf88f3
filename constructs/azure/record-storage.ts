import { MonitorDiagnosticSetting, RoleAssignment, RoleDefinition, StorageAccount, StorageContainer, StorageContainerImmutabilityPolicy } from './providers';
import { Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { checkName, uniqueName } from './names';
import { PrivateLink } from './private-link';
import type { ResourceGroupRef } from './resource-group-ref';

export interface RecordStorageProps {
  readonly resourceGroup: ResourceGroupRef;
  /**
   * Days every blob version stays immutable (a locked, time-based, version-level policy: nobody,
   * not even the subscription owner, can delete or shorten it). Whole days, 1 to 146000.
   * @default 365
   */
  readonly retentionDays?: number;
  /**
   * Storage account name (3-24 lowercase letters and digits, globally unique).
   * @default 'ghrec' plus a hash of the construct path
   */
  readonly accountName?: string;
  /**
   * Container for the record.
   * @default 'records'
   */
  readonly containerName?: string;
  /**
   * Blob name prefix under which the gateway writes (ends with `/`).
   * @default 'gatehouse/'
   */
  readonly prefix?: string;
  /**
   * Replication.
   * @default 'ZRS'
   */
  readonly replication?: 'LRS' | 'ZRS' | 'GRS' | 'GZRS' | 'RAGRS' | 'RAGZRS';
  /** Subnet for the blob private endpoint. */
  readonly endpointSubnetId: string;
  /** VNet linked to the created private DNS zone. */
  readonly virtualNetworkId: string;
  /**
   * An existing `privatelink.blob.core.windows.net` zone.
   * @default a new zone linked to `virtualNetworkId`
   */
  readonly privateDnsZoneId?: string;
  /**
   * Customer-managed key: a Key Vault key (versionless id, so rotation is picked up) and the
   * user-assigned identity the account reads it with (it needs `Key Vault Crypto Service
   * Encryption User` on the key before the account is created: pass that role assignment in
   * `dependsOn`).
   * @default Microsoft-managed keys
   */
  readonly encryptionKey?: { readonly keyVaultKeyId: string; readonly identityId: string; readonly dependsOn?: readonly ITerraformDependable[] };
  /**
   * Log Analytics workspace that receives the blob service's access logs (reads, writes, deletes).
   * @default no diagnostic setting
   */
  readonly logAnalyticsWorkspaceId?: string;
}

/** What a principal may do with the record. */
export type RecordAccess = 'append' | 'read';

const BLOBS = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';

/**
 * The record's home on Azure: a dedicated storage account where every blob version is immutable
 * for the retention period (version-level immutability, locked on the record container, still
 * allowing protected append writes), with versioning, no shared keys, no public access (the
 * account is reached through a private endpoint only), TLS 1.2 and HTTPS only.
 *
 * Access goes through two custom roles without any delete or overwrite action: `append` (create,
 * read) and `read`.
 */
export class RecordStorage extends Construct {
  public readonly account: StorageAccount;
  public readonly container: StorageContainer;
  /** The locked container policy that makes every record blob version immutable. */
  public readonly containerPolicy: StorageContainerImmutabilityPolicy;
  /** Blob access logs delivered to Log Analytics (when a workspace is given). */
  public readonly accessLogs?: MonitorDiagnosticSetting;
  public readonly privateLink: PrivateLink;
  public readonly prefix: string;
  public readonly retentionDays: number;
  private readonly resourceGroup: ResourceGroupRef;
  private readonly roles = new Map<RecordAccess, RoleDefinition>();
  private assignments = 0;

  constructor(scope: Construct, id: string, props: RecordStorageProps) {
    super(scope, id);
    this.resourceGroup = props.resourceGroup;
    this.retentionDays = props.retentionDays ?? 365;
    this.prefix = props.prefix ?? 'gatehouse/';
    if (!Token.isUnresolved(this.retentionDays) && (!Number.isInteger(this.retentionDays) || this.retentionDays < 1 || this.retentionDays > 146000)) {
      throw new Error(`RecordStorage: retentionDays must be a whole number between 1 and 146000, got ${this.retentionDays}`);
    }
    checkName('RecordStorage', 'prefix', this.prefix, /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/$/, 'a relative blob prefix ending with "/" (e.g. "gatehouse/")');
    const accountName = props.accountName ?? uniqueName(this, 'ghrec', 24);
    checkName('RecordStorage', 'accountName', accountName, /^[a-z0-9]{3,24}$/, '3-24 lowercase letters and digits');
    const containerName = props.containerName ?? 'records';
    checkName('RecordStorage', 'containerName', containerName, /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, '3-63 lowercase letters, digits and single dashes');

    const rg = props.resourceGroup;
    this.account = new StorageAccount(this, 'Account', {
      name: accountName,
      resourceGroupName: rg.name,
      location: rg.location,
      accountKind: 'StorageV2',
      accountTier: 'Standard',
      accountReplicationType: props.replication ?? 'ZRS',
      minTlsVersion: 'TLS1_2',
      httpsTrafficOnlyEnabled: true,
      sharedAccessKeyEnabled: false,
      defaultToOauthAuthentication: true,
      allowNestedItemsToBePublic: false,
      publicNetworkAccessEnabled: false,
      crossTenantReplicationEnabled: false,
      localUserEnabled: false,
      sftpEnabled: false,
      infrastructureEncryptionEnabled: true,
      allowedCopyScope: 'PrivateLink',
      networkRules: { defaultAction: 'Deny', bypass: ['None'] },
      blobProperties: { versioningEnabled: true, changeFeedEnabled: true },
      // Version-level immutability for the whole account. azurerm 4.55 refuses any state but
      // Disabled or Unlocked at creation (storage_account_resource.go, CustomizeDiff on
      // immutability_policy.0.state: "initial value ... can be either Disabled or Unlocked"), and
      // Azure answers InvalidStorageAccountImmutabilityPolicy. The lock is the container policy
      // below, which the provider creates and locks in the same apply.
      immutabilityPolicy: {
        state: 'Unlocked',
        periodSinceCreationInDays: this.retentionDays,
        allowProtectedAppendWrites: true,
      },
      identity: props.encryptionKey ? { type: 'UserAssigned', identityIds: [props.encryptionKey.identityId] } : undefined,
      customerManagedKey: props.encryptionKey
        ? { keyVaultKeyId: props.encryptionKey.keyVaultKeyId, userAssignedIdentityId: props.encryptionKey.identityId }
        : undefined,
      dependsOn: props.encryptionKey?.dependsOn ? [...props.encryptionKey.dependsOn] : undefined,
    });
    // Created through Azure Resource Manager (`storage_account_id`), never the blob data plane,
    // which answers 403 from outside the VNet once public network access is off
    // (storage_container_resource.go: `storage_account_id` selects the Resource Manager client;
    // the deprecated `storage_account_name` uses the data plane).
    this.container = new StorageContainer(this, 'Container', {
      name: containerName,
      storageAccountId: this.account.id,
      containerAccessType: 'private',
    });
    // The lock: a container-level time-based retention policy, created and locked in one apply
    // (storage_container_immutability_policy_resource.go, Create: "Lock the policy if requested",
    // LockImmutabilityPolicy through Resource Manager). It takes precedence over the account's
    // unlocked default for every blob version in the container ("object-level > container-level
    // > account-level", Azure Storage REST reference, ImmutableStorageAccount.immutabilityPolicy).
    // Once locked, the period can only grow and the policy cannot be deleted.
    this.containerPolicy = new StorageContainerImmutabilityPolicy(this, 'ContainerPolicy', {
      storageContainerResourceManagerId: this.container.id,
      immutabilityPeriodInDays: this.retentionDays,
      locked: true,
      // Append blobs may grow; existing bytes and every version stay immutable.
      protectedAppendWritesEnabled: true,
    });
    if (props.logAnalyticsWorkspaceId) {
      this.accessLogs = new MonitorDiagnosticSetting(this, 'AccessLogs', {
        name: 'gatehouse-record-access',
        targetResourceId: `${this.account.id}/blobServices/default`,
        logAnalyticsWorkspaceId: props.logAnalyticsWorkspaceId,
        enabledLog: [{ category: 'StorageRead' }, { category: 'StorageWrite' }, { category: 'StorageDelete' }],
      });
    }
    this.privateLink = new PrivateLink(this, 'BlobLink', {
      resourceGroup: rg,
      targetResourceId: this.account.id,
      subresource: 'blob',
      subnetId: props.endpointSubnetId,
      zoneName: 'privatelink.blob.core.windows.net',
      virtualNetworkId: props.virtualNetworkId,
      privateDnsZoneId: props.privateDnsZoneId,
    });
  }

  /** The blob endpoint the gateway writes to. */
  public get blobEndpoint(): string {
    return this.account.primaryBlobEndpoint;
  }

  /**
   * Lets `principalId` append to the record (create blobs, append blocks, read them back) or only
   * read it. Neither role holds a delete, an immutability-policy or a permission action.
   */
  public addAccess(principalId: string, access: RecordAccess): RoleAssignment {
    return new RoleAssignment(this, `Access${this.assignments++}`, {
      scope: this.container.id,
      roleDefinitionId: this.role(access).roleDefinitionResourceId,
      principalId,
      principalType: 'ServicePrincipal',
      description: `Gatehouse record ${access}`,
    });
  }

  private role(access: RecordAccess): RoleDefinition {
    let role = this.roles.get(access);
    if (!role) {
      // No `blobs/write`: Put Blob needs `blobs/write` to overwrite an existing blob (which would
      // make a new current version and shadow the record's) and only `blobs/add/action` to create
      // a new one ("Permissions for Blob service operations", Authorize with Microsoft Entra ID,
      // learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory). The
      // gateway only creates (`If-None-Match: *`, recording/sinks/azure-blob).
      const dataActions = access === 'append' ? [`${BLOBS}/read`, `${BLOBS}/add/action`] : [`${BLOBS}/read`];
      role = new RoleDefinition(this, access === 'append' ? 'AppendRole' : 'ReadRole', {
        name: `Gatehouse record ${access} (${this.account.name})`,
        scope: this.resourceGroup.id,
        description: access === 'append'
          ? 'Create Gatehouse record blobs and read them back; no overwrite, no delete'
          : 'Read Gatehouse record blobs',
        permissions: [{ actions: [], notActions: [], dataActions, notDataActions: [] }],
        assignableScopes: [this.resourceGroup.id],
      });
      this.roles.set(access, role);
    }
    return role;
  }
}
