import type { AzurePrincipal } from './defaults';
import { Construct } from 'constructs';
import { resultEventType, taskEventType, type TaskKind } from '../../contract/chain/envelope';
import { AgentTeamGraph, type TeamEdge } from '../../contract/chain/team';
import type { AzurePeers } from '../../contract/config/settings';
import { AgentDefinitionError, defineAgent, type AgentDefinition } from '../../contract/definition/define';
import type { AgentDefinitionInput } from '../../contract/definition/schema';
import type { AzureAgentEvents } from './agent-events';
import type { AzureAgentAccess } from './agent-access';
import type { AzureAgentQueue } from './agent-queue';
import type { AzureHttpAuth } from './http-auth';
import { Lazy, type StorageAccount, type TerraformResource, type UserAssignedIdentity } from './engine';
import { AzureSecureDefaults } from './secure-defaults';

export interface AzureAgentTeamProps {
  /** Every agent of the team: each is deployed by an AzureAgentFunction or AzureAgentContainer given this team. */
  readonly agents: readonly (AgentDefinition | AgentDefinitionInput)[];
  /** The topic the team's jobs and hand-offs travel on, to each target's Service Bus queue. */
  readonly events: AzureAgentEvents;
}

/**
 * An agent of a team as its host deploys it (AzureAgentFunction, AzureAgentContainer): what the
 * team reads of it and the grants it asks of it to wire an edge.
 */
export interface AzureTeamMember {
  readonly definition: AgentDefinition;
  readonly identity: UserAssignedIdentity;
  readonly state: StorageAccount;
  readonly queue?: AzureAgentQueue;
  /** Where the agents that call it send their tasks, for a host that takes calls. */
  readonly taskUrl?: string;
  readonly tokenAudience?: string;
  /** What it is given on any host, and the grants on its state (its job records, its inbox). */
  readonly access: Pick<AzureAgentAccess, 'grantReadJobs' | 'grantInbox' | 'shared'>;
  grantInvoke(principal: AzurePrincipal, id: string): TerraformResource;
  /** Makes the host start only once `role`, granted to its identity by the team, has taken effect. */
  waitsFor(role: TerraformResource): void;
}

/** What one agent is to the rest of its team, known before its host is built. */
export interface AzureTeamMembership {
  /** The agents that may send it tasks. */
  readonly callers: readonly string[];
  /** Whether jobs or hand-offs reach it, through its queue. */
  readonly takesQueued: boolean;
  /** Whether it sends tasks to any agent, so it needs to know how to reach them. */
  readonly sends: boolean;
}

/**
 * Agents that delegate to and hand off to each other on Azure, wired as their definitions say and
 * no further. Its graph is checked as it is built (an edge to an agent the team lacks, a cycle of
 * calls), and each AzureAgentFunction or AzureAgentContainer given the team joins it; once both ends of an edge have
 * joined, in whichever order, the sender learns how to reach the target (its AGENT_PEERS setting)
 * and its identity is given exactly what the edge needs, on the target's resources alone:
 * - a call: the target's `Agent.Invoke` app role, for an Entra ID token to its task route;
 * - a job: write on the target's inbox, for inputs too large for a message, and read on its job
 *   records, to await the result;
 * - a hand-off: write on the target's inbox.
 * Jobs and hand-offs go through the team's topic: one subscription per target delivers the event
 * types it receives to its Service Bus queue. Event Grid cannot narrow a publisher to event types,
 * so each target also checks the sender against its callers (its runtime config); agents that must
 * not reach each other belong in different teams, on different topics. An agent of the team that
 * no function deploys fails synth.
 */
export class AzureAgentTeam extends Construct {
  readonly graph: AgentTeamGraph;
  readonly events: AzureAgentEvents;
  private readonly members = new Map<string, AzureTeamMember>();
  private readonly peers = new Map<string, Record<string, AzurePeers[string]>>();

  constructor(scope: Construct, id: string, props: AzureAgentTeamProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    this.graph = new AgentTeamGraph(props.agents.map((a) => defineAgent(a)));
    this.events = props.events;
    this.node.addValidation({
      validate: () =>
        this.graph.names.flatMap((name, i) =>
          this.members.has(name) ? [] : [`agent "${name}": agents[${i}]: is in team ${this.node.path}, but no AzureAgentFunction or AzureAgentContainer deploys it with the team (pass team); the agents that send it tasks would reach nothing`],
        ),
    });
  }

  /**
   * What `agent` is to the team, for its AzureAgentFunction before it builds anything; an agent
   * the team does not list, or lists with another definition, fails naming it.
   */
  membership(agent: AgentDefinition): AzureTeamMembership {
    const listed = this.graph.definition(agent.name);
    if (!listed) throw new AgentDefinitionError(agent.name, [`team: is not an agent of team ${this.node.path} (its agents: ${this.graph.names.join(', ')})`]);
    if (listed.version !== agent.version) throw new AgentDefinitionError(agent.name, [`team: the definition deployed is not the one team ${this.node.path} lists; pass the same definition to both`]);
    return {
      callers: this.graph.callersOf(agent.name),
      takesQueued: this.graph.receivesQueued(agent.name),
      sends: this.graph.from(agent.name).length > 0,
    };
  }

  /**
   * What an agent's function must be given for its place in the team, as `field: problem` lines:
   * a queue where tasks arrive, the team's topic where it sends them, Entra ID in front of a route
   * agents call.
   */
  problems(agent: AgentDefinition, props: { readonly queue?: AzureAgentQueue; readonly events?: AzureAgentEvents; readonly auth?: AzureHttpAuth }): string[] {
    const problems: string[] = [];
    const into = this.graph.to(agent.name);
    const queued = into.filter((e) => e.kind !== 'call');
    if (queued.length && !props.queue) problems.push(`queue: ${sources(queued)} arrive on its Service Bus queue; pass an AzureAgentQueue`);
    const calls = into.filter((e) => e.kind === 'call');
    if (calls.length && props.auth && props.auth.type !== 'entra-id') {
      problems.push(
        `auth: ${sources(calls)} come with an Entra ID token from the caller's managed identity, which only Entra ID authentication checks (${props.auth.type} would let any holder of ${props.auth.type === 'anonymous' ? 'the URL' : 'a key'} in, and the caller has none); use Entra ID, the default`,
      );
    }
    const sent = this.graph.from(agent.name).filter((e) => e.kind !== 'call');
    if (sent.length && props.events !== this.events) problems.push(`events: ${sent[0]!.field} sends tasks through the team's topic; pass the team's AzureAgentEvents as events`);
    return problems;
  }

  /** The AGENT_PEERS setting of `agent`: read at synth, when every agent it reaches has joined. */
  peersSetting(agent: string): string {
    return Lazy.stringValue({ produce: () => JSON.stringify(this.peers.get(agent) ?? {}) });
  }

  /** Joins an agent's host to the team (AzureAgentFunction and AzureAgentContainer do, given `team`), and wires every edge whose other end has joined. */
  join(member: AzureTeamMember): void {
    const name = member.definition.name;
    if (this.members.has(name)) throw new AgentDefinitionError(name, [`team: two constructs deploy this agent of team ${this.node.path}`]);
    this.members.set(name, member);
    // Its tasks, and (for an agent with a queue, whose job records list its children) the reports
    // of the hand-offs and jobs it sent, as they end.
    const reports = !!member.queue && this.graph.from(name).some((e) => e.kind !== 'call');
    if (this.graph.receivesQueued(name) || reports) this.deliverTasks(member, reports);
    for (const other of this.members.keys()) {
      this.connect(name, other);
      if (other !== name) this.connect(other, name);
    }
  }

  /** One subscription from the team's topic to the target's queue, for the event types it receives. */
  private deliverTasks(target: AzureTeamMember, reports: boolean): void {
    const name = target.definition.name;
    const types = [...new Set(this.graph.to(name).flatMap((e) => (e.kind === 'call' ? [] : [taskEventType(e.kind, name)]))), ...(reports ? [resultEventType(name)] : [])].sort();
    this.events.deliverToQueue(`tasks-${name}`, target.queue!, types);
  }

  /** What the sender `from` needs to reach `to`, once both have joined. */
  private connect(from: string, to: string): void {
    const sender = this.members.get(from);
    const target = this.members.get(to);
    const kinds = new Set<TaskKind>(this.graph.from(from).flatMap((e) => (e.to === to ? [e.kind] : [])));
    if (!sender || !target || !kinds.size) return;
    const principal = sender.identity;
    const grants: TerraformResource[] = [];
    if (kinds.has('call')) grants.push(target.grantInvoke(principal, from));
    if (kinds.has('job')) grants.push(target.access.grantReadJobs(principal, from));
    if (kinds.has('job') || kinds.has('handoff')) grants.push(target.access.grantInbox(principal, from));
    for (const grant of grants) sender.waitsFor(grant);
    const peers = this.peers.get(from) ?? this.peers.set(from, {}).get(from)!;
    // Only a call names the target's app: a hand-off back the other way names just its storage, so
    // two agents that reach each other never make their apps depend on each other.
    peers[to] = { ...(kinds.has('call') && { taskUrl: target.taskUrl!, audience: target.tokenAudience! }), stateAccountUrl: target.state.primaryBlobEndpoint, ...(target.access.shared && { containerPrefix: target.access.shared.prefix }) };
  }
}

/** The senders of some edges into one agent, in words: `triage's calls (tools[0].agent)`. */
function sources(edges: readonly TeamEdge[]): string {
  const kind = { call: 'calls', job: 'jobs', handoff: 'hand-offs' } as const;
  return edges.map((e) => `${e.from}'s ${kind[e.kind]} (${e.from}: ${e.field})`).join(' and ');
}
