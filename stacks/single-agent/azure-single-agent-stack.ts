import { join } from 'node:path';
import type { Construct } from 'constructs';
import { AzureAgentEvents } from '../../constructs/azure/agent-events';
import { AzureAgentFunction, type AzureHttpAuth } from '../../constructs/azure/agent-function';
import { AzureAgentQueue, AzureServiceBus } from '../../constructs/azure/agent-queue';
import { globalName, NAME_SEED_CONTEXT } from '../../constructs/azure/defaults';
import { AzurermProvider, MonitorActionGroup, ResourceGroup, ServicePlan, TerraformOutput, TerraformStack } from '../../constructs/azure/engine';
import { AzureModelRouter } from '../../constructs/azure/model-router';
import { AzureObservability } from '../../constructs/azure/observability';
import { AzureRuntimePackage } from '../../constructs/azure/runtime-package';
import { AzureSecrets } from '../../constructs/azure/secrets';
import { AzureSkillStore } from '../../constructs/azure/skill-store';
import type { AgentDefinition } from '../../contract/definition';
import type { ToolPolicyInput } from '../../contract/policy/tool-policy';
import type { RouterConfig } from '../../contract/routing/config';
import { exampleAgent } from './example-agent';

export interface AzureSingleAgentStackProps {
  /** The Azure region, such as `westeurope`. */
  readonly location: string;
  /** @default the Azure CLI's subscription, or ARM_SUBSCRIPTION_ID */
  readonly subscriptionId?: string;
  /** Model aliases and their Azure-reachable targets: the only place a model is named. */
  readonly models: RouterConfig;
  /** @default the example support agent, the same definition the AWS stack deploys */
  readonly agents?: readonly AgentDefinition[];
  readonly toolPolicies?: Readonly<Record<string, ToolPolicyInput>>;
  /** @default the repository's skills/ folder */
  readonly skillsPath?: string;
  /**
   * Who may call the agents' HTTP routes.
   * @default Entra ID, with an app registration created per agent
   */
  readonly auth?: AzureHttpAuth;
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * Roadmap stage 1 on Azure: the same agents as the AWS SingleAgentStack, each in its own Function
 * App on its own Consumption plan behind authenticated HTTP routes, with its own Service Bus
 * queue, on one skill store, model router, event topic and Key Vault; dead letters and failed
 * runs alert one action group. Built only from the public Azure constructs.
 */
export class AzureSingleAgentStack extends TerraformStack {
  readonly resourceGroup: ResourceGroup;
  readonly skills: AzureSkillStore;
  readonly router: AzureModelRouter;
  readonly events: AzureAgentEvents;
  readonly agents: AzureAgentFunction[];

  constructor(scope: Construct, id: string, props: AzureSingleAgentStackProps) {
    super(scope, id);
    // Globally named resources take the subscription into their names, so the same stack deployed
    // to two subscriptions does not collide.
    if (props.subscriptionId) this.node.setContext(NAME_SEED_CONTEXT, props.subscriptionId);
    // Storage accounts here take no shared keys, so the provider must reach blobs with Entra ID.
    new AzurermProvider(this, 'Azure', { features: [{}], storageUseAzuread: true, ...(props.subscriptionId && { subscriptionId: props.subscriptionId }) });
    const name = (max: number) => globalName(this, max);
    this.resourceGroup = new ResourceGroup(this, 'Group', { name: `${id}-rg`, location: props.location, ...(props.tags && { tags: { ...props.tags } }) });
    const location = { resourceGroupName: this.resourceGroup.name, location: props.location };

    const observability = new AzureObservability(this, 'Observability', { name: name(40), ...location });
    const secrets = new AzureSecrets(this, 'Secrets', { name: name(24), ...location });
    this.router = new AzureModelRouter(this, 'Models', { models: props.models, secrets });
    this.skills = new AzureSkillStore(this, 'Skills', { path: props.skillsPath ?? join(__dirname, '..', '..', 'skills'), ...location });
    const bus = new AzureServiceBus(this, 'Bus', { name: name(50), ...location });
    this.events = new AzureAgentEvents(this, 'Events', { name: name(50), ...location });
    const alerts = new MonitorActionGroup(this, 'Alerts', { name: `${id}-agent-alerts`, shortName: 'agents', resourceGroupName: this.resourceGroup.name });
    const runtime = new AzureRuntimePackage(this, 'Runtime', location);

    this.agents = (props.agents ?? [exampleAgent()]).map((agent) => {
      const needsQueue = agent.triggers.some((t) => t.type === 'job' || t.type === 'queue');
      const fn = new AzureAgentFunction(this, `Agent-${agent.name}`, {
        agent,
        ...location,
        // A Consumption plan per app, as Microsoft recommends: it costs nothing idle, and agents
        // never compete for one plan's instance limit.
        plan: new ServicePlan(this, `Plan-${agent.name}`, { name: `${id}-${agent.name}-plan`, ...location, osType: 'Linux', skuName: 'Y1' }),
        runtime,
        observability,
        router: this.router,
        skills: this.skills,
        events: this.events,
        ...(props.toolPolicies?.[agent.cohort] && { toolPolicy: props.toolPolicies[agent.cohort] }),
        ...(props.auth && { auth: props.auth }),
        actionGroupId: alerts.id,
        ...(needsQueue && {
          queue: new AzureAgentQueue(this, `Queue-${agent.name}`, { bus, agent: agent.name, timeoutSeconds: agent.limits.timeoutSeconds, actionGroupId: alerts.id }),
        }),
      });
      new TerraformOutput(this, `${agent.name}-url`, { value: fn.invokeUrl, description: `POST here to run agent ${agent.name}` });
      if (fn.tokenAudience) {
        new TerraformOutput(this, `${agent.name}-token-audience`, { value: fn.tokenAudience, description: `Callers of agent ${agent.name} send an Entra ID token for this audience` });
      }
      return fn;
    });
  }
}
