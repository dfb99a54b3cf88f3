import { KeyVault, KeyVaultKey, MonitorDiagnosticSetting, RoleAssignment, RoleDefinition } from './providers';
import { Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { checkName, uniqueName } from './names';
import { PrivateLink } from './private-link';
import { RbacPropagation } from './rbac-propagation';
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
  /**
   * Vault SKU. `premium` keeps every key the kit creates in an HSM (key types `EC-HSM`,
   * `RSA-HSM`); `standard` keeps them in software.
   * @default 'premium'
   */
  readonly sku?: 'standard' | 'premium';
  /**
   * IPv4 ranges of the machine that runs `cdktf deploy`. Terraform creates keys through the
   * vault's data plane (key_vault_key_resource.go: `CreateKey` on the vault URI), which a vault
   * without public network access refuses from outside its VNet; these ranges (and nothing else)
   * are admitted on the public endpoint, RBAC still applies. Empty: the vault is private-only
   * and `cdktf deploy` must run from inside the VNet.
   * @default []
   */
  readonly deployerCidrs?: readonly string[];
  /**
   * Principal that runs `cdktf deploy`: it gets `Key Vault Crypto Officer` (create the keys) and
   * `Key Vault Secrets Officer` (put the connection credentials) on a created vault.
   * @default none (give them yourself before the keys are created)
   */
  readonly deployerPrincipalId?: string;
  /**
   * Log Analytics workspace that receives the vault's audit log (`AuditEvent`: every secret and
   * key access).
   * @default no diagnostic setting
   */
  readonly logAnalyticsWorkspaceId?: string;
}

/** A key the kit creates in the vault. */
export interface VaultKeyOptions {
  /** Key name in the vault. */
  readonly name: string;
  /** `EC` (P-256) or `RSA` (3072 bits); `-HSM` is added on a premium vault. */
  readonly algorithm: 'EC' | 'RSA';
  /** Key operations, e.g. `['sign', 'verify']` or `['wrapKey', 'unwrapKey']`. */
  readonly operations: readonly string[];
  /**
   * Rotate automatically this long after creation (ISO 8601 duration, e.g. `P365D`); the key
   * expires after twice that. Only for keys whose users follow the newest version (e.g.
   * storage encryption with a versionless id).
   * @default no rotation
   */
  readonly rotateAfter?: string;
}

const CONNECTION_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const IPV4_CIDR = /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/;
/** Built-in role: read secret contents, nothing else. */
const SECRETS_USER = 'Key Vault Secrets User';

/**
 * Key Vault for upstream credentials and the kit's keys: RBAC authorization (no access policies),
 * purge protection, premium (HSM-backed keys), reached through a private endpoint; its public
 * endpoint admits only the deployer's ranges, if any. Only principals given to `addAccess` can
 * read secrets (the vault holds nothing but the gateway's credentials, so that role is assigned on
 * the vault); key roles are assigned per key (`addKeyAccess`).
 */
export class UpstreamCredentials extends Construct {
  public readonly vault?: KeyVault;
  public readonly privateLink?: PrivateLink;
  public readonly vaultId: string;
  public readonly vaultName: string;
  public readonly secretNames: ReadonlyMap<string, string>;
  /** The vault's audit log to Log Analytics (created vault with a workspace). */
  public readonly auditLogs?: MonitorDiagnosticSetting;
  /** Role assignments of the deployer; every key the kit creates waits for them. */
  public readonly deployerAccess: RoleAssignment[] = [];
  /** The pause after the deployer's role assignments that every key waits for. */
  public readonly deployerAccessSettled?: RbacPropagation;
  public readonly premium: boolean;
  private readonly readers: RoleAssignment[] = [];
  private keyReaderRole?: RoleDefinition;
  private readonly resourceGroup: ResourceGroupRef;
  private grants = 0;

  constructor(scope: Construct, id: string, props: UpstreamCredentialsProps) {
    super(scope, id);
    this.resourceGroup = props.resourceGroup;
    if (props.existingVault && (props.vaultName || props.softDeleteRetentionDays || props.sku || props.deployerCidrs)) {
      throw new Error('UpstreamCredentials: vaultName, softDeleteRetentionDays, sku and deployerCidrs apply to a created vault; they conflict with existingVault');
    }
    // An existing vault is assumed standard: keys are created as EC/RSA, which every SKU accepts.
    this.premium = !props.existingVault && (props.sku ?? 'premium') === 'premium';
    const deployerCidrs = props.deployerCidrs ?? [];
    for (const cidr of deployerCidrs) {
      if (!Token.isUnresolved(cidr) && !IPV4_CIDR.test(cidr)) throw new Error(`UpstreamCredentials: deployerCidrs entries must be IPv4 addresses or CIDRs, got "${cidr}"`);
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
        skuName: this.premium ? 'premium' : 'standard',
        rbacAuthorizationEnabled: true,
        purgeProtectionEnabled: true,
        softDeleteRetentionDays: retention,
        // Public endpoint only for the deployer's ranges (data-plane key creation); otherwise none.
        publicNetworkAccessEnabled: deployerCidrs.length > 0,
        // AzureServices: Azure Storage reaches its customer-managed key as a trusted service
        // ("Customer-managed keys for Azure Storage encryption": a key vault behind a firewall must
        // allow trusted Microsoft services). RBAC still decides who reads what.
        networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices', ipRules: [...deployerCidrs] },
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
      if (props.logAnalyticsWorkspaceId) {
        this.auditLogs = new MonitorDiagnosticSetting(this, 'AuditLogs', {
          name: 'gatehouse-vault-audit',
          targetResourceId: this.vault.id,
          logAnalyticsWorkspaceId: props.logAnalyticsWorkspaceId,
          enabledLog: [{ category: 'AuditEvent' }],
        });
      }
      if (props.deployerPrincipalId) {
        for (const role of ['Key Vault Crypto Officer', 'Key Vault Secrets Officer']) {
          this.deployerAccess.push(new RoleAssignment(this, `Deployer${this.deployerAccess.length}`, {
            scope: this.vault.id,
            roleDefinitionName: role,
            principalId: props.deployerPrincipalId,
            description: 'Gatehouse deployer creates the kit keys and puts connection credentials',
          }));
        }
        this.deployerAccessSettled = new RbacPropagation(this, 'DeployerAccessSettled', { assignments: this.deployerAccess });
      }
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

  /**
   * Creates a key in the vault, generated inside it (HSM-backed on a premium vault): the private
   * part never leaves Key Vault. It waits for the deployer's role assignments.
   */
  public addKey(id: string, options: VaultKeyOptions, dependsOn: readonly ITerraformDependable[] = []): KeyVaultKey {
    checkName('UpstreamCredentials', 'key name', options.name, /^[A-Za-z0-9-]{1,127}$/, 'letters, digits and dashes');
    const type = `${options.algorithm}${this.premium ? '-HSM' : ''}`;
    return new KeyVaultKey(this, id, {
      name: options.name,
      keyVaultId: this.vaultId,
      keyType: type,
      ...(options.algorithm === 'EC' ? { curve: 'P-256' } : { keySize: 3072 }),
      keyOpts: [...options.operations],
      rotationPolicy: options.rotateAfter
        ? { automatic: { timeAfterCreation: options.rotateAfter }, expireAfter: doubleDuration(options.rotateAfter), notifyBeforeExpiry: 'P30D' }
        : undefined,
      dependsOn: [
        ...this.deployerAccess,
        ...(this.deployerAccessSettled ? [this.deployerAccessSettled.wait] : []),
        ...(this.privateLink ? [this.privateLink.endpoint] : []),
        ...dependsOn,
      ],
    });
  }

  /**
   * Lets `principalId` use one key: `sign` (Key Vault Crypto User on the key: sign, verify, read
   * the public key), `read` (a custom role: read the public key and verify, never sign; what
   * `gatehouse verify` needs), or `encrypt` (Key Vault Crypto Service Encryption User: wrap and
   * unwrap, for a service's customer-managed key).
   */
  public addKeyAccess(key: KeyVaultKey, principalId: string, use: 'sign' | 'read' | 'encrypt'): RoleAssignment {
    const role = use === 'sign' ? { roleDefinitionName: 'Key Vault Crypto User' }
      : use === 'encrypt' ? { roleDefinitionName: 'Key Vault Crypto Service Encryption User' }
      : { roleDefinitionId: this.keyReader().roleDefinitionResourceId };
    return new RoleAssignment(this, `KeyAccess${this.grants++}`, {
      scope: key.resourceVersionlessId,
      ...role,
      principalId,
      principalType: 'ServicePrincipal',
      description: `Gatehouse key ${use}`,
    });
  }

  private keyReader(): RoleDefinition {
    this.keyReaderRole ??= new RoleDefinition(this, 'KeyReaderRole', {
      name: `Gatehouse key reader (${this.vaultName})`,
      scope: this.resourceGroup.id,
      description: 'Read a Gatehouse public key and verify with it; never sign',
      permissions: [{ actions: [], notActions: [], dataActions: ['Microsoft.KeyVault/vaults/keys/read', 'Microsoft.KeyVault/vaults/keys/verify/action'], notDataActions: [] }],
      assignableScopes: [this.resourceGroup.id],
    });
    return this.keyReaderRole;
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

/** `P365D` → `P730D` (the expiry that leaves a full period after each rotation). */
function doubleDuration(iso: string): string {
  const m = /^P(\d+)D$/.exec(iso);
  if (!m) throw new Error(`UpstreamCredentials: rotateAfter must be a number of days such as "P365D", got "${iso}"`);
  return `P${Number(m[1]) * 2}D`;
}
