import { Stack } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import { agentCluster, AgentTeam, placeAgent, type AgentApi, type AgentBus, type AgentOperations, type PlacedAgent } from '../../constructs/aws';
import { awsPlatform } from '../platform/aws-platform';
import type { AgentDefinition } from '../../contract/definition';
import type { MultiAgentStackProps } from '../multi-agent/multi-agent-stack';
import { exampleHybrid } from './hybrid-agents';

export { exampleHybrid };

export interface HybridStackProps extends MultiAgentStackProps {
  /**
   * The agents, each deployed where its definition's `placement` says.
   * @default the example: intake (a function) hands research to research (a container)
   */
  readonly agents?: readonly AgentDefinition[];
}

/**
 * Roadmap stage 3: short, bursty agents stay functions, long-running ones run as containers, from
 * the same definitions and runtime, sharing the API, bus, skills, state table and audit trail. The
 * container agents share one ECS cluster in a VPC without NAT gateway. Built only from the public
 * constructs; `placeAgent` picks the construct by each definition's `placement`.
 */
export class HybridStack extends Stack {
  readonly api: AgentApi;
  readonly bus: AgentBus;
  readonly team: AgentTeam;
  readonly agents: PlacedAgent[];
  readonly operations: AgentOperations;

  constructor(scope: Construct, id: string, props: HybridStackProps) {
    super(scope, id, props);
    const agents = props.agents ?? exampleHybrid();
    const platform = awsPlatform(this, { ...props, alarmsName: 'Hybrid agents dead-letter and failed-run alarms', deadLettersDescription: 'Agent jobs and hand-offs that failed every delivery' });
    ({ api: this.api, bus: this.bus } = platform);
    this.team = new AgentTeam(this, 'Team', { agents, bus: this.bus });
    // One cluster for every container agent, made only when one is placed there.
    let cluster: ecs.Cluster | undefined;
    this.agents = agents.map((agent) =>
      placeAgent(this, `Agent-${agent.name}`, {
        ...platform.agentProps(agent),
        team: this.team,
        state: platform.state,
        ...(agent.placement === 'container' && { container: { cluster: (cluster ??= agentCluster(this, 'Containers')) } }),
      }),
    );
    this.operations = platform.operate(agents);
  }
}
