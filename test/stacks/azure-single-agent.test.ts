import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildAzureApp, cdktfContext } from '../../bin/azure';
import { App, Testing } from '../../constructs/azure/engine';
import { ACKNOWLEDGMENTS_KEY } from '../../constructs/azure/secure-defaults';
import { defineAgent } from '../../contract/definition';
import { AzureSingleAgentStack } from '../../stacks/single-agent/azure-single-agent-stack';
import { exampleAgent } from '../../stacks/single-agent/example-agent';
import { AZURE_ROUTER, type Resources } from '../__fixtures__/azure-synth';

function synthStack(agents = [exampleAgent()]): Resources {
  const stack = new AzureSingleAgentStack(Testing.app(), 'support-agent-test', { location: 'westeurope', models: AZURE_ROUTER, agents });
  return (JSON.parse(Testing.synth(stack)) as { resource: Resources }).resource;
}

describe('AzureSingleAgentStack', () => {
  const second = defineAgent({ ...exampleAgent(), name: 'billing', triggers: [{ type: 'api' }] });
  const resources = synthStack([exampleAgent(), second]);
  const apps = Object.values(resources.azurerm_linux_function_app!);

  it('deploys one Function App per agent, each on its own Consumption plan, from one runtime package', () => {
    assert.equal(apps.length, 2);
    assert.deepEqual(Object.values(resources.azurerm_service_plan!).map((p) => [p.os_type, p.sku_name]), [['Linux', 'Y1'], ['Linux', 'Y1']]);
    assert.equal(new Set(apps.map((a) => a.service_plan_id)).size, 2);
    assert.equal(Object.values(resources.azurerm_storage_blob!).filter((b) => b.content_type === 'application/zip').length, 1);
    assert.equal(new Set(apps.map((a) => a.app_settings.WEBSITE_RUN_FROM_PACKAGE)).size, 1);
  });

  it('gives a queue only to the agent whose triggers need one, and alerts on its dead letters', () => {
    assert.deepEqual(Object.values(resources.azurerm_servicebus_queue!).map((q) => q.name), ['support']);
    const alert = Object.values(resources.azurerm_monitor_metric_alert!)[0]!;
    assert.match(alert.action[0].action_group_id, /azurerm_monitor_action_group\.Operations_ActionGroup_\w+\.id/);
  });

  it('alerts the operations layer\'s action group on failed runs of each agent, and of their cohort', () => {
    const alerts = Object.entries(resources.azurerm_monitor_scheduled_query_rules_alert_v2!);
    assert.equal(alerts.filter(([key]) => key.startsWith('Observability_FailedRuns-')).length, 2);
    // Both agents are of cohort support: its four alerts, and the one on audit records that missed Log Analytics.
    assert.deepEqual(alerts.filter(([key]) => key.startsWith('Operations_')).map(([, a]) => a.name).sort(), ['support-agent-test-audit-ingestion', 'support-agent-test-audit-pipeline', ...['cost-per-hour', 'external-cost-per-day', 'failed-runs', 'validation-failures'].map((n) => `support-agent-test-support-${n}`)]);
    const groups = new Set(alerts.map(([, a]) => a.action.action_groups[0]));
    assert.equal(groups.size, 1);
    assert.match([...groups][0], /^\$\{azurerm_monitor_action_group\.Operations_ActionGroup_\w+\.id\}$/);
  });

  it('copies both agents\' audit records to the workspace\'s table, and budgets their cohort over the stack\'s resource group', () => {
    for (const app of apps) assert.match(app.app_settings.AUDIT_LOGS_RULE_ID, /azurerm_monitor_data_collection_rule\./);
    const [budget] = Object.values(resources.azurerm_consumption_budget_resource_group!);
    assert.deepEqual([budget!.amount, budget!.filter.tag[0].values, budget!.resource_group_id], [100, ['support'], '${azurerm_resource_group.Group.id}']);
    for (const app of apps) assert.equal(app.tags.cohort, 'support');
  });

  it('reaches keyless storage with Entra ID, the deployer granted only the data roles it writes through', () => {
    const stack = new AzureSingleAgentStack(Testing.app(), 'support-agent-test', { location: 'westeurope', models: AZURE_ROUTER });
    const synthesized = JSON.parse(Testing.synth(stack)) as { provider: { azurerm: { storage_use_azuread: boolean }[] }; resource: Resources };
    assert.equal(synthesized.provider.azurerm[0]!.storage_use_azuread, true);
    const deployer = Object.values(synthesized.resource.azurerm_role_assignment!).filter((a) => /azurerm_client_config/.test(a.principal_id));
    assert.deepEqual(deployer.map((a) => `${a.role_definition_name} @ ${String(a.scope).replace(/_[0-9A-F]{8}\b/g, '')}`).sort(), [
      'Key Vault Secrets Officer @ ${azurerm_key_vault.Secrets_Vault.id}',
      'Storage Blob Data Contributor @ ${azurerm_storage_container.Runtime_Container.resource_manager_id}',
      'Storage Blob Data Contributor @ ${azurerm_storage_container.Skills_Container.resource_manager_id}',
    ]);
    for (const blob of Object.values(synthesized.resource.azurerm_storage_blob!)) assert.match(blob.depends_on[0], /DeployerUploads/);
  });

  it('has no entry point without an Entra ID token, no storage key, and no role wider than one resource', () => {
    for (const app of apps) {
      assert.equal(app.auth_settings_v2.require_authentication, true);
      assert.match(app.auth_settings_v2.active_directory_v2.client_id, /^\$\{azuread_application\.Agent-\w+_AppRegistration_\w+\.client_id\}$/);
    }
    for (const account of Object.values(resources.azurerm_storage_account!)) {
      assert.equal(account.shared_access_key_enabled, false);
      assert.equal(account.allow_nested_items_to_be_public, false);
    }
    assert.equal(Object.values(resources.azurerm_servicebus_namespace!)[0]!.local_auth_enabled, false);
    assert.equal(Object.values(resources.azurerm_eventgrid_topic!)[0]!.local_auth_enabled, false);
    for (const assignment of Object.values(resources.azurerm_role_assignment!)) {
      assert.doesNotMatch(assignment.scope, /resource_group|subscriptions\//, `${assignment.role_definition_name} is scoped to one resource`);
    }
    // Agents read secrets one by one, never the whole vault.
    for (const reader of Object.values(resources.azurerm_role_assignment!).filter((a) => a.role_definition_name === 'Key Vault Secrets User')) {
      assert.match(reader.scope, /^\$\{azurerm_key_vault_secret\.[\w-]+\.resource_versionless_id\}$/);
    }
  });

  it('derives global names from the subscription, so one stack deploys to two subscriptions without collisions', () => {
    const names = (subscriptionId?: string) => {
      const stack = new AzureSingleAgentStack(Testing.app(), 'support-agent-test', { location: 'westeurope', models: AZURE_ROUTER, ...(subscriptionId && { subscriptionId }) });
      const r = (JSON.parse(Testing.synth(stack)) as { resource: Resources }).resource;
      return ['azurerm_storage_account', 'azurerm_key_vault', 'azurerm_servicebus_namespace', 'azurerm_eventgrid_topic', 'azurerm_linux_function_app'].flatMap((t) => Object.values(r[t]!).map((x) => x.name as string));
    };
    const a = names('11111111-1111-1111-1111-111111111111');
    const b = names('22222222-2222-2222-2222-222222222222');
    assert.deepEqual(a, names('11111111-1111-1111-1111-111111111111'), 'the same subscription gets the same names');
    assert.equal(a.filter((n, i) => n === b[i]).length, 0);
    for (const n of a.slice(0, 4)) assert.match(n, /^[a-z0-9]{3,24}$/, 'storage account names');
  });

  it('prints each agent URL as an output', () => {
    const stack = new AzureSingleAgentStack(Testing.app(), 'support-agent-test', { location: 'westeurope', models: AZURE_ROUTER });
    const outputs = (JSON.parse(Testing.synth(stack)) as { output: Record<string, { value: string }> }).output;
    assert.match(outputs['support-url']!.value, /^https:\/\/\$\{azurerm_linux_function_app\.[\w-]+\.default_hostname\}\/api\/agents\/support\/invocations$/);
  });

  it('is built by the Azure app per environment in cdktf.json, into Terraform JSON', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdktf-out-'));
    buildAzureApp(new App({ outdir, context: { ...cdktfContext(), stage: 'dev' } })).synth();
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { stacks: Record<string, { synthesizedStackPath: string }> };
    assert.deepEqual(Object.keys(manifest.stacks).sort(), ['hybrid-agents-dev', 'multi-agent-dev', 'support-agent-dev']);
    const stack = JSON.parse(readFileSync(join(outdir, manifest.stacks['support-agent-dev']!.synthesizedStackPath), 'utf8')) as { resource: Resources };
    assert.equal(Object.values(stack.resource.azurerm_resource_group!)[0]!.location, 'westeurope');
    assert.equal(Object.values(stack.resource.azurerm_linux_function_app!).length, 1);
  });

  it('serves prod behind Entra ID and dev with function keys, as cdktf.json says, with dev\'s reason recorded', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdktf-out-'));
    buildAzureApp(new App({ outdir, context: cdktfContext() })).synth();
    const read = (stage: string) => JSON.parse(readFileSync(join(outdir, 'stacks', `support-agent-${stage}`, 'cdk.tf.json'), 'utf8')) as { resource: Resources; output: Record<string, { value: string }>; '//': Record<string, any> };
    const prod = read('prod');
    const prodApp = Object.values(prod.resource.azurerm_linux_function_app!)[0]!;
    assert.equal(prodApp.auth_settings_v2.require_authentication, true);
    assert.equal(Object.keys(prod.resource.azuread_application!).length, 1);
    assert.match(prod.output['support-token-audience']!.value, /^api:\/\/\$\{data\.azurerm_client_config\.Deployer\.tenant_id\}\//);
    assert.equal(prod['//'][ACKNOWLEDGMENTS_KEY], undefined);
    const dev = read('dev');
    const devApp = Object.values(dev.resource.azurerm_linux_function_app!)[0]!;
    assert.equal(devApp.app_settings.HTTP_AUTH_LEVEL, 'function');
    assert.equal(dev.resource.azuread_application, undefined);
    const reason = (cdktfContext().httpAuth as Record<string, { reason: string }>).dev!.reason;
    assert.deepEqual(dev['//'][ACKNOWLEDGMENTS_KEY], [{ rule: 'AzureSecure-FunctionKeys', path: 'support-agent-dev/Agent-support/App', reason }]);
  });
});
