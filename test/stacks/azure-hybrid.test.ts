import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { AzureAgentContainer } from '../../constructs/azure/agent-container';
import { AzureAgentFunction } from '../../constructs/azure/agent-function';
import { Testing } from '../../constructs/azure/engine';
import { ACKNOWLEDGMENTS_KEY } from '../../constructs/azure/secure-defaults';
import { AGENT_CONFIG_ENV, decodeAgentConfig } from '../../contract/config/runtime-config';
import { defineAgent } from '../../contract/definition';
import { AzureHybridStack } from '../../stacks/hybrid/azure-hybrid-stack';
import { exampleHybrid } from '../../stacks/hybrid/hybrid-agents';
import { AZURE_ROUTER, type Resources } from '../__fixtures__/azure-synth';

type Synthesized = { resource: Resources; terraform: { required_providers: Record<string, { version: string }> }; '//'?: Record<string, unknown> };
const unhashed = (reference: string) => reference.replace(/_[0-9A-F]{8}\b/g, '');
const RESEARCH = join(__dirname, '..', '..', 'stacks', 'hybrid', 'research.agent.yaml');
const models = { ...AZURE_ROUTER, cohorts: {} };

describe('AzureHybridStack', () => {
  // With the validations: the secure-default checks and the team's own.
  const stack = new AzureHybridStack(Testing.app(), 'hybrid-test', { location: 'westeurope', models });
  const synthesized = JSON.parse(Testing.synth(stack, true)) as Synthesized;
  const resources = synthesized.resource;

  it('keeps the short intake agent a Function App and runs the long research agent in a container app, from the AWS stack\'s definitions', () => {
    const [intake, research] = stack.agents;
    assert.ok(intake instanceof AzureAgentFunction && research instanceof AzureAgentContainer);
    assert.equal(Object.keys(resources.azurerm_linux_function_app!).length, 1);
    const [app] = Object.values(resources.azurerm_container_app!);
    const config = decodeAgentConfig(app!.template.container[0].env.find((e: { name: string }) => e.name === AGENT_CONFIG_ENV).value);
    assert.deepEqual(config.definition, exampleHybrid()[1]);
    assert.equal(app!.template.min_replicas, 0);
    assert.equal(app!.ingress, undefined);
    assert.equal(synthesized.terraform.required_providers.azurerm!.version, '~> 4.73');
  });

  it('carries intake\'s hand-offs to research\'s queue over the shared topic, and lets intake write research\'s inbox only', () => {
    const subscriptions = Object.values(resources.azurerm_eventgrid_event_subscription!);
    // Intake takes jobs, so the ends of its hand-offs come back to its queue.
    assert.deepEqual(subscriptions.map((s) => s.included_event_types), [['result.to.intake'], ['handoff.to.research']]);
    const subscription = subscriptions[1];
    assert.equal(unhashed(subscription!.service_bus_queue_endpoint_id), '${azurerm_servicebus_queue.Queue-research_Queue.id}');
    const intakeGrants = Object.values(resources.azurerm_role_assignment!)
      .filter((r) => String(r.principal_id).includes('Agent-intake_Identity'))
      .map((r) => `${r.role_definition_name} @ ${unhashed(String(r.scope))}`);
    assert.ok(intakeGrants.includes('Storage Blob Data Contributor @ ${azurerm_storage_container.Agent-research_State-inbox.resource_manager_id}'));
    assert.ok(!intakeGrants.some((g) => g.includes('Agent-research') && !g.includes('State-inbox')), intakeGrants.join('\n'));
  });

  it('passes the Azure secure-default checks with nothing to acknowledge but what the stage-2 stack acknowledges', () => {
    const acknowledged = (synthesized['//']?.[ACKNOWLEDGMENTS_KEY] ?? []) as { rule: string }[];
    assert.ok(acknowledged.every((a) => !/ContainerApp|ScaleRule|Registry/.test(a.rule)), JSON.stringify(acknowledged));
  });

  it('moves the research agent to a Function App with one line of its YAML (and a run limit Consumption allows)', () => {
    const yaml = readFileSync(RESEARCH, 'utf8');
    const asFunction = yaml.replace(/^placement: container$/m, 'placement: function').replace(/^  timeoutSeconds: 3600$/m, '  timeoutSeconds: 300');
    const parsed = defineAgent({ ...parse(asFunction), instructions: { file: join(__dirname, '..', '..', 'stacks', 'hybrid', 'research.instructions.md') } });
    const [intake] = exampleHybrid();
    const moved = new AzureHybridStack(Testing.app(), 'moved', { location: 'westeurope', models, agents: [intake!, parsed] });
    assert.ok(moved.agents.every((a) => a instanceof AzureAgentFunction));
    const out = JSON.parse(Testing.synth(moved, true)) as Synthesized;
    assert.equal(out.resource.azurerm_container_app, undefined);
    assert.equal(out.resource.azurerm_container_app_environment, undefined);
    assert.equal(Object.keys(out.resource.azurerm_linux_function_app!).length, 2);
  });
});
