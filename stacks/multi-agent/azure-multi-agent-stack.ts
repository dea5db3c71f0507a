import type { Construct } from 'constructs';
import type { AzureAgentEvents } from '../../constructs/azure/agent-events';
import type { AzureAgentFunction } from '../../constructs/azure/agent-function';
import type { AzureAgentOperations } from '../../constructs/azure/agent-operations';
import { AzureAgentTeam } from '../../constructs/azure/agent-team';
import { TerraformStack, type ResourceGroup } from '../../constructs/azure/engine';
import type { AgentDefinition } from '../../contract/definition';
import type { ToolPolicyInput } from '../../contract/policy/tool-policy';
import { azurePlatform, exampleBudgets, type AzurePlatformProps } from '../platform/azure-platform';
import { exampleTeam } from './team-agents';

export interface AzureMultiAgentStackProps extends AzurePlatformProps {
  /** @default the example team (triage, billing, technical), the same definitions the AWS stack deploys */
  readonly agents?: readonly AgentDefinition[];
  readonly toolPolicies?: Readonly<Record<string, ToolPolicyInput>>;
  /**
   * The Entra ID tenant of the agents' app registrations.
   * @default the deploying identity's
   */
  readonly tenantId?: string;
}

/**
 * Roadmap stage 2 on Azure: a team of agents that delegate to and hand off to each other, the same
 * definitions the AWS MultiAgentStack deploys. Each agent is its own Function App on its own
 * Consumption plan, with its own identity, state and queue where tasks reach it; one Event Grid
 * topic carries the team's jobs and hand-offs to the targets' queues; the team gives each sender
 * exactly what its definition's edges need, on its targets alone. Every agent is behind Entra ID:
 * the agents call each other with Entra ID tokens from their managed identities, which only the
 * callers given a target's `Agent.Invoke` role can get, so neither function keys nor anonymous
 * routes are offered here. Built only from the public Azure constructs.
 */
export class AzureMultiAgentStack extends TerraformStack {
  readonly resourceGroup: ResourceGroup;
  readonly events: AzureAgentEvents;
  readonly team: AzureAgentTeam;
  /** The audit table, workbook, alerts and budgets over its agents. */
  readonly operations: AzureAgentOperations;
  readonly agents: AzureAgentFunction[];

  constructor(scope: Construct, id: string, props: AzureMultiAgentStackProps) {
    super(scope, id);
    const definitions = props.agents ?? exampleTeam();
    const platform = azurePlatform(this, id, { ...props, budgets: props.budgets ?? exampleBudgets(definitions) });
    this.resourceGroup = platform.resourceGroup;
    this.events = platform.events;
    this.operations = platform.operations;
    this.team = new AzureAgentTeam(this, 'Team', { agents: definitions, events: this.events });
    const member = { team: this.team, ...(props.toolPolicies && { toolPolicies: props.toolPolicies }), ...(props.tenantId && { tenantId: props.tenantId }) };
    this.agents = definitions.map((agent) => platform.teamFunction(agent, member));
  }
}
