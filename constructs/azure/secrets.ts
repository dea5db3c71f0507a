import type { AzurePrincipal } from './defaults';
import { Construct } from 'constructs';
import { UNSET_SECRET_VALUE } from '../../contract/config/settings';
import { afterRolePropagation, assignDeployer, assignRole, deployer } from './defaults';
import { KeyVault, KeyVaultSecret, type TerraformResource } from './engine';
import { AzureSecureDefaults } from './secure-defaults';

export interface AzureSecretsProps {
  /** The vault name: 3-24 letters, digits and hyphens, unique in Azure. */
  readonly name: string;
  readonly resourceGroupName: string;
  readonly location: string;
}

/**
 * Where model API keys live on Azure: a Key Vault with RBAC authorization (no access policies),
 * purge protection and 90 days of soft delete. Each secret a route names is created holding a
 * placeholder, so read can be granted on it at deploy; its value is then set outside the deployment
 * (`az keyvault secret set`) and never enters Terraform state, which ignores later changes to it.
 * Agents read secrets as Key Vault references, each only the secrets its route names.
 */
export class AzureSecrets extends Construct {
  readonly vault: KeyVault;
  private readonly secrets = new Map<string, KeyVaultSecret>();
  private readonly deployerCanWrite: TerraformResource;

  constructor(scope: Construct, id: string, props: AzureSecretsProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    if (!/^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/.test(props.name) || props.name.includes('--')) {
      throw new Error(`AzureSecrets ${this.node.path}: "${props.name}" is not a Key Vault name (3-24 letters, digits and single hyphens, starting with a letter)`);
    }
    this.vault = new KeyVault(this, 'Vault', {
      name: props.name,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      tenantId: deployer(this).tenantId,
      skuName: 'standard',
      rbacAuthorizationEnabled: true,
      purgeProtectionEnabled: true,
      softDeleteRetentionDays: 90,
    });
    // Whoever deploys creates the placeholders; with RBAC, owning the vault does not let it write secrets.
    const writes = assignDeployer(this, 'DeployerWrites', this.vault.id, 'Key Vault Secrets Officer');
    this.deployerCanWrite = afterRolePropagation(this, 'DeployerWritesPropagated', [writes]);
  }

  /** The secret `name`, created on first use holding a placeholder until its value is set. */
  secret(name: string): KeyVaultSecret {
    let secret = this.secrets.get(name);
    if (!secret) {
      secret = new KeyVaultSecret(this, `Secret-${name}`, {
        name,
        keyVaultId: this.vault.id,
        value: UNSET_SECRET_VALUE,
        contentType: 'API key, set outside the deployment',
        lifecycle: { ignoreChanges: ['value', 'content_type', 'tags', 'expiration_date', 'not_before_date'] },
        dependsOn: [this.deployerCanWrite],
      });
      this.secrets.set(name, secret);
    }
    return secret;
  }

  /** The Key Vault reference an app setting uses to read a secret's current version at run time. */
  reference(secretName: string): string {
    return `@Microsoft.KeyVault(SecretUri=${this.secret(secretName).versionlessId}/)`;
  }

  /** Lets an identity read one secret, and no other secret in the vault. */
  grantRead(principal: AzurePrincipal, secretName: string, id: string): TerraformResource {
    const secret = this.secret(secretName);
    return assignRole(this, `Reader-${id}`, secret.resourceVersionlessId, 'Key Vault Secrets User', principal, secret);
  }
}
