import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from '../../constructs/azure/engine';
import { AzureSecrets } from '../../constructs/azure/secrets';

type Synthesized = { resource: Record<string, Record<string, Record<string, any>>>; data: Record<string, unknown> };

describe('AzureSecrets', () => {
  it('is an RBAC Key Vault with purge protection, read granted per secret', () => {
    let reference = '';
    const synthesized = JSON.parse(
      Testing.synthScope((scope) => {
        const secrets = new AzureSecrets(scope, 'Secrets', { name: 'agents-kv', resourceGroupName: 'agents', location: 'westeurope' });
        secrets.grantRead('00000000-0000-0000-0000-000000000003', 'anthropic-api-key', 'support');
        reference = secrets.reference('anthropic-api-key');
      }),
    ) as Synthesized;
    const [vault] = Object.values(synthesized.resource.azurerm_key_vault!);
    assert.equal(vault!.rbac_authorization_enabled, true);
    assert.equal(vault!.purge_protection_enabled, true);
    assert.equal(vault!.soft_delete_retention_days, 90);
    assert.ok(synthesized.data.azurerm_client_config, 'the tenant comes from the deploying identity, not config');
    const [assignment] = Object.values(synthesized.resource.azurerm_role_assignment!);
    assert.equal(assignment!.role_definition_name, 'Key Vault Secrets User');
    assert.match(assignment!.scope, /^\$\{azurerm_key_vault\.[A-Za-z0-9_]+\.id\}\/secrets\/anthropic-api-key$/);
    assert.match(reference, /^@Microsoft\.KeyVault\(SecretUri=\$\{TfToken\[TOKEN\.\d+\]\}secrets\/anthropic-api-key\/\)$/);
  });

  it('refuses a name Key Vault does not allow, naming the construct', () => {
    assert.throws(() => Testing.synthScope((scope) => new AzureSecrets(scope, 'Secrets', { name: 'kv', resourceGroupName: 'g', location: 'westeurope' })), /AzureSecrets stack\/Secrets: "kv" is not a Key Vault name/);
  });
});
