import type { Construct } from 'constructs';
import type { AzureAgentEvents } from '../../constructs/azure/agent-events';
import type { AzureAgentFunction, AzureHttpAuth } from '../../constructs/azure/agent-function';
import type { AzureAgentOperations } from '../../constructs/azure/agent-operations';
import { TerraformStack, type ResourceGroup } from '../../constructs/azure/engine';
import type { AzureModelRouter } from '../../constructs/azure/model-router';
import type { AzureSkillStore } from '../../constructs/azure/skill-store';
import type { AgentDefinition } from '../../contract/definition';
import type { ToolPolicyInput } from '../../contract/policy/tool-policy';
import { azurePlatform, exampleBudgets, type AzurePlatformProps } from '../platform/azure-platform';
import { exampleAgent } from './example-agent';

export interface AzureSingleAgentStackProps extends AzurePlatformProps {
  /** @default the example support agent, the same definition the AWS stack deploys */
  readonly agents?: readonly AgentDefinition[];
  readonly toolPolicies?: Readonly<Record<string, ToolPolicyInput>>;
  /**
   * Who may call the agents' HTTP routes.
   * @default Entra ID, with an app registration created per agent
   */
  readonly auth?: AzureHttpAuth;
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
  /** The audit table, workbook, alerts and budgets over its agents. */
  readonly operations: AzureAgentOperations;
  readonly agents: AzureAgentFunction[];

  constructor(scope: Construct, id: string, props: AzureSingleAgentStackProps) {
    super(scope, id);
    const definitions = props.agents ?? [exampleAgent()];
    const platform = azurePlatform(this, id, { ...props, budgets: props.budgets ?? exampleBudgets(definitions) });
    this.resourceGroup = platform.resourceGroup;
    this.router = platform.router;
    this.skills = platform.skills;
    this.events = platform.events;
    this.operations = platform.operations;
    this.agents = definitions.map((agent) =>
      platform.agent(agent, {
        queue: agent.triggers.some((t) => t.type === 'job' || t.type === 'queue'),
        ...(props.toolPolicies?.[agent.cohort] && { toolPolicy: props.toolPolicies[agent.cohort] }),
        ...(props.auth && { auth: props.auth }),
      }),
    );
  }
}
