import { Construct } from 'constructs';
import { assignRole } from './defaults';
import { DataAzurermClientConfig, KeyVault, type RoleAssignment } from './engine';

export interface AzureSecretsProps {
  /** The vault name: 3-24 letters, digits and hyphens, unique in Azure. */
  readonly name: string;
  readonly resourceGroupName: string;
  readonly location: string;
}

/**
 * Where model API keys live on Azure: a Key Vault with RBAC authorization (no access policies),
 * purge protection and 90 days of soft delete. Secret values are set outside the deployment, so
 * they never enter Terraform state; agents read them as Key Vault references, each only the secrets
 * its route names.
 */
export class AzureSecrets extends Construct {
  readonly vault: KeyVault;

  constructor(scope: Construct, id: string, props: AzureSecretsProps) {
    super(scope, id);
    if (!/^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/.test(props.name) || props.name.includes('--')) {
      throw new Error(`AzureSecrets ${this.node.path}: "${props.name}" is not a Key Vault name (3-24 letters, digits and single hyphens, starting with a letter)`);
    }
    const client = new DataAzurermClientConfig(this, 'Client', {});
    this.vault = new KeyVault(this, 'Vault', {
      name: props.name,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      tenantId: client.tenantId,
      skuName: 'standard',
      rbacAuthorizationEnabled: true,
      purgeProtectionEnabled: true,
      softDeleteRetentionDays: 90,
    });
  }

  /** The Key Vault reference an app setting uses to read a secret at run time. */
  reference(secretName: string): string {
    return `@Microsoft.KeyVault(SecretUri=${this.vault.vaultUri}secrets/${secretName}/)`;
  }

  /** Lets an identity read one secret, and no other secret in the vault. */
  grantRead(principalId: string, secretName: string, id: string): RoleAssignment {
    return assignRole(this, `Reader-${id}`, `${this.vault.id}/secrets/${secretName}`, 'Key Vault Secrets User', principalId);
  }
}
