import { Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AgentFunction, AgentTeam, type AgentApi, type AgentBus, type AgentOperations } from '../../constructs/aws';
import { awsPlatform } from '../platform/aws-platform';
import type { AgentDefinition } from '../../contract/definition';
import type { SingleAgentStackProps } from '../single-agent/single-agent-stack';
import { exampleTeam } from './team-agents';

export { exampleTeam };

/** What the stage-1 stack takes (models, tool policies, skills), for a team instead of lone agents. */
export interface MultiAgentStackProps extends Omit<SingleAgentStackProps, 'agents'> {
  /**
   * The team: an orchestrator and the specialists it calls and hands off to.
   * @default the example team: triage, billing and technical
   */
  readonly agents?: readonly AgentDefinition[];
}

/**
 * Roadmap stage 2: an orchestrator that calls specialist agents as tools and hands conversations
 * to them over the bus, each agent its own function, role, queue and limits, on one API, bus,
 * state table, skill registry and audit trail. Built only from the public constructs.
 */
export class MultiAgentStack extends Stack {
  readonly api: AgentApi;
  readonly bus: AgentBus;
  readonly team: AgentTeam;
  readonly agents: AgentFunction[];
  readonly operations: AgentOperations;

  constructor(scope: Construct, id: string, props: MultiAgentStackProps) {
    super(scope, id, props);
    const agents = props.agents ?? exampleTeam();
    const platform = awsPlatform(this, { ...props, alarmsName: 'Agent team dead-letter and failed-run alarms', deadLettersDescription: 'Agent jobs, hand-offs and delegations that failed every delivery' });
    ({ api: this.api, bus: this.bus } = platform);
    this.team = new AgentTeam(this, 'Team', { agents, bus: this.bus });
    this.agents = agents.map((agent) => new AgentFunction(this, `Agent-${agent.name}`, { ...platform.agentProps(agent), team: this.team, state: platform.state }));
    this.operations = platform.operate(agents);
  }
}
