import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AzureAgentFleet, type AzureAgentFleetProps } from '../../constructs/azure/agent-fleet';
import { App } from '../../constructs/azure/engine';
import { azureQuotaProblems } from '../../constructs/azure/quotas';
import { stateCondition } from '../../constructs/azure/agent-storage';
import { FLEET_LOCK_CONTEXT } from '../../contract/fleet/lock';
import { fleetAgents } from '../../stacks/fleet/fleet-agents';
import { agentInput, SKILLS } from '../helpers';
import { AZURE_ROUTER, type Resources } from '../__fixtures__/azure-synth';

type Synthesized = { resource: Resources; data?: Record<string, unknown>; output?: Record<string, unknown> };
const temp = () => mkdtempSync(join(tmpdir(), 'azure-fleet-'));
const models = { ...AZURE_ROUTER, cohorts: {} };

function fleet(props: Partial<AzureAgentFleetProps> = {}, outdir = temp()): { app: App; fleet: AzureAgentFleet; outdir: string } {
  const app = new App({ outdir, context: { [FLEET_LOCK_CONTEXT]: 'update' } });
  const built = new AzureAgentFleet(app, 'fleet', { agents: fleetAgents(7), models, skillsPath: SKILLS, lockFile: join(outdir, 'fleet.lock.json'), location: 'westeurope', agentsPerShard: 3, ...props });
  return { app, fleet: built, outdir };
}

describe('AzureAgentFleet', () => {
  const { app, fleet: built, outdir } = fleet();
  app.synth();
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { stacks: Record<string, { synthesizedStackPath: string; dependencies: string[] }> };
  const stack = (name: string) => JSON.parse(readFileSync(join(outdir, manifest.stacks[name]!.synthesizedStackPath), 'utf8')) as Synthesized;

  it('lays the agents out in shard stacks of the lock, each with its own state, depending on the platform stack only', () => {
    assert.deepEqual(Object.keys(manifest.stacks).sort(), ['fleet-agents-01', 'fleet-agents-02', 'fleet-agents-03', 'fleet-platform']);
    assert.deepEqual(manifest.stacks['fleet-platform']!.dependencies, []);
    for (const shard of ['fleet-agents-01', 'fleet-agents-02', 'fleet-agents-03']) assert.deepEqual(manifest.stacks[shard]!.dependencies, ['fleet/fleet-platform'], shard);
    assert.deepEqual(built.placement, JSON.parse(readFileSync(join(outdir, 'fleet.lock.json'), 'utf8')).shards);
    // The shard reads the platform's outputs from its state; the platform reads nothing of the shards.
    assert.ok(stack('fleet-agents-01').data?.terraform_remote_state);
    assert.equal(stack('fleet-platform').data?.terraform_remote_state, undefined);
  });

  it('runs each shard\'s apps on one Consumption plan, and declares every role its agents get on platform resources in the shard', () => {
    const shard = stack('fleet-agents-01');
    const plans = Object.values(shard.resource.azurerm_service_plan!);
    assert.equal(plans.length, 1);
    assert.equal(plans[0]!.sku_name, 'Y1');
    const apps = Object.values(shard.resource.azurerm_linux_function_app!);
    assert.equal(apps.length, 3);
    assert.equal(new Set(apps.map((a) => a.service_plan_id)).size, 1);
    const platformRoles = Object.values(stack('fleet-platform').resource.azurerm_role_assignment ?? {});
    assert.ok(platformRoles.every((r) => !String(r.principal_id).includes('Agent-')), 'the platform grants nothing to an agent');
    const shardRoles = Object.values(shard.resource.azurerm_role_assignment!).map((r) => `${r.role_definition_name} @ ${String(r.scope).split('.')[0]}`);
    for (const role of ['Storage Blob Data Reader @ ${data', 'Key Vault Secrets User @ ${data', 'EventGrid Data Sender @ ${data']) assert.ok(shardRoles.some((r) => r.startsWith(role)), `${role} in ${shardRoles.join('\n')}`);
  });

  it('keeps nothing of an agent in the platform stack: adding agents changes their shards only', () => {
    const small = fleet({ agents: fleetAgents(3) });
    small.app.synth();
    const smallManifest = JSON.parse(readFileSync(join(small.outdir, 'manifest.json'), 'utf8')) as typeof manifest;
    const smallPlatform = JSON.parse(readFileSync(join(small.outdir, smallManifest.stacks['fleet-platform']!.synthesizedStackPath), 'utf8')) as Synthesized;
    assert.deepEqual(smallPlatform.resource, stack('fleet-platform').resource);
    // The failed-run alert of each agent lives beside it.
    assert.equal(Object.keys(stack('fleet-agents-01').resource.azurerm_monitor_scheduled_query_rules_alert_v2 ?? {}).length, 3);
  });

  it('refuses more agents per shard than a plan takes, and agents of a team', () => {
    assert.throws(() => fleet({ agentsPerShard: 101 }), /agentsPerShard must be a whole number from 1 to 100 \(the apps Azure allows on one Consumption plan\); got 101/);
    assert.throws(() => fleet({ agents: [agentInput({ name: 'triage', handoffs: [{ agent: 'billing', description: 'Billing questions.' }] })] }), /agent "triage": handoffs\[0\]: a hand-off to "billing" needs an AzureAgentTeam/);
  });

  it('stages each function agent of a gradual rollout in a slot its shard\'s grant admits, and counts slots against the plan', () => {
    const staged = fleet({ rollout: { strategy: 'canary', minutes: 5 } });
    staged.app.synth();
    const manifest = JSON.parse(readFileSync(join(staged.outdir, 'manifest.json'), 'utf8')) as { stacks: Record<string, { synthesizedStackPath: string }> };
    const shard = JSON.parse(readFileSync(join(staged.outdir, manifest.stacks['fleet-agents-01']!.synthesizedStackPath), 'utf8')) as Synthesized;
    const apps = Object.values(shard.resource.azurerm_linux_function_app!);
    const slots = Object.values(shard.resource.azurerm_linux_function_app_slot!);
    assert.equal(slots.length, apps.length);
    for (const app of apps) {
      const slot = slots.find((s) => String(s.function_app_id).includes(Object.keys(shard.resource.azurerm_linux_function_app!).find((k) => shard.resource.azurerm_linux_function_app![k] === app)!))!;
      const stagingHost = slot.app_settings.AzureFunctionsWebHost__hostid;
      assert.notEqual(stagingHost, app.app_settings.AzureFunctionsWebHost__hostid);
      // One grant admits both hosts' leases and keys (the slot's under `<app>-staging/`, as the Functions host names a slot), and nothing of another agent.
      const text = String(Object.values(shard.resource.azurerm_role_assignment!).find((g) => String(g.condition).includes(`'${app.app_settings.AGENT_CONTAINER_PREFIX}jobs'`))!.condition);
      assert.ok(text.includes(`StringStartsWith '${String(app.name).toLowerCase()}-staging/'`) && text.includes(`StringLike '*/${stagingHost}/*'`), text);
      const grant = Object.values(shard.resource.azurerm_role_assignment!).find((g) => String(g.condition).includes(`'${app.app_settings.AGENT_CONTAINER_PREFIX}jobs'`))!;
      assert.equal(
        grant.condition,
        stateCondition(
          [`${app.app_settings.AGENT_CONTAINER_PREFIX}jobs`, ...(String(grant.condition).includes(`${app.app_settings.AGENT_CONTAINER_PREFIX}inbox`) ? [`${app.app_settings.AGENT_CONTAINER_PREFIX}inbox`] : [])],
          [{ hostId: app.app_settings.AzureFunctionsWebHost__hostid, appName: app.name }, { hostId: stagingHost, appName: `${app.name}-staging` }],
        ),
      );
    }
    // A slot is a site on the plan: 45 agents a shard unless told, and more than 50 with slots pass the plan's 100.
    assert.deepEqual(fleet({ agents: fleetAgents(46), agentsPerShard: undefined, rollout: { strategy: 'canary', minutes: 5 } }).fleet.placement.map((p) => p.length), [45, 1]);
    const crowded = azureQuotaProblems(fleet({ agents: fleetAgents(60), agentsPerShard: 60, rollout: { strategy: 'canary', minutes: 5 } }).app);
    assert.match(crowded.join('\n'), /Azure quota "apps-per-plan": .*120/);
  });

  it('fits 1000 agents in every Azure quota (shared storage, role groups), and names role assignments without the groups', () => {
    assert.deepEqual(azureQuotaProblems(fleet({ agents: fleetAgents(1000), agentsPerShard: 50 }).app), []);
    // An assignment each for the platform's roles: about 9 per agent, past 4000 before 500 agents.
    const over = azureQuotaProblems(fleet({ agents: fleetAgents(500), agentsPerShard: 50, roleGroups: false }).app);
    assert.deepEqual(over.map((p) => /^Azure quota "([\w-]+)"/.exec(p)![1]), ['role-assignments']);
  });
});
