import { AgentDefinitionError, defineAgent, type AgentDefinition } from '../definition/define';
import type { AgentDefinitionInput } from '../definition/schema';
import { fleetPlacement, type FleetPlacement } from './lock';

export interface FleetMembersOptions {
  /** The lock file that places them. */
  readonly lockFile: string;
  readonly agentsPerShard: number;
  /** Whether synth may rewrite the lock (`-c serverless-agents:fleet-lock=update`). */
  readonly update: boolean;
  /** The fleet construct and the team construct of the cloud, for the messages. */
  readonly fleet: string;
  readonly team: string;
}

/**
 * What both clouds' fleets start from: the definitions, each checked to work alone, and their
 * placement in shards by the lock file.
 */
export function fleetMembers(agents: readonly (AgentDefinition | AgentDefinitionInput)[], options: FleetMembersOptions): { definitions: AgentDefinition[]; placement: FleetPlacement['shards'] } {
  const definitions = agents.map((a) => defineAgent(a));
  for (const agent of definitions) refuseTeamEdges(agent, options.fleet, options.team);
  const placement = fleetPlacement(options.lockFile, definitions.map((a) => a.name), options.agentsPerShard, options.update).shards;
  return { definitions, placement };
}

/**
 * A fleet deploys agents that work alone. Agents that call or hand off to each other are wired both
 * ways (grants on each other's resources, deliveries into each other's queues), which across shards
 * would make stacks depend on each other; a team stays in a stack of its own, with `team` (the
 * cloud's team construct). Fails naming the agent and each field.
 */
function refuseTeamEdges(agent: AgentDefinition, fleet: string, team: string): void {
  const problems = [
    ...agent.tools.flatMap((t, i) => (t.kind === 'agent' ? [`tools[${i}]: "${t.name}" calls agent "${t.agent}"; an ${fleet} deploys agents that work alone: deploy a team with ${team} in a stack of its own`] : [])),
    ...agent.handoffs.map((h, i) => `handoffs[${i}]: a hand-off to "${h.agent}" needs an ${team}; an ${fleet} deploys agents that work alone: deploy a team in a stack of its own`),
  ];
  if (problems.length) throw new AgentDefinitionError(agent.name, problems);
}
