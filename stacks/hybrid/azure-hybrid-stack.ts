import type { Construct } from 'constructs';
import type { AzureAgentContainer } from '../../constructs/azure/agent-container';
import type { AzureAgentEvents } from '../../constructs/azure/agent-events';
import type { AzureAgentFunction } from '../../constructs/azure/agent-function';
import type { AzureAgentOperations } from '../../constructs/azure/agent-operations';
import { AzureAgentTeam } from '../../constructs/azure/agent-team';
import { TerraformStack, type ResourceGroup } from '../../constructs/azure/engine';
import type { AgentDefinition } from '../../contract/definition';
import type { AzureMultiAgentStackProps } from '../multi-agent/azure-multi-agent-stack';
import { azurePlatform, exampleBudgets } from '../platform/azure-platform';
import { exampleHybrid } from './hybrid-agents';

export interface AzureHybridStackProps extends AzureMultiAgentStackProps {
  /**
   * The agents, each deployed where its definition's `placement` says.
   * @default the example: intake (a function) hands research to research (a container), the same definitions the AWS HybridStack deploys
   */
  readonly agents?: readonly AgentDefinition[];
}

/**
 * Roadmap stage 3 on Azure: short, bursty agents stay Function Apps, long-running ones run in
 * Azure Container Apps, from the same definitions and runtime, sharing the platform's Event Grid
 * topic, skills, Key Vault, telemetry and the team's wiring; each keeps its own identity, state and
 * audit. The container agents share one Container Apps environment and one runtime image. Built
 * only from the public Azure constructs.
 */
export class AzureHybridStack extends TerraformStack {
  readonly resourceGroup: ResourceGroup;
  readonly events: AzureAgentEvents;
  readonly team: AzureAgentTeam;
  /** The audit table, workbook, alerts and budgets over its agents. */
  readonly operations: AzureAgentOperations;
  readonly agents: (AzureAgentFunction | AzureAgentContainer)[];

  constructor(scope: Construct, id: string, props: AzureHybridStackProps) {
    super(scope, id);
    const definitions = props.agents ?? exampleHybrid();
    const platform = azurePlatform(this, id, { ...props, budgets: props.budgets ?? exampleBudgets(definitions) });
    this.resourceGroup = platform.resourceGroup;
    this.events = platform.events;
    this.operations = platform.operations;
    this.team = new AzureAgentTeam(this, 'Team', { agents: definitions, events: this.events });
    const member = { team: this.team, ...(props.toolPolicies && { toolPolicies: props.toolPolicies }), ...(props.tenantId && { tenantId: props.tenantId }) };
    this.agents = definitions.map((agent) => platform.member(agent, member));
  }
}
