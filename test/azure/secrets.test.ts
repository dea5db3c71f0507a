import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from '../../constructs/azure/engine';
import { AzureSecrets } from '../../constructs/azure/secrets';
import { UNSET_SECRET_VALUE } from '../../contract/config/settings';

type Synthesized = { resource: Record<string, Record<string, Record<string, any>>>; data: Record<string, unknown>; terraform: { required_providers: Record<string, unknown> } };

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
    const assignments = Object.values(synthesized.resource.azurerm_role_assignment!);
    const reader = assignments.find((a) => a.role_definition_name === 'Key Vault Secrets User')!;
    assert.match(reader.scope, /^\$\{azurerm_key_vault_secret\.Secrets_Secret-anthropic-api-key_\w+\.resource_versionless_id\}$/);
    assert.equal(reader.principal_id, '00000000-0000-0000-0000-000000000003');
    assert.match(reference, /^@Microsoft\.KeyVault\(SecretUri=\$\{TfToken\[TOKEN\.\d+\]\}\/\)$/);
  });

  it('creates each secret a route names with a placeholder, and never manages its value after', () => {
    const synthesized = JSON.parse(
      Testing.synthScope((scope) => {
        const secrets = new AzureSecrets(scope, 'Secrets', { name: 'agents-kv', resourceGroupName: 'agents', location: 'westeurope' });
        secrets.grantRead('principal-1', 'anthropic-api-key', 'support');
        secrets.grantRead('principal-2', 'anthropic-api-key', 'billing');
      }),
    ) as Synthesized;
    const secrets = Object.values(synthesized.resource.azurerm_key_vault_secret!);
    assert.equal(secrets.length, 1);
    assert.equal(secrets[0]!.value, UNSET_SECRET_VALUE);
    assert.ok(secrets[0]!.lifecycle.ignore_changes.includes('value'));
    // The deploying identity writes the placeholders: with RBAC, owning the vault is not enough.
    const officer = Object.values(synthesized.resource.azurerm_role_assignment!).find((a) => a.role_definition_name === 'Key Vault Secrets Officer')!;
    assert.match(officer.scope, /^\$\{azurerm_key_vault\.\w+\.id\}$/);
    assert.match(officer.principal_id, /data\.azurerm_client_config\.[\w-]+\.object_id/);
    // Written only once that role has reached Key Vault, which takes a while after it is created.
    const [sleepId, sleep] = Object.entries(synthesized.resource.time_sleep!)[0]!;
    assert.deepEqual(secrets[0]!.depends_on, [`time_sleep.${sleepId}`]);
    assert.equal(sleep.create_duration, '60s');
    const [officerId] = Object.entries(synthesized.resource.azurerm_role_assignment!).find(([, a]) => a.role_definition_name === 'Key Vault Secrets Officer')!;
    assert.deepEqual(sleep.triggers, { 'Secrets/DeployerWrites': `\${azurerm_role_assignment.${officerId}.id}` });
    assert.deepEqual(synthesized.terraform.required_providers, { time: { source: 'hashicorp/time', version: '~> 0.12' } });
  });

  it('refuses a name Key Vault does not allow, naming the construct', () => {
    assert.throws(() => Testing.synthScope((scope) => new AzureSecrets(scope, 'Secrets', { name: 'kv', resourceGroupName: 'g', location: 'westeurope' })), /AzureSecrets stack\/Secrets: "kv" is not a Key Vault name/);
  });
});
