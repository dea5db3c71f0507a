import { AgentDefinitionError, type AgentDefinition } from '../definition/define';
import type { TaskKind } from './envelope';
import { PLACEMENT_LIMITS } from '../placement/placement';

/**
 * The agents that delegate to and hand off to each other, as a graph both clouds wire the same
 * way: who may send what to whom. Built once from every definition of the team, so an edge to an
 * agent the team does not deploy, or a cycle of synchronous calls, fails synth naming the agent
 * and the field.
 */

/** One way a task may go: from an agent's tool or handoff list to another agent. */
export interface TeamEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: TaskKind;
  /** Where the sender's definition declares it. */
  readonly field: string;
}

export class AgentTeamGraph {
  readonly edges: readonly TeamEdge[];
  private readonly agents: ReadonlyMap<string, AgentDefinition>;

  constructor(definitions: readonly AgentDefinition[]) {
    const agents = new Map<string, AgentDefinition>();
    for (const d of definitions) {
      if (agents.has(d.name)) throw new AgentDefinitionError(d.name, ['name: two agents of the team have this name']);
      agents.set(d.name, d);
    }
    this.agents = agents;
    this.edges = definitions.flatMap((d) => edgesOf(d));
    const problems = new Map<string, string[]>();
    const add = (agent: string, problem: string) => problems.set(agent, [...(problems.get(agent) ?? []), problem]);
    const known = [...agents.keys()].sort().join(', ');
    for (const e of this.edges) {
      const target = agents.get(e.to);
      if (!target) add(e.from, `${e.field}: agent "${e.to}" is not in the team (its agents: ${known})`);
      else if (e.kind === 'call' ? !PLACEMENT_LIMITS[target.placement].takesCalls : !PLACEMENT_LIMITS[target.placement].takesTasks) add(e.from, placementRefusal(e, target.placement));
    }
    for (const cycle of callCycles(this.edges.filter((e) => e.kind === 'call' && agents.has(e.to)))) {
      const first = cycle[0]!;
      add(
        first.from,
        `${first.field}: the synchronous calls ${[...cycle.map((e) => e.from), first.from].join(' → ')} form a cycle: each caller waits inside its function for the next, so every run of the cycle holds a function (and its concurrency) until the chain's deadline, and with limited concurrency the agents wait on each other for good; make one of the calls a job, or a hand-off`,
      );
    }
    const [agent, list] = [...problems.entries()][0] ?? [];
    if (agent) throw new AgentDefinitionError(agent, list!);
  }

  has(agent: string): boolean {
    return this.agents.has(agent);
  }

  get names(): string[] {
    return [...this.agents.keys()];
  }

  definition(agent: string): AgentDefinition | undefined {
    return this.agents.get(agent);
  }

  /** The edges out of `agent`. */
  from(agent: string): TeamEdge[] {
    return this.edges.filter((e) => e.from === agent);
  }

  /** The edges into `agent`. */
  to(agent: string): TeamEdge[] {
    return this.edges.filter((e) => e.to === agent);
  }

  /** Agents that may send `agent` a task, of any kind: its callers. */
  callersOf(agent: string): string[] {
    return [...new Set(this.to(agent).map((e) => e.from))].sort();
  }

  /** Whether tasks reach `agent` through its queue (jobs and hand-offs), not only as calls. */
  receivesQueued(agent: string): boolean {
    return this.to(agent).some((e) => e.kind !== 'call');
  }
}

/** An agent's outgoing edges: its agent tools and its handoffs. */
export function edgesOf(definition: AgentDefinition): TeamEdge[] {
  return [
    ...definition.tools.flatMap((t, i) => (t.kind === 'agent' ? [{ from: definition.name, to: t.agent, kind: t.mode, field: `tools[${i}].agent` } satisfies TeamEdge] : [])),
    ...definition.handoffs.map((h, i) => ({ from: definition.name, to: h.agent, kind: 'handoff', field: `handoffs[${i}]` }) satisfies TeamEdge),
  ];
}

/** Each cycle of the call graph once, as its edges. */
function callCycles(edges: readonly TeamEdge[]): TeamEdge[][] {
  const cycles: TeamEdge[][] = [];
  const seen = new Set<string>();
  const walk = (path: TeamEdge[], visiting: string[]) => {
    const at = path.length ? path.at(-1)!.to : visiting[0]!;
    for (const e of edges.filter((x) => x.from === at)) {
      const back = visiting.indexOf(e.to);
      if (back === 0) {
        const cycle = [...path, e];
        const key = cycle.map((x) => x.from).sort().join('>');
        if (!seen.has(key)) cycles.push(cycle), seen.add(key);
      } else if (back < 0) walk([...path, e], [...visiting, e.to]);
    }
  };
  for (const start of new Set(edges.map((e) => e.from))) walk([], [start]);
  return cycles;
}

/** Why an edge cannot reach an agent where it is placed, and what would. */
function placementRefusal(edge: TeamEdge, placement: AgentDefinition['placement']): string {
  if (placement === 'container') {
    return `${edge.field}: agent "${edge.to}" runs in a container (placement: container), which takes its work from its queue and answers no synchronous call; give the tool mode: job, or hand off to it`;
  }
  return `${edge.field}: agent "${edge.to}" runs on AgentCore Runtime (placement: ${placement}), which only answers IAM-signed InvokeAgentRuntime requests and has no queue for hand-offs and jobs; place it as a function or a container to be part of a team`;
}
