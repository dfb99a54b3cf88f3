import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
import { StorageAccount } from '@cdktf/provider-azurerm/lib/storage-account';
import { StorageContainer } from '@cdktf/provider-azurerm/lib/storage-container';
import { Token } from 'cdktf';
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
}

/** What a principal may do with the record. */
export type RecordAccess = 'append' | 'read';

const BLOBS = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';

/**
 * The record's home on Azure: a dedicated storage account where every blob version is immutable
 * for the retention period (a locked, account-level, version-level immutability policy that
 * still allows protected append writes), with versioning, no shared keys, no public access (the
 * account is reached through a private endpoint only), TLS 1.2 and HTTPS only.
 *
 * Access goes through two custom roles without any delete action: `append` (create, append, read)
 * and `read`.
 */
export class RecordStorage extends Construct {
  public readonly account: StorageAccount;
  public readonly container: StorageContainer;
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
      immutabilityPolicy: {
        state: 'Locked',
        periodSinceCreationInDays: this.retentionDays,
        // Append blobs may still grow (the gateway appends to open segments); existing bytes
        // and every version stay immutable.
        allowProtectedAppendWrites: true,
      },
    });
    this.container = new StorageContainer(this, 'Container', {
      name: containerName,
      storageAccountId: this.account.id,
      containerAccessType: 'private',
    });
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
      const dataActions = access === 'append' ? [`${BLOBS}/read`, `${BLOBS}/write`, `${BLOBS}/add/action`] : [`${BLOBS}/read`];
      role = new RoleDefinition(this, access === 'append' ? 'AppendRole' : 'ReadRole', {
        name: `Gatehouse record ${access} (${this.account.name})`,
        scope: this.resourceGroup.id,
        description: access === 'append'
          ? 'Create and append Gatehouse record blobs and read them back; no delete'
          : 'Read Gatehouse record blobs',
        permissions: [{ actions: [], notActions: [], dataActions, notDataActions: [] }],
        assignableScopes: [this.resourceGroup.id],
      });
      this.roles.set(access, role);
    }
    return role;
  }
}
