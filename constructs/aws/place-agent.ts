import type { Construct } from 'constructs';
import { defineAgent } from '../../contract/definition/define';
import { AgentContainer, type AgentContainerProps } from './agent-container';
import { AgentFunction, type AgentFunctionProps } from './agent-function';
import { AgentCoreAgent, type AgentCoreAgentProps } from './agentcore-agent';

/** An agent deployed where its definition places it. */
export type PlacedAgent = AgentFunction | AgentContainer | AgentCoreAgent;

export interface PlaceAgentProps extends AgentFunctionProps {
  /** What only a container placement takes (cluster, task size, scaling, Spot). */
  readonly container?: Omit<AgentContainerProps, keyof AgentFunctionProps>;
  /** What only an AgentCore placement takes. */
  readonly agentcore?: Omit<AgentCoreAgentProps, keyof AgentFunctionProps>;
}

/**
 * Deploys an agent where its definition's `placement` says: AgentFunction, AgentContainer or
 * AgentCoreAgent, each given the same shared parts (router, skills, state, bus, team, audit, tool
 * policy), so moving an agent is a change of that one field in its YAML.
 */
export function placeAgent(scope: Construct, id: string, props: PlaceAgentProps): PlacedAgent {
  const agent = defineAgent(props.agent);
  const { container, agentcore, ...functionProps } = props;
  const state = props.state ?? props.api?.state;
  const shared = {
    agent,
    ...(props.router && { router: props.router }),
    ...(props.skills && { skills: props.skills }),
    ...(state && { state }),
    ...(props.bus && { bus: props.bus }),
    ...(props.team && { team: props.team }),
    ...(props.audit && { audit: props.audit }),
    ...(props.toolPolicy && { toolPolicy: props.toolPolicy }),
    ...(props.logRetention && { logRetention: props.logRetention }),
  };
  switch (agent.placement) {
    case 'container':
      return new AgentContainer(scope, id, { ...shared, ...(props.queue && { queue: props.queue }), ...(props.deadLetterQueue && { deadLetterQueue: props.deadLetterQueue }), ...(props.alarmAction && { alarmAction: props.alarmAction }), ...(props.logEncryptionKey && { logEncryptionKey: props.logEncryptionKey }), ...container });
    case 'agentcore':
      return new AgentCoreAgent(scope, id, { ...shared, ...agentcore });
    default:
      return new AgentFunction(scope, id, { ...functionProps, agent });
  }
}
