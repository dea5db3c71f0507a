import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AzureAgentFleet, type AzureAgentFleetProps } from '../../constructs/azure/agent-fleet';
import { FUNCTIONS_HOST_CONTAINERS, functionsHostId, stateCondition } from '../../constructs/azure/agent-storage';
import { App } from '../../constructs/azure/engine';
import { secureDefaultFindings, type SynthesizedStack } from '../../constructs/azure/secure-defaults';
import { FLEET_LOCK_CONTEXT } from '../../contract/fleet/lock';
import { fleetAgents } from '../../stacks/fleet/fleet-agents';
import { agentInput, SKILLS } from '../helpers';
import { AZURE_ROUTER, type Resources } from '../__fixtures__/azure-synth';

type Synthesized = SynthesizedStack & { resource: Resources };
const models = { ...AZURE_ROUTER, cohorts: {} };
const durable = agentInput({ name: 'ledger', durable: true, triggers: [{ type: 'job' }] });

function synthFleet(props: Partial<AzureAgentFleetProps> = {}): (name: string) => Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'azure-storage-'));
  const app = new App({ outdir, context: { [FLEET_LOCK_CONTEXT]: 'update' } });
  new AzureAgentFleet(app, 'fleet', { agents: [...fleetAgents(3), durable], models, skillsPath: SKILLS, lockFile: join(outdir, 'fleet.lock.json'), location: 'westeurope', agentsPerShard: 4, ...props });
  app.synth();
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { stacks: Record<string, { synthesizedStackPath: string }> };
  return (name) => JSON.parse(readFileSync(join(outdir, manifest.stacks[name]!.synthesizedStackPath), 'utf8')) as Synthesized;
}

const values = (r: Resources, type: string) => Object.values(r[type] ?? {});
const appOf = (r: Resources, agent: string) => values(r, 'azurerm_linux_function_app').find((a) => a.app_settings.AGENT_CONTAINER_PREFIX === `${agent}-` || String(a.name).includes(`-${agent}-`))!;

describe('a fleet shard\'s shared storage', () => {
  const stack = synthFleet();
  const shard = stack('fleet-agents-01').resource;

  it('holds every plain agent\'s state and audit in two accounts, with containers of its own; a durable agent keeps its own', () => {
    // The shard's two, and the durable agent's state and audit.
    assert.equal(values(shard, 'azurerm_storage_account').length, 4);
    const containers = values(shard, 'azurerm_storage_container').map((c) => c.name as string).sort();
    for (const agent of ['api-0001', 'support-0002', 'worker-0003']) {
      assert.ok(containers.includes(`${agent}-jobs`) && containers.includes(`${agent}-audit`), agent);
      const app = appOf(shard, agent);
      assert.equal(app.app_settings.AGENT_CONTAINER_PREFIX, `${agent}-`);
      assert.match(app.storage_account_name, /azurerm_storage_account\.Storage_State_/);
    }
    assert.ok(containers.includes(FUNCTIONS_HOST_CONTAINERS.hosts) && containers.includes(FUNCTIONS_HOST_CONTAINERS.secrets), 'made before any host looks for them');
    const ledger = appOf(shard, 'ledger');
    assert.equal(ledger.app_settings.AGENT_CONTAINER_PREFIX, undefined);
    assert.doesNotMatch(ledger.storage_account_name, /Storage_State_/, 'its task hub needs an account of its own');
    assert.deepEqual(secureDefaultFindings(stack('fleet-agents-01')), []);
  });

  it('gives each app a host id of its own and a grant on its own containers and host paths only', () => {
    const apps = values(shard, 'azurerm_linux_function_app').filter((a) => a.app_settings.AGENT_CONTAINER_PREFIX);
    const ids = apps.map((a) => a.app_settings.AzureFunctionsWebHost__hostid as string);
    assert.equal(new Set(ids).size, apps.length);
    for (const id of ids) assert.ok(id.length <= 32 && /^[a-z0-9-]+$/.test(id) && !id.endsWith('-'), id);
    const stateGrants = values(shard, 'azurerm_role_assignment').filter((r) => String(r.role_definition_id).includes('Storage_StateRole'));
    assert.equal(stateGrants.length, 3, 'one per plain agent');
    for (const app of apps) {
      const agent = String(app.app_settings.AGENT_CONTAINER_PREFIX).slice(0, -1);
      const grant = stateGrants.find((g) => String(g.condition).includes(`'${agent}-jobs'`))!;
      assert.equal(grant.condition_version, '2.0');
      assert.equal(grant.condition, stateCondition([`${agent}-jobs`, ...(String(grant.condition).includes(`${agent}-inbox`) ? [`${agent}-inbox`] : [])], { hostId: app.app_settings.AzureFunctionsWebHost__hostid, appName: app.name }));
      for (const other of apps.filter((a) => a !== app)) {
        assert.ok(!String(grant.condition).includes(other.app_settings.AGENT_CONTAINER_PREFIX), `${agent} is granted nothing of ${other.name}`);
        assert.ok(!String(grant.condition).includes(other.app_settings.AzureFunctionsWebHost__hostid));
      }
    }
    const role = Object.values(shard.azurerm_role_definition!)[0]!;
    const actions = [...role.permissions[0].actions, ...role.permissions[0].data_actions];
    assert.ok(actions.every((a: string) => !a.endsWith('/delete') || a.endsWith('/blobs/delete')), `no container can be deleted: ${actions.join(', ')}`);
    assert.deepEqual(role.assignable_scopes, [role.scope]);
    assert.match(role.scope, /^\/subscriptions\/\$\{data\.azurerm_client_config\.[\w-]+\.subscription_id\}\/resourceGroups\/fleet-rg$/, 'defined for the resource group, assigned on the account');
    assert.ok(stateGrants.every((g) => /azurerm_storage_account\.Storage_State_\w+\.id/.test(g.scope)));
  });

  it('puts each audit container under an immutability policy of its own, and expires every container', () => {
    const policies = values(shard, 'azurerm_storage_container_immutability_policy');
    const audits = Object.entries(shard.azurerm_storage_container!).filter(([, c]) => String(c.name).endsWith('-audit'));
    assert.equal(audits.length, 3);
    for (const [id] of audits) assert.ok(policies.some((p) => String(p.storage_container_resource_manager_id).includes(`.${id}.`)), id);
    const expiring = values(shard, 'azurerm_storage_management_policy').flatMap((p) => p.rule.flatMap((r: { filters: { prefix_match: string[] } }) => r.filters.prefix_match));
    for (const agent of ['api-0001', 'support-0002', 'worker-0003']) assert.ok(expiring.includes(`${agent}-jobs/`) && expiring.includes(`${agent}-audit/`), agent);
  });

  it('gives the roles agents share on platform resources to one group per resource and role, the agents its members', () => {
    const groups = Object.entries(shard.azuread_group!);
    const groupRoles = values(shard, 'azurerm_role_assignment').filter((r) => r.principal_type === 'Group');
    assert.equal(groupRoles.length, groups.length);
    assert.deepEqual(groupRoles.map((r) => r.role_definition_name).sort(), ['EventGrid Data Sender', 'Key Vault Secrets User', 'Key Vault Secrets User', 'Monitoring Metrics Publisher', 'Storage Blob Data Reader', 'Storage Blob Data Reader']);
    for (const role of groupRoles) assert.ok(groups.some(([id]) => String(role.principal_id).includes(`azuread_group.${id}.object_id`)));
    const identities = Object.keys(shard.azurerm_user_assigned_identity!);
    const members = (g: Record<string, any>) => (g.members as string[]).map((m) => /azurerm_user_assigned_identity\.([\w-]+)\.principal_id/.exec(m)![1]!);
    for (const [, g] of groups) {
      assert.equal(g.security_enabled, true);
      assert.deepEqual(members(g).filter((m) => !identities.includes(m)), [], 'members are the shard\'s own identities');
    }
    // Four agents, each a member of every group (both keys, the package, events, telemetry), but
    // of the skills' only if it lists skills: the durable ledger lists none.
    assert.equal(groups.reduce((n, [, g]) => n + members(g).length, 0), 4 * groups.length - 1);
    const ledger = identities.find((i) => i.includes('ledger'))!;
    assert.equal(groups.filter(([, g]) => members(g).includes(ledger)).length, groups.length - 1);
    // No agent holds a platform role of its own, and each app waits for its groups' roles.
    assert.ok(values(shard, 'azurerm_role_assignment').every((r) => r.principal_type === 'Group' || !String(r.scope).includes('remote_state')));
    for (const wait of values(shard, 'time_sleep').map((t) => JSON.stringify(t.triggers))) assert.ok((wait.match(/azurerm_role_assignment\.RoleGroups_Role-/g) ?? []).length >= groups.length - 1, wait);
  });

  it('keeps each agent\'s own assignment on platform resources without role groups', () => {
    const plain = synthFleet({ roleGroups: false })('fleet-agents-01').resource;
    assert.equal(values(plain, 'azuread_group').length, 0);
    assert.ok(values(plain, 'azurerm_role_assignment').some((r) => r.role_definition_name === 'Monitoring Metrics Publisher' && r.principal_type === 'ServicePrincipal'));
  });
});

describe('the shared state grant', () => {
  it('admits listing only in its own and the host\'s containers, and blob access by name and host path', () => {
    const condition = stateCondition(['a-jobs', 'a-inbox'], { hostId: 'app-a', appName: 'App-A-Name' });
    assert.match(condition, /ForAnyOfAnyValues:StringEquals \{'a-jobs', 'a-inbox'\}/);
    assert.match(condition, /StringLike '\*\/app-a\/\*'/);
    assert.match(condition, /StringStartsWith 'app-a-name\/'/, 'keys are kept under the app\'s name, lowercased');
    assert.match(condition, /SubOperationMatches\{'Blob\.List'\}\)\n OR\n @Resource\[[^\]]+\] ForAnyOfAnyValues:StringEquals \{'a-jobs', 'a-inbox', 'azure-webjobs-hosts', 'azure-webjobs-secrets'\}/);
    assert.doesNotMatch(stateCondition(['c-jobs']), /azure-webjobs/, 'a container host reaches no Functions host path');
    // Only operators the condition language has, and parentheses that close.
    for (const op of condition.match(/\] (\S+) /g)!) assert.match(op, /^\] (ForAnyOfAnyValues:StringEquals|StringEquals|StringLike|StringStartsWith) $/);
    let depth = 0;
    for (const ch of condition) if ((depth += ch === '(' ? 1 : ch === ')' ? -1 : 0) < 0) assert.fail('a parenthesis closes before it opens');
    assert.equal(depth, 0);
  });

  it('gives apps whose names share their first 32 characters different host ids', () => {
    const a = functionsHostId('fleet-fleet-agents-01-agent-support-0002-1a2b3c4d');
    const b = functionsHostId('fleet-fleet-agents-01-agent-support-0005-5e6f7a8b');
    assert.notEqual(a, b);
    assert.ok(a.length <= 32 && b.length <= 32);
    assert.equal(functionsHostId('short-name'), 'short-name');
    assert.notEqual(functionsHostId('x'.repeat(40) + 'a'), functionsHostId('x'.repeat(40) + 'b'), 'names without a hash are hashed');
  });
});
