import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Construct } from 'constructs';
import { AzureAgentEvents } from '../../constructs/azure/agent-events';
import { AzureAgentFunction, type AzureAgentFunctionProps } from '../../constructs/azure/agent-function';
import { AzureAgentQueue, AzureServiceBus } from '../../constructs/azure/agent-queue';
import { AzureAgentTeam } from '../../constructs/azure/agent-team';
import { AzurermProvider, ServicePlan, TerraformStack, Testing } from '../../constructs/azure/engine';
import { AzureModelRouter } from '../../constructs/azure/model-router';
import { AzureObservability } from '../../constructs/azure/observability';
import { AzureRuntimePackage } from '../../constructs/azure/runtime-package';
import { AzureSecrets } from '../../constructs/azure/secrets';
import type { AgentDefinition } from '../../contract/definition';
import { AGENT_CONFIG_ENV, decodeAgentConfig } from '../../contract/config/runtime-config';
import type { AzurePeers } from '../../contract/config/settings';
import { AZURE_ROUTER, type Resources } from '../__fixtures__/azure-synth';
import { teamDefinitions } from '../__fixtures__/team';

/**
 * The Azure wiring of a team of agents, read from the Terraform it synthesizes: triage calls
 * billing and gives it jobs, and hands off to technical. Every grant must be exactly what an edge
 * of the team needs, on the target alone.
 */

const LOCATION = { resourceGroupName: 'agents', location: 'westeurope' };

/** Triage calls billing (a call and a job) and hands off to technical; each agent has a queue of its own. */
const exampleDefinitions = () =>
  teamDefinitions({
    triage: {
      tools: [
        { name: 'ask_billing', kind: 'agent', agent: 'billing', description: 'Ask the billing specialist.' },
        { name: 'billing_review', kind: 'agent', agent: 'billing', mode: 'job', description: 'Have billing review every order.' },
      ],
    },
  });

interface TeamOptions {
  readonly definitions?: AgentDefinition[];
  /** Agents built, in this order. @default every agent of the team, in the team's order */
  readonly deploy?: readonly string[];
  /** What to change of one agent's props. */
  readonly props?: Readonly<Record<string, Partial<AzureAgentFunctionProps>>>;
  readonly withoutQueue?: readonly string[];
}

/** The team as a stack wires it, on one topic, runtime, router and bus. */
function buildTeam(scope: Construct, options: TeamOptions = {}): AzureAgentTeam {
  const definitions = options.definitions ?? exampleDefinitions();
  const secrets = new AzureSecrets(scope, 'Secrets', { name: 'agents-vault', ...LOCATION });
  const bus = new AzureServiceBus(scope, 'Bus', { name: 'agents-bus', ...LOCATION });
  const events = new AzureAgentEvents(scope, 'Events', { name: 'agents-events', ...LOCATION });
  const shared = {
    ...LOCATION,
    runtime: new AzureRuntimePackage(scope, 'Runtime', LOCATION),
    observability: new AzureObservability(scope, 'Observability', { name: 'agents', ...LOCATION }),
    router: new AzureModelRouter(scope, 'Models', { models: AZURE_ROUTER, secrets }),
    events,
  };
  const team = new AzureAgentTeam(scope, 'Team', { agents: definitions, events });
  for (const name of options.deploy ?? definitions.map((d) => d.name)) {
    const agent = definitions.find((d) => d.name === name)!;
    new AzureAgentFunction(scope, `Agent-${name}`, {
      agent,
      ...shared,
      plan: new ServicePlan(scope, `Plan-${name}`, { name: `plan-${name}`, ...LOCATION, osType: 'Linux', skuName: 'Y1' }),
      team,
      ...(!options.withoutQueue?.includes(name) && { queue: new AzureAgentQueue(scope, `Queue-${name}`, { bus, agent: name, timeoutSeconds: agent.limits.timeoutSeconds }) }),
      ...options.props?.[name],
    });
  }
  return team;
}

function synthTeam(options: TeamOptions = {}): Resources {
  const stack = new TerraformStack(Testing.app(), 'team');
  new AzurermProvider(stack, 'Azure', { features: [{}], storageUseAzuread: true });
  buildTeam(stack, options);
  // With the validations: the team's and the secure-default checks.
  return (JSON.parse(Testing.synth(stack, true)) as { resource: Resources }).resource;
}

/** A reference with its logical id's hash suffix removed, to compare with a readable name. */
const unhashed = (reference: string) => reference.replace(/_[0-9A-F]{8}\b/g, '');
const identityOf = (agent: string) => new RegExp(`azurerm_user_assigned_identity\\.Agent-${agent}_Identity_`);
/** Whether a scope is a resource of another agent than `agent`. */
const othersResource = (scope: string, agent: string) => /Agent-(\w+)_/.test(scope) && !scope.includes(`Agent-${agent}_`);

/** The roles an agent's identity holds on the resources of other agents, as `role @ scope`. */
function grantsToward(resources: Resources, agent: string): string[] {
  return Object.values(resources.azurerm_role_assignment ?? {})
    .filter((a) => identityOf(agent).test(a.principal_id) && othersResource(a.scope, agent))
    .map((a) => `${a.role_definition_name} @ ${unhashed(a.scope)}`)
    .sort();
}

const appRoleAssignments = (resources: Resources) =>
  Object.values(resources.azuread_app_role_assignment ?? {}).map((a) => ({ principal: unhashed(a.principal_object_id), resource: unhashed(a.resource_object_id), role: a.app_role_id as string }));
const appOf = (resources: Resources, agent: string) => Object.entries(resources.azurerm_linux_function_app!).find(([id]) => id.startsWith(`Agent-${agent}_App_`))![1];

describe('AzureAgentTeam', () => {
  const resources = synthTeam();

  it('gives the orchestrator exactly what its edges need, on its specialists alone', () => {
    assert.deepEqual(grantsToward(resources, 'triage'), [
      'Storage Blob Data Contributor @ ${azurerm_storage_container.Agent-billing_State-inbox.resource_manager_id}',
      'Storage Blob Data Contributor @ ${azurerm_storage_container.Agent-technical_State-inbox.resource_manager_id}',
      'Storage Blob Data Reader @ ${azurerm_storage_container.Agent-billing_State-jobs.resource_manager_id}',
    ]);
    // The one app role: billing's Agent.Invoke, for the calls; technical takes hand-offs only.
    const billingApp = Object.values(resources.azuread_application!).find((a) => /agent billing/.test(a.display_name))!;
    assert.deepEqual(appRoleAssignments(resources), [
      { principal: '${azurerm_user_assigned_identity.Agent-triage_Identity.principal_id}', resource: '${azuread_service_principal.Agent-billing_AppServicePrincipal.object_id}', role: billingApp.app_role[0].id },
    ]);
    assert.equal(billingApp.app_role[0].value, 'Agent.Invoke');
  });

  it('gives the specialists nothing toward triage or each other', () => {
    assert.deepEqual(grantsToward(resources, 'billing'), []);
    assert.deepEqual(grantsToward(resources, 'technical'), []);
    assert.ok(appRoleAssignments(resources).every((a) => /Agent-triage_Identity/.test(a.principal)));
  });

  it('tells the orchestrator how to reach each specialist: the task route and audience only of the one it calls', () => {
    const peers = JSON.parse(appOf(resources, 'triage').app_settings.AGENT_PEERS) as AzurePeers;
    assert.deepEqual(Object.keys(peers).sort(), ['billing', 'technical']);
    const billingRegistration = Object.entries(resources.azuread_application!).find(([, a]) => /agent billing/.test(a.display_name))![1];
    assert.deepEqual(
      Object.fromEntries(Object.entries(peers).map(([name, peer]) => [name, { ...peer, ...(peer.taskUrl && { taskUrl: unhashed(peer.taskUrl) }), stateAccountUrl: unhashed(peer.stateAccountUrl) }])),
      {
        billing: {
          taskUrl: 'https://${azurerm_linux_function_app.Agent-billing_App.default_hostname}/api/agents/billing/tasks',
          audience: billingRegistration.identifier_uris[0],
          stateAccountUrl: '${azurerm_storage_account.Agent-billing_State.primary_blob_endpoint}',
        },
        technical: { stateAccountUrl: '${azurerm_storage_account.Agent-technical_State.primary_blob_endpoint}' },
      },
    );
    assert.equal(appOf(resources, 'billing').app_settings.AGENT_PEERS, undefined);
    assert.equal(appOf(resources, 'technical').app_settings.AGENT_PEERS, undefined);
  });

  it('lists each agent\'s callers in its runtime config, and serves the task route behind Entra ID', () => {
    const callers = (agent: string) => decodeAgentConfig(appOf(resources, agent).app_settings[AGENT_CONFIG_ENV]).callers;
    assert.deepEqual([callers('triage'), callers('billing'), callers('technical')], [undefined, ['triage'], ['triage']]);
    for (const agent of ['billing', 'technical']) {
      assert.equal(appOf(resources, agent).app_settings.HTTP_AUTH_LEVEL, 'anonymous');
      assert.equal(appOf(resources, agent).auth_settings_v2.require_authentication, true);
    }
  });

  it('delivers each target the event types it receives, from the team topic to its queue, and lets Event Grid send to that queue only', () => {
    const subscriptions = Object.values(resources.azurerm_eventgrid_event_subscription!).map((s) => ({
      name: s.name,
      types: s.included_event_types,
      queue: unhashed(s.service_bus_queue_endpoint_id),
      delivery: unhashed(s.delivery_identity.user_assigned_identity),
      topic: unhashed(s.scope),
      retry: s.retry_policy,
      deadLetters: unhashed(s.storage_blob_dead_letter_destination.storage_blob_container_name),
    }));
    const common = {
      delivery: '${azurerm_user_assigned_identity.Events_DeliveryIdentity.id}',
      topic: '${azurerm_eventgrid_topic.Events_Topic.id}',
      retry: { max_delivery_attempts: 10, event_time_to_live: 1440 },
      deadLetters: '${azurerm_storage_container.Events_DeadLetterContainer.name}',
    };
    assert.deepEqual(subscriptions, [
      { name: 'tasks-billing', types: ['delegation.to.billing'], queue: '${azurerm_servicebus_queue.Queue-billing_Queue.id}', ...common },
      { name: 'tasks-technical', types: ['handoff.to.technical'], queue: '${azurerm_servicebus_queue.Queue-technical_Queue.id}', ...common },
      // Triage takes jobs (its records list its children): the ends of what it sent come back to it.
      { name: 'tasks-triage', types: ['result.to.triage'], queue: '${azurerm_servicebus_queue.Queue-triage_Queue.id}', ...common },
    ]);
    const delivery = Object.values(resources.azurerm_role_assignment!)
      .filter((a) => /Events_DeliveryIdentity/.test(a.principal_id))
      .map((a) => `${a.role_definition_name} @ ${unhashed(a.scope)}`)
      .sort();
    assert.deepEqual(delivery, [
      'Azure Service Bus Data Sender @ ${azurerm_servicebus_queue.Queue-billing_Queue.id}',
      'Azure Service Bus Data Sender @ ${azurerm_servicebus_queue.Queue-technical_Queue.id}',
      'Azure Service Bus Data Sender @ ${azurerm_servicebus_queue.Queue-triage_Queue.id}',
      'Storage Blob Data Contributor @ ${azurerm_storage_container.Events_DeadLetterContainer.resource_manager_id}',
    ]);
  });

  it('gives an inbox, expiring with the job records, only to the agents tasks reach through the queue', () => {
    const inboxes = Object.entries(resources.azurerm_storage_container!).filter(([, c]) => c.name === 'inbox').map(([id]) => unhashed(id));
    assert.deepEqual(inboxes.sort(), ['Agent-billing_State-inbox', 'Agent-technical_State-inbox']);
    const policy = Object.entries(resources.azurerm_storage_management_policy!).find(([id]) => id.startsWith('Agent-technical_StateRetention'))![1];
    assert.deepEqual(policy.rule.map((r: { name: string; filters: { prefix_match: string[] } }) => [r.name, r.filters.prefix_match]), [['expire-jobs', ['jobs/']], ['expire-inbox', ['inbox/']]]);
  });

  it('starts the orchestrator only once the roles its team gave it have taken effect', () => {
    const wait = Object.entries(resources.time_sleep!).find(([id]) => id.startsWith('Agent-triage_RolesPropagated'))![1];
    const team = Object.keys(wait.triggers).filter((k) => k.startsWith('Agent-billing/') || k.startsWith('Agent-technical/')).sort();
    assert.deepEqual(team, ['Agent-billing/InboxWriter-triage', 'Agent-billing/Invoker-triage', 'Agent-billing/JobReader-triage', 'Agent-technical/InboxWriter-triage']);
    assert.match(appOf(resources, 'triage').depends_on[0], /^time_sleep\.Agent-triage_RolesPropagated_/);
  });

  it('wires the same team whatever order its agents are built in', () => {
    const reversed = synthTeam({ deploy: ['technical', 'billing', 'triage'] });
    for (const agent of ['triage', 'billing', 'technical']) assert.deepEqual(grantsToward(reversed, agent), grantsToward(resources, agent));
    assert.deepEqual(appRoleAssignments(reversed), appRoleAssignments(resources));
    assert.deepEqual(JSON.parse(appOf(reversed, 'triage').app_settings.AGENT_PEERS), JSON.parse(appOf(resources, 'triage').app_settings.AGENT_PEERS));
  });

  it('looks an existing app registration up to give a caller its Agent.Invoke role', () => {
    const clientId = '0b5e1a3c-1111-4222-8333-944455556666';
    const synthesized = JSON.parse(
      Testing.synthScope((scope) => buildTeam(scope, { props: { billing: { auth: { type: 'entra-id', clientId } } } })),
    ) as { data: Record<string, Record<string, any>>; resource: Resources };
    const lookup = Object.values(synthesized.data.azuread_service_principal!)[0]!;
    assert.equal(lookup.client_id, clientId);
    const [assignment] = Object.values(synthesized.resource.azuread_app_role_assignment!);
    assert.match(assignment!.resource_object_id, /^\$\{data\.azuread_service_principal\.Agent-billing_AppServicePrincipalLookup_\w+\.object_id\}$/);
    assert.match(assignment!.app_role_id, /^\$\{data\.azuread_service_principal\.Agent-billing_AppServicePrincipalLookup_\w+\.app_role_ids\["Agent\.Invoke"\]\}$/);
  });
});

describe('a team the Azure constructs cannot wire fails synth naming the agent and the field', () => {
  const fails = (options: TeamOptions, culprit: RegExp) => assert.throws(() => synthTeam(options), (e: Error) => (assert.match(e.message, culprit), true));

  it('an edge to an agent the team lacks', () => {
    fails({ definitions: teamDefinitions({ triage: { handoffs: ['refunds'] } }) }, /agent "triage": handoffs\[0\]: agent "refunds" is not in the team \(its agents: billing, technical, triage\)/);
  });

  it('a cycle of synchronous calls', () => {
    const definitions = teamDefinitions({ billing: { tools: [{ name: 'ask_triage', kind: 'agent', agent: 'triage', description: 'Ask triage.' }] } });
    fails({ definitions }, /agent "(triage|billing)": tools\[0\]\.agent: the synchronous calls (triage → billing → triage|billing → triage → billing) form a cycle/);
  });

  it('a call target behind function keys, which the caller\'s Entra ID token does not open', () => {
    fails(
      { props: { billing: { auth: { type: 'function-keys', reason: 'Only internal scripts call it, with the host key.' } } } },
      /agent "billing": auth: triage's calls \(triage: tools\[0\]\.agent\) come with an Entra ID token from the caller's managed identity, which only Entra ID authentication checks/,
    );
  });

  it('a target of jobs or hand-offs without a queue', () => {
    fails({ withoutQueue: ['technical'] }, /agent "technical": queue: triage's hand-offs \(triage: handoffs\[0\]\) arrive on its Service Bus queue; pass an AzureAgentQueue/);
  });

  it('an agent of the team that no function deploys', () => {
    fails({ deploy: ['triage', 'billing'] }, /agent "technical": agents\[2\]: is in team team\/Team, but no AzureAgentFunction or AzureAgentContainer deploys it with the team/);
  });

  it('a sender that does not publish to the team\'s topic', () => {
    const stack = new TerraformStack(Testing.app(), 'team');
    const other = new AzureAgentEvents(stack, 'OtherEvents', { name: 'other-events', ...LOCATION });
    assert.throws(() => buildTeam(stack, { props: { triage: { events: other } } }), /agent "triage": events: tools\[1\]\.agent sends tasks through the team's topic; pass the team's AzureAgentEvents as events/);
  });

  it('an agent the team does not list, or lists with another definition', () => {
    const stack = new TerraformStack(Testing.app(), 'team');
    const team = buildTeam(stack);
    const helper = teamDefinitions({ billing: { description: 'Another billing agent.' } })[1]!;
    const props = (agent: AgentDefinition, id: string) =>
      ({ agent, ...LOCATION, team, plan: new ServicePlan(stack, `Plan-${id}`, { name: id, ...LOCATION, osType: 'Linux', skuName: 'Y1' }), runtime: stack.node.findChild('Runtime'), observability: stack.node.findChild('Observability'), router: stack.node.findChild('Models') }) as unknown as AzureAgentFunctionProps;
    assert.throws(() => new AzureAgentFunction(stack, 'Other', props(helper, 'other')), /agent "billing": team: the definition deployed is not the one team team\/Team lists/);
    const outsider = teamDefinitions({ billing: { name: 'payroll' } })[1]!;
    assert.throws(() => new AzureAgentFunction(stack, 'Outsider', props(outsider, 'outsider')), /agent "payroll": team: is not an agent of team team\/Team \(its agents: triage, billing, technical\)/);
  });
});
