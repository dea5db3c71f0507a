import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildAzureApp, cdktfContext } from '../../bin/azure';
import { App, Testing } from '../../constructs/azure/engine';
import { ACKNOWLEDGMENTS_KEY } from '../../constructs/azure/secure-defaults';
import { AGENT_CONFIG_ENV, decodeAgentConfig } from '../../contract/config/runtime-config';
import { AzureMultiAgentStack } from '../../stacks/multi-agent/azure-multi-agent-stack';
import { exampleTeam } from '../../stacks/multi-agent/team-agents';
import { AZURE_ROUTER, type Resources } from '../__fixtures__/azure-synth';

type Synthesized = { resource: Resources; output: Record<string, { value: string }>; '//'?: Record<string, unknown> };

describe('AzureMultiAgentStack', () => {
  // With the validations: the secure-default checks and the team's own.
  const synthesized = JSON.parse(Testing.synth(new AzureMultiAgentStack(Testing.app(), 'multi-agent-test', { location: 'westeurope', models: AZURE_ROUTER }), true)) as Synthesized;
  const resources = synthesized.resource;
  const apps = Object.values(resources.azurerm_linux_function_app!);
  const configOf = (app: Record<string, any>) => decodeAgentConfig(app.app_settings[AGENT_CONFIG_ENV]);
  const appOf = (agent: string) => apps.find((a) => configOf(a).definition.name === agent)!;

  it('deploys the example team, the same definitions as on AWS, each agent in its own app on its own Consumption plan', () => {
    assert.deepEqual(['triage', 'billing', 'technical'].map((name) => configOf(appOf(name)).definition), exampleTeam());
    assert.deepEqual(Object.values(resources.azurerm_service_plan!).map((p) => p.sku_name), ['Y1', 'Y1', 'Y1']);
    assert.equal(new Set(apps.map((a) => a.service_plan_id)).size, 3);
    assert.deepEqual(Object.values(resources.azurerm_servicebus_queue!).map((q) => q.name).sort(), ['billing', 'technical', 'triage']);
  });

  it('passes the secure-default checks with nothing acknowledged: every agent behind Entra ID', () => {
    assert.equal(synthesized['//']?.[ACKNOWLEDGMENTS_KEY], undefined);
    for (const app of apps) {
      assert.equal(app.app_settings.HTTP_AUTH_LEVEL, 'anonymous');
      assert.equal(app.auth_settings_v2.require_authentication, true);
    }
    assert.equal(Object.keys(resources.azuread_application!).length, 3);
  });

  it('wires the team: triage reaches billing and technical, who take tasks from triage alone', () => {
    const [triage, billing, technical] = ['triage', 'billing', 'technical'].map(appOf);
    assert.deepEqual(Object.keys(JSON.parse(triage!.app_settings.AGENT_PEERS)).sort(), ['billing', 'technical']);
    assert.deepEqual([configOf(triage!).callers, configOf(billing!).callers, configOf(technical!).callers], [undefined, ['triage'], ['triage']]);
    assert.deepEqual(Object.values(resources.azurerm_eventgrid_event_subscription!).map((s) => [s.name, s.included_event_types]), [
      ['tasks-billing', ['delegation.to.billing']],
      ['tasks-technical', ['handoff.to.technical']],
      ['tasks-triage', ['result.to.triage']],
    ]);
    assert.equal(Object.keys(resources.azuread_app_role_assignment!).length, 1);
  });

  it('prints triage\'s URL and token audience', () => {
    assert.match(synthesized.output['triage-url']!.value, /^https:\/\/\$\{azurerm_linux_function_app\.Agent-triage_App_\w+\.default_hostname\}\/api\/agents\/triage\/invocations$/);
    assert.match(synthesized.output['triage-token-audience']!.value, /^api:\/\/\$\{data\.azurerm_client_config\.Deployer\.tenant_id\}\/multi-agent-test-agent-triage-/);
    assert.deepEqual(Object.keys(synthesized.output).sort(), ['triage-token-audience', 'triage-url']);
  });

  it('is built by the Azure app per environment, behind Entra ID even where the single agent takes function keys', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdktf-out-'));
    buildAzureApp(new App({ outdir, context: { ...cdktfContext(), stage: 'dev' } })).synth();
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { stacks: Record<string, { synthesizedStackPath: string }> };
    assert.deepEqual(Object.keys(manifest.stacks).sort(), ['hybrid-agents-dev', 'multi-agent-dev', 'support-agent-dev']);
    const dev = JSON.parse(readFileSync(join(outdir, manifest.stacks['multi-agent-dev']!.synthesizedStackPath), 'utf8')) as Synthesized;
    assert.equal(Object.values(dev.resource.azurerm_resource_group!)[0]!.location, 'westeurope');
    for (const app of Object.values(dev.resource.azurerm_linux_function_app!)) assert.equal(app.auth_settings_v2.require_authentication, true);
    assert.equal(dev['//']?.[ACKNOWLEDGMENTS_KEY], undefined);
  });
});
