import { join } from 'node:path';
import { AzureAgentEvents } from '../../constructs/azure/agent-events';
import { AzureAgentContainer } from '../../constructs/azure/agent-container';
import { AzureAgentFunction, type AzureHttpAuth } from '../../constructs/azure/agent-function';
import { AzureAgentOperations, type AzureOperationsNotify } from '../../constructs/azure/agent-operations';
import { AzureAgentQueue, AzureServiceBus } from '../../constructs/azure/agent-queue';
import type { AzureAgentTeam } from '../../constructs/azure/agent-team';
import { globalName, NAME_SEED_CONTEXT } from '../../constructs/azure';
import { AzurermProvider, ResourceGroup, ServicePlan, TerraformOutput, type TerraformStack } from '../../constructs/azure/engine';
import { AzureModelRouter } from '../../constructs/azure/model-router';
import { AzureObservability } from '../../constructs/azure/observability';
import { AzureContainerEnvironment } from '../../constructs/azure/container-environment';
import { AzureRuntimePackage } from '../../constructs/azure/runtime-package';
import { AzureSecrets } from '../../constructs/azure/secrets';
import { AzureSkillStore } from '../../constructs/azure/skill-store';
import type { AgentDefinition } from '../../contract/definition';
import type { ToolPolicyInput } from '../../contract/policy/tool-policy';
import type { RouterConfig } from '../../contract/routing/config';
import type { RolloutInput } from '../../contract/delivery/rollout';

/** What every example Azure stack is given about where it goes and what it routes to. */
export interface AzurePlatformProps {
  /** The Azure region, such as `westeurope`. */
  readonly location: string;
  /** @default the Azure CLI's subscription, or ARM_SUBSCRIPTION_ID */
  readonly subscriptionId?: string;
  /** Model aliases and their Azure-reachable targets: the only place a model is named. */
  readonly models: RouterConfig;
  /** @default the repository's skills/ folder */
  readonly skillsPath?: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** How the function agents take a new version (see AzureAgentFunction's rollout). @default at once */
  readonly rollout?: RolloutInput;
  /**
   * Monthly budgets by cohort, over the stack's resource group (see AzureAgentOperations).
   * @default EXAMPLE_MONTHLY_BUDGET for each cohort of the stack's agents
   */
  readonly budgets?: Readonly<Record<string, number>>;
  /**
   * Where the budgets count: the stack's resource group, or the whole subscription (an
   * environment's budgets, given to one of its stacks). @default 'resource-group'
   */
  readonly budgetScope?: 'resource-group' | 'subscription';
  /** Who the alerts and budgets notify. @default no one: they are visible in Azure Monitor */
  readonly notify?: AzureOperationsNotify;
}

/** What an example stack budgets each of its cohorts a month, in the subscription's billing currency. */
export const EXAMPLE_MONTHLY_BUDGET = 100;

/** The example stacks' budgets: EXAMPLE_MONTHLY_BUDGET for each cohort of `agents`. */
export const exampleBudgets = (agents: readonly AgentDefinition[]) => Object.fromEntries([...new Set(agents.map((a) => a.cohort))].map((cohort) => [cohort, EXAMPLE_MONTHLY_BUDGET]));

/**
 * The shared parts of an example Azure stack, built from the public constructs: the provider, a
 * resource group, telemetry, the Key Vault and router, the skill store, Service Bus, the event
 * topic, the operations layer (queryable audit, workbook, the action group every alert notifies,
 * alerts and budgets per cohort) and the runtime package; and `agent`, which deploys one agent on
 * them and hands it to the operations layer.
 */
export function azurePlatform(stack: TerraformStack, id: string, props: AzurePlatformProps & { readonly budgets: Readonly<Record<string, number>> }) {
  // Globally named resources take the subscription into their names, so the same stack deployed
  // to two subscriptions does not collide.
  if (props.subscriptionId) stack.node.setContext(NAME_SEED_CONTEXT, props.subscriptionId);
  // Storage accounts here take no shared keys, so the provider must reach blobs with Entra ID.
  new AzurermProvider(stack, 'Azure', { features: [{}], storageUseAzuread: true, ...(props.subscriptionId && { subscriptionId: props.subscriptionId }) });
  const name = (max: number) => globalName(stack, max);
  const resourceGroup = new ResourceGroup(stack, 'Group', { name: `${id}-rg`, location: props.location, ...(props.tags && { tags: { ...props.tags } }) });
  const location = { resourceGroupName: resourceGroup.name, location: props.location };
  const secrets = new AzureSecrets(stack, 'Secrets', { name: name(24), ...location });
  const observability = new AzureObservability(stack, 'Observability', { name: name(40), ...location });
  const router = new AzureModelRouter(stack, 'Models', { models: props.models, secrets });
  const skills = new AzureSkillStore(stack, 'Skills', { path: props.skillsPath ?? join(__dirname, '..', '..', 'skills'), ...location });
  const bus = new AzureServiceBus(stack, 'Bus', { name: name(50), ...location });
  const events = new AzureAgentEvents(stack, 'Events', { name: name(50), ...location });
  // Before the agents, so they alert its action group and copy their audit records to its table.
  const operations = new AzureAgentOperations(stack, 'Operations', {
    observability,
    name: id,
    budgets: props.budgets,
    budgetScope: props.budgetScope === 'subscription' ? 'subscription' : { resourceGroupId: resourceGroup.id },
    ...(props.notify && { notify: props.notify }),
  });
  const alerts = operations.actionGroup;
  const auditLogs = operations.auditLogs!;
  const runtime = new AzureRuntimePackage(stack, 'Runtime', location);

  /**
   * One agent on the platform: its own Function App on its own Consumption plan (as Microsoft
   * recommends: a plan costs nothing idle, and agents never compete for one plan's instance
   * limit), its queue when it takes queued work, its failed runs and dead letters alerting the
   * action group, its audit records copied to the operations layer's table (which also counts
   * its cohort), and outputs for the agents people and systems call.
   */
  const agent = (definition: AgentDefinition, options: { queue: boolean; toolPolicy?: ToolPolicyInput; auth?: AzureHttpAuth; team?: AzureAgentTeam }) => {
    const fn = new AzureAgentFunction(stack, `Agent-${definition.name}`, {
      agent: definition,
      ...location,
      plan: new ServicePlan(stack, `Plan-${definition.name}`, { name: `${id}-${definition.name}-plan`, ...location, osType: 'Linux', skuName: 'Y1' }),
      runtime,
      observability,
      router,
      skills,
      events,
      ...(options.toolPolicy && { toolPolicy: options.toolPolicy }),
      ...(options.auth && { auth: options.auth }),
      ...(options.team && { team: options.team }),
      actionGroupId: alerts.id,
      auditLogs,
      ...(props.rollout && { rollout: props.rollout }),
      ...(options.queue && {
        queue: new AzureAgentQueue(stack, `Queue-${definition.name}`, { bus, agent: definition.name, timeoutSeconds: definition.limits.timeoutSeconds, actionGroupId: alerts.id }),
      }),
    });
    operations.addAgent(fn);
    if (definition.triggers.some((t) => t.type === 'api')) {
      new TerraformOutput(stack, `${definition.name}-url`, { value: fn.invokeUrl, description: `POST here to run agent ${definition.name}` });
      if (fn.tokenAudience) {
        new TerraformOutput(stack, `${definition.name}-token-audience`, { value: fn.tokenAudience, description: `Callers of agent ${definition.name} send an Entra ID token for this audience` });
      }
    }
    return fn;
  };
  // One environment and image for every container agent, made only when one is placed there.
  let containers: AzureContainerEnvironment | undefined;

  /**
   * One agent in a container app: its queue (where its work and its team's tasks arrive), its
   * failed runs and dead letters alerting the action group, its audit records copied to the
   * operations layer's table, in the stack's container environment.
   */
  const container = (definition: AgentDefinition, options: { toolPolicy?: ToolPolicyInput; team?: AzureAgentTeam } = {}) => {
    const app = new AzureAgentContainer(stack, `Agent-${definition.name}`, {
      agent: definition,
      ...location,
      environment: (containers ??= new AzureContainerEnvironment(stack, 'Containers', { name: `${id}-containers`, ...location, observability })),
      observability,
      router,
      skills,
      events,
      queue: new AzureAgentQueue(stack, `Queue-${definition.name}`, { bus, agent: definition.name, timeoutSeconds: definition.limits.timeoutSeconds, actionGroupId: alerts.id }),
      ...(options.toolPolicy && { toolPolicy: options.toolPolicy }),
      ...(options.team && { team: options.team }),
      actionGroupId: alerts.id,
      auditLogs,
    });
    operations.addAgent(app);
    return app;
  };
  type MemberOptions = { team: AzureAgentTeam; toolPolicies?: Readonly<Record<string, ToolPolicyInput>>; tenantId?: string };
  const policyOf = (definition: AgentDefinition, options: MemberOptions) => {
    const toolPolicy = options.toolPolicies?.[definition.cohort];
    return { ...(toolPolicy && { toolPolicy }), team: options.team };
  };

  /**
   * One function agent of a team, as the team stacks deploy it: behind Entra ID (the team's agents
   * call each other with Entra ID tokens), with a queue for its own job and queue triggers and for
   * the jobs and hand-offs of its team, and its cohort's tool policy.
   */
  const teamFunction = (definition: AgentDefinition, options: MemberOptions) =>
    agent(definition, {
      ...policyOf(definition, options),
      queue: definition.triggers.some((t) => t.type === 'job' || t.type === 'queue') || options.team.graph.receivesQueued(definition.name),
      auth: { type: 'entra-id', ...(options.tenantId && { tenantId: options.tenantId }) },
    });

  /** One agent of a team where its definition places it: a team function, or a container agent. */
  const member = (definition: AgentDefinition, options: MemberOptions) =>
    definition.placement === 'container' ? container(definition, policyOf(definition, options)) : teamFunction(definition, options);
  return { resourceGroup, router, skills, events, operations, agent, container, teamFunction, member };
}
