import { AgentDefinitionError, type AgentDefinition } from '../definition/define';

/**
 * A fleet deploys agents that work alone. Agents that call or hand off to each other are wired both
 * ways (grants on each other's resources, deliveries into each other's queues), which across shards
 * would make stacks depend on each other; a team stays in a stack of its own, with `team` (the
 * cloud's team construct). Fails naming the agent and each field.
 */
export function refuseTeamEdges(agent: AgentDefinition, fleet: string, team: string): void {
  const problems = [
    ...agent.tools.flatMap((t, i) => (t.kind === 'agent' ? [`tools[${i}]: "${t.name}" calls agent "${t.agent}"; an ${fleet} deploys agents that work alone: deploy a team with ${team} in a stack of its own`] : [])),
    ...agent.handoffs.map((h, i) => `handoffs[${i}]: a hand-off to "${h.agent}" needs an ${team}; an ${fleet} deploys agents that work alone: deploy a team in a stack of its own`),
  ];
  if (problems.length) throw new AgentDefinitionError(agent.name, problems);
}
