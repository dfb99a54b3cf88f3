import { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { checkName, uniqueName } from './names';
import { PrivateLink } from './private-link';
import type { ResourceGroupRef } from './resource-group-ref';

/** An existing Key Vault (RBAC authorization) that already holds the credentials. */
export interface ExistingKeyVault {
  readonly id: string;
  readonly name: string;
}

export interface UpstreamCredentialsProps {
  readonly resourceGroup: ResourceGroupRef;
  /** Entra ID tenant of the vault. */
  readonly tenantId: string;
  /**
   * Connection names; each gets the secret name `gatehouse-<name>` (underscores become dashes).
   * The operator puts the values after deploy (`az keyvault secret set`), from inside the VNet.
   * @default none
   */
  readonly connections?: readonly string[];
  /**
   * Use this vault instead of creating one (then no private endpoint is created either).
   * @default a new vault: RBAC, purge protection, no public network access, private endpoint
   */
  readonly existingVault?: ExistingKeyVault;
  /**
   * Vault name (3-24 letters, digits and dashes, globally unique).
   * @default 'ghkv' plus a hash of the construct path
   */
  readonly vaultName?: string;
  /**
   * Soft-delete retention.
   * @default 90
   */
  readonly softDeleteRetentionDays?: number;
  /** Subnet for the vault's private endpoint (required when the vault is created). */
  readonly endpointSubnetId?: string;
  /** VNet linked to the created private DNS zone (required when the vault is created). */
  readonly virtualNetworkId?: string;
  /**
   * An existing `privatelink.vaultcore.azure.net` zone.
   * @default a new zone linked to `virtualNetworkId`
   */
  readonly privateDnsZoneId?: string;
}

const CONNECTION_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Built-in role: read secret contents, nothing else. */
const SECRETS_USER = 'Key Vault Secrets User';

/**
 * Key Vault for upstream credentials: RBAC authorization (no access policies), purge protection,
 * no public network access, reached through a private endpoint. Only principals given to
 * `addAccess` can read secrets; the vault holds nothing but the gateway's credentials, so the
 * role is assigned on the vault.
 */
export class UpstreamCredentials extends Construct {
  public readonly vault?: KeyVault;
  public readonly privateLink?: PrivateLink;
  public readonly vaultId: string;
  public readonly vaultName: string;
  public readonly secretNames: ReadonlyMap<string, string>;
  private readonly readers: RoleAssignment[] = [];

  constructor(scope: Construct, id: string, props: UpstreamCredentialsProps) {
    super(scope, id);
    if (props.existingVault && (props.vaultName || props.softDeleteRetentionDays)) {
      throw new Error('UpstreamCredentials: vaultName and softDeleteRetentionDays apply to a created vault; they conflict with existingVault');
    }
    const names = new Map<string, string>();
    for (const name of props.connections ?? []) {
      if (!Token.isUnresolved(name) && !CONNECTION_NAME.test(name)) {
        throw new Error(`UpstreamCredentials: connection name must be lowercase letters, digits, "-" and "_", got "${name}"`);
      }
      if (names.has(name)) throw new Error(`UpstreamCredentials: connection "${name}" is given more than once`);
      names.set(name, `gatehouse-${name.replace(/_/g, '-')}`);
    }
    this.secretNames = names;

    if (props.existingVault) {
      this.vaultId = props.existingVault.id;
      this.vaultName = props.existingVault.name;
    } else {
      if (!props.endpointSubnetId || !props.virtualNetworkId) {
        throw new Error('UpstreamCredentials: a created vault needs endpointSubnetId and virtualNetworkId for its private endpoint');
      }
      const retention = props.softDeleteRetentionDays ?? 90;
      if (!Token.isUnresolved(retention) && (!Number.isInteger(retention) || retention < 7 || retention > 90)) {
        throw new Error(`UpstreamCredentials: softDeleteRetentionDays must be a whole number between 7 and 90, got ${retention}`);
      }
      const vaultName = props.vaultName ?? uniqueName(this, 'ghkv', 24);
      checkName('UpstreamCredentials', 'vaultName', vaultName, /^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$/, '3-24 letters, digits and dashes, starting with a letter');
      const rg = props.resourceGroup;
      this.vault = new KeyVault(this, 'Vault', {
        name: vaultName,
        resourceGroupName: rg.name,
        location: rg.location,
        tenantId: props.tenantId,
        skuName: 'standard',
        rbacAuthorizationEnabled: true,
        purgeProtectionEnabled: true,
        softDeleteRetentionDays: retention,
        publicNetworkAccessEnabled: false,
        networkAcls: { defaultAction: 'Deny', bypass: 'None' },
        enabledForDeployment: false,
        enabledForDiskEncryption: false,
        enabledForTemplateDeployment: false,
      });
      this.privateLink = new PrivateLink(this, 'VaultLink', {
        resourceGroup: rg,
        targetResourceId: this.vault.id,
        subresource: 'vault',
        subnetId: props.endpointSubnetId,
        zoneName: 'privatelink.vaultcore.azure.net',
        virtualNetworkId: props.virtualNetworkId,
        privateDnsZoneId: props.privateDnsZoneId,
      });
      this.vaultId = this.vault.id;
      this.vaultName = this.vault.name;
    }

    this.node.addValidation({
      validate: () =>
        names.size > 0 && this.readers.length === 0
          ? ['UpstreamCredentials: nobody can read the credentials; call addAccess(gatewayPrincipalId) so the gateway can use them']
          : [],
    });
  }

  /** The vault secret name of one connection; throws if there is none. */
  public secretNameFor(connection: string): string {
    const name = this.secretNames.get(connection);
    if (!name) {
      throw new Error(`UpstreamCredentials: no secret for connection "${connection}"; known: ${[...this.secretNames.keys()].join(', ') || 'none'}`);
    }
    return name;
  }

  /** The gateway's configuration reference to one connection's secret: `azure-kv:<vault>/<secret>`. */
  public referenceFor(connection: string): string {
    return this.reference(this.secretNameFor(connection));
  }

  /** A reference to any secret of this vault (e.g. the state database URL). */
  public reference(secretName: string): string {
    return `azure-kv:${this.vaultName}/${secretName}`;
  }

  /** Lets `principalId` read secret values (Key Vault Secrets User on this vault). */
  public addAccess(principalId: string): RoleAssignment {
    const assignment = new RoleAssignment(this, `Reader${this.readers.length}`, {
      scope: this.vaultId,
      roleDefinitionName: SECRETS_USER,
      principalId,
      principalType: 'ServicePrincipal',
      description: 'Gatehouse gateway reads its upstream credentials',
    });
    this.readers.push(assignment);
    return assignment;
  }
}
