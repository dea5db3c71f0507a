import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildAzureApp, cdktfContext } from '../../bin/azure';
import { App, Testing } from '../../constructs/azure/engine';
import { defineAgent } from '../../constructs/definition';
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
    assert.match(alert.action[0].action_group_id, /azurerm_monitor_action_group\.Alerts\.id/);
    assert.equal(apps.find((a) => a.app_settings.AGENT_QUEUE === undefined)!.app_settings.HTTP_AUTH_LEVEL, 'function');
  });

  it('has no anonymous entry point, no storage key, and no role wider than one resource', () => {
    for (const app of apps) assert.equal(app.app_settings.HTTP_AUTH_LEVEL, 'function');
    for (const account of Object.values(resources.azurerm_storage_account!)) {
      assert.equal(account.shared_access_key_enabled, false);
      assert.equal(account.allow_nested_items_to_be_public, false);
    }
    assert.equal(Object.values(resources.azurerm_servicebus_namespace!)[0]!.local_auth_enabled, false);
    assert.equal(Object.values(resources.azurerm_eventgrid_topic!)[0]!.local_auth_enabled, false);
    for (const assignment of Object.values(resources.azurerm_role_assignment!)) {
      assert.doesNotMatch(assignment.scope, /resource_group|subscriptions\//, `${assignment.role_definition_name} is scoped to one resource`);
    }
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
    assert.deepEqual(Object.keys(manifest.stacks), ['support-agent-dev']);
    const stack = JSON.parse(readFileSync(join(outdir, manifest.stacks['support-agent-dev']!.synthesizedStackPath), 'utf8')) as { resource: Resources };
    assert.equal(Object.values(stack.resource.azurerm_resource_group!)[0]!.location, 'westeurope');
    assert.equal(Object.values(stack.resource.azurerm_linux_function_app!).length, 1);
  });
});
