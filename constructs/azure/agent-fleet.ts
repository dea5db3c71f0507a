import { Construct } from 'constructs';
import type { AgentDefinition } from '../../contract/definition/define';
import { fleetMembers } from '../../contract/fleet/members';
import type { AgentDefinitionInput } from '../../contract/definition/schema';
import { FLEET_LOCK_CONTEXT } from '../../contract/fleet/lock';
import type { ToolPolicyInput } from '../../contract/policy/tool-policy';
import type { RouterConfig } from '../../contract/routing/config';
import { isGradual, parseRollout, type RolloutInput } from '../../contract/delivery/rollout';
import { AzureAgentContainer } from './agent-container';
import { AzureAgentEvents } from './agent-events';
import { AzureAgentFunction, type AzureHttpAuth } from './agent-function';
import { AzureAgentOperations, type AzureAgentOperationsProps } from './agent-operations';
import { AzureAgentQueue, AzureServiceBus } from './agent-queue';
import { AzureAgentStorage } from './agent-storage';
import { AzureRoleGroups } from './role-groups';
import { AzureContainerEnvironment } from './container-environment';
import { globalName, NAME_SEED_CONTEXT } from './defaults';
import { AzurermProvider, MonitorActionGroup, ResourceGroup, ServicePlan, TerraformStack } from './engine';
import { AzureModelRouter } from './model-router';
import { AzureObservability } from './observability';
import { AzureRuntimePackage } from './runtime-package';
import { AzureSecrets } from './secrets';
import { AzureSkillStore } from './skill-store';

export interface AzureAgentFleetProps {
  /** Every agent of the fleet; each is deployed where its definition's `placement` says. */
  readonly agents: readonly (AgentDefinition | AgentDefinitionInput)[];
  /** Model aliases and their Azure-reachable targets. */
  readonly models: RouterConfig;
  /** The folder of the fleet's skills. */
  readonly skillsPath: string;
  /** The placement file the team commits, the same format as AgentFleet's (one file may serve both clouds). */
  readonly lockFile: string;
  /** The Azure region of every stack. */
  readonly location: string;
  /** @default the Azure CLI's subscription, or ARM_SUBSCRIPTION_ID */
  readonly subscriptionId?: string;
  /**
   * Agents per shard stack, which share one Consumption plan (Azure allows 100 apps on one).
   * @default 50, or 45 under a gradual rollout
   */
  readonly agentsPerShard?: number;
  /** Who may call the agents' routes. @default Entra ID, a registration per agent */
  readonly auth?: AzureHttpAuth;
  /** Tool policies by cohort. @default every tool each definition lists */
  readonly toolPolicies?: Readonly<Record<string, ToolPolicyInput>>;
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * Give the roles agents share on the platform's resources (model key secrets, skills, topic,
   * runtime package, telemetry) through one Entra ID group per resource and role and shard, the
   * agents its members, instead of an assignment per agent: about 3 role assignments per agent
   * instead of 9, so a subscription's 4000 reach past 1000 agents. The deploying identity then
   * needs Microsoft Graph `Group.Create` (or the Groups Administrator role).
   * @default true
   */
  readonly roleGroups?: boolean;
  /**
   * Days a run's audit record is kept, during which no one can change or delete it.
   * @default 400
   */
  readonly auditRetentionDays?: number;
  /**
   * How the function agents take a new version (see AzureAgentFunction). A gradual rollout gives
   * each app a staging slot, a site of its own on the shard's plan, so shards hold 45 agents unless
   * told (90 sites of the plan's 100); `npm run azure-rollout` swaps the staged agents in, the first
   * alone, then 10 at a time.
   * @default each deploy replaces code and settings at once
   */
  readonly rollout?: RolloutInput;
  /**
   * The operations layer over every agent, in the platform stack (see AzureAgentOperations): their
   * audit records queryable in Log Analytics, one workbook, one action group that every alert of
   * the fleet notifies, and alerts and a budget per cohort; its resources grow with cohorts, not
   * agents (each shard's agents publish to the audit table through one role group).
   * @default none: the fleet's alerts notify an action group without receivers, audit stays in Blob storage only
   */
  readonly operations?: Omit<AzureAgentOperationsProps, 'observability' | 'agents'>;
}

/** Apps Azure allows on one Consumption plan. */
const APPS_PER_PLAN = 100;

/**
 * Hundreds of agents on Azure, in stacks that each have their own Terraform state, so a plan
 * touches one shard: `<id>-platform` holds what agents share (resource group, Key Vault and router,
 * telemetry, skills, Service Bus namespace, Event Grid topic, alerts, the runtime package),
 * `<id>-agents-NN` at most `agentsPerShard` agents each, on one Consumption plan per shard (Azure
 * allows 100 plans per region, so one per agent stops at 100 agents). Placement is the committed lock
 * file's, as on AWS. Shards refer to the platform and never the other way: every role an agent is
 * given on a platform resource is declared in its shard. Azure's per-region and per-subscription
 * quotas are checked across all stacks at synth (`checkAzureQuotas`).
 */
export class AzureAgentFleet extends Construct {
  readonly platform: TerraformStack;
  readonly shards: TerraformStack[] = [];
  readonly resourceGroup: ResourceGroup;
  readonly router: AzureModelRouter;
  readonly skills: AzureSkillStore;
  readonly events: AzureAgentEvents;
  readonly bus: AzureServiceBus;
  readonly observability: AzureObservability;
  readonly runtime: AzureRuntimePackage;
  /** The operations layer over every agent, when the fleet has one. */
  readonly operations?: AzureAgentOperations;
  /** Each agent's construct, by name. */
  readonly agents = new Map<string, AzureAgentFunction | AzureAgentContainer>();
  /** Agent names per shard, as the lock file places them. */
  readonly placement: readonly (readonly string[])[];

  constructor(scope: Construct, id: string, props: AzureAgentFleetProps) {
    super(scope, id);
    // A staging slot is a second site per agent on the shard's plan.
    const perShard = props.agentsPerShard ?? (props.rollout !== undefined && isGradual(parseRollout(props.rollout, this.node.path)) ? 45 : 50);
    if (!(Number.isInteger(perShard) && perShard >= 1 && perShard <= APPS_PER_PLAN)) throw new Error(`AzureAgentFleet ${this.node.path}: agentsPerShard must be a whole number from 1 to ${APPS_PER_PLAN} (the apps Azure allows on one Consumption plan); got ${perShard}`);
    const update = this.node.tryGetContext(FLEET_LOCK_CONTEXT) === 'update';
    const { definitions, placement } = fleetMembers(props.agents, { lockFile: props.lockFile, agentsPerShard: perShard, update, fleet: 'AzureAgentFleet', team: 'AzureAgentTeam' });
    this.placement = placement;
    const provider = (stack: TerraformStack) => {
      // Globally named resources take the subscription into their names, as the example stacks do.
      if (props.subscriptionId) stack.node.setContext(NAME_SEED_CONTEXT, props.subscriptionId);
      new AzurermProvider(stack, 'Azure', { features: [{}], storageUseAzuread: true, ...(props.subscriptionId && { subscriptionId: props.subscriptionId }) });
    };

    const platform = (this.platform = new TerraformStack(this, `${id}-platform`));
    provider(platform);
    const name = (max: number) => globalName(platform, max);
    this.resourceGroup = new ResourceGroup(platform, 'Group', { name: `${id}-rg`, location: props.location, ...(props.tags && { tags: { ...props.tags } }) });
    // The group's name is known at synth: shards use it as a string, not a reference.
    const location = { resourceGroupName: `${id}-rg`, location: props.location };
    const secrets = new AzureSecrets(platform, 'Secrets', { name: name(24), ...location });
    secrets.node.addDependency(this.resourceGroup);
    this.observability = new AzureObservability(platform, 'Observability', { name: name(40), ...location });
    this.router = new AzureModelRouter(platform, 'Models', { models: props.models, secrets });
    this.skills = new AzureSkillStore(platform, 'Skills', { path: props.skillsPath, ...location });
    this.bus = new AzureServiceBus(platform, 'Bus', { name: name(50), ...location });
    this.events = new AzureAgentEvents(platform, 'Events', { name: name(50), ...location });
    if (props.operations) this.operations = new AzureAgentOperations(platform, 'Operations', { budgetScope: { resourceGroupId: this.resourceGroup.id }, ...props.operations, observability: this.observability });
    const alerts = this.operations?.actionGroup ?? new MonitorActionGroup(platform, 'Alerts', { name: `${id}-agent-alerts`, shortName: 'agents', resourceGroupName: location.resourceGroupName });
    const auditLogs = this.operations?.auditLogs;
    this.runtime = new AzureRuntimePackage(platform, 'Runtime', location);
    for (const c of [this.observability, this.skills, this.bus, this.events, this.operations ?? alerts, this.runtime]) c.node.addDependency(this.resourceGroup);

    const byName = new Map(definitions.map((a) => [a.name, a]));
    this.placement.forEach((names, i) => {
      const shardId = `${id}-agents-${String(i + 1).padStart(2, '0')}`;
      const shard = new TerraformStack(this, shardId);
      this.shards.push(shard);
      provider(shard);
      shard.addDependency(platform);
      if (props.roleGroups ?? true) new AzureRoleGroups(shard, 'RoleGroups', { namePrefix: shardId });
      // Two storage accounts per shard, each agent with containers of its own (durable agents excepted).
      const storage = new AzureAgentStorage(shard, 'Storage', { ...location, ...(props.auditRetentionDays && { auditRetentionDays: props.auditRetentionDays }) });
      let plan: ServicePlan | undefined;
      let containers: AzureContainerEnvironment | undefined;
      for (const agentName of names) {
        const agent = byName.get(agentName)!;
        const toolPolicy = props.toolPolicies?.[agent.cohort];
        const takesQueued = agent.triggers.some((t) => t.type === 'job' || t.type === 'queue') || agent.placement === 'container';
        const queue = takesQueued ? new AzureAgentQueue(shard, `Queue-${agent.name}`, { bus: this.bus, agent: agent.name, timeoutSeconds: agent.limits.timeoutSeconds, actionGroupId: alerts.id }) : undefined;
        const shared = { agent, ...location, observability: this.observability, router: this.router, skills: this.skills, events: this.events, storage, actionGroupId: alerts.id, ...(auditLogs && { auditLogs }), ...(toolPolicy && { toolPolicy }), ...(props.auditRetentionDays && { auditRetentionDays: props.auditRetentionDays }) };
        const host =
          agent.placement === 'container'
            ? new AzureAgentContainer(shard, `Agent-${agent.name}`, {
                ...shared,
                queue: queue!,
                environment: (containers ??= new AzureContainerEnvironment(shard, 'Containers', { name: `${shardId}-containers`, ...location, observability: this.observability })),
              })
            : new AzureAgentFunction(shard, `Agent-${agent.name}`, {
                ...shared,
                plan: (plan ??= new ServicePlan(shard, 'Plan', { name: `${shardId}-plan`, ...location, osType: 'Linux', skuName: 'Y1' })),
                runtime: this.runtime,
                ...(queue && { queue }),
                ...(props.auth && { auth: props.auth }),
                ...(props.rollout && { rollout: props.rollout }),
              });
        this.agents.set(agent.name, host);
        this.operations?.addAgent(host);
      }
    });
  }
}
