import { Lazy } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { AgentTeamGraph } from '../../contract/chain/team';
import { AgentDefinitionError, defineAgent, type AgentDefinition } from '../../contract/definition/define';
import type { AgentDefinitionInput } from '../../contract/definition/schema';
import type { IAgentBus } from './agent-bus';

export interface AgentTeamProps {
  /** Every agent of the team: the orchestrators and the specialists they call and hand off to. */
  readonly agents: readonly (AgentDefinition | AgentDefinitionInput)[];
  /** The bus hand-offs and jobs travel on; each agent that receives them gets a rule to its queue. */
  readonly bus: IAgentBus;
}

/**
 * Agents that call each other as tools and hand conversations to each other (roadmap stage 2).
 * The team reads every definition at once, so a tool or hand-off naming an agent the team lacks,
 * or synchronous calls that go round in a circle, fail synth naming the agent and the field.
 * Each member is an AgentFunction given `team`; it then gets exactly the grants its own
 * definition's edges need (invoke on the agents it calls, publish of its own hand-off and job
 * event types, its targets' inboxes and, for jobs, their job records) and, when others send it
 * hand-offs or jobs, a bus rule that feeds its queue.
 */
export class AgentTeam extends Construct {
  readonly graph: AgentTeamGraph;
  readonly bus: IAgentBus;
  /** Each member's function; none for an agent in a container, which takes no calls. */
  private readonly members = new Map<string, lambda.IFunction | undefined>();

  constructor(scope: Construct, id: string, props: AgentTeamProps) {
    super(scope, id);
    this.graph = new AgentTeamGraph(props.agents.map((a) => defineAgent(a)));
    this.bus = props.bus;
    this.node.addValidation({
      validate: () => this.graph.names.filter((name) => !this.members.has(name)).map((name) => `AgentTeam ${this.node.path}: agent "${name}" is in the team but no AgentFunction or AgentContainer deploys it; give it one with team`),
    });
  }

  /** Adds an agent (and its function, when it has one) to the team; its definition must be the team's. */
  join(definition: AgentDefinition, fn?: lambda.IFunction): void {
    const own = this.graph.definition(definition.name);
    if (!own) throw new AgentDefinitionError(definition.name, [`(team): the AgentTeam at ${this.node.path} does not list this agent (its agents: ${this.graph.names.join(', ')})`]);
    if (own.version !== definition.version) throw new AgentDefinitionError(definition.name, [`(team): the definition differs from the one the AgentTeam at ${this.node.path} was given; pass the same one to both`]);
    if (this.members.has(definition.name)) throw new AgentDefinitionError(definition.name, [`(team): two constructs deploy this agent in the AgentTeam at ${this.node.path}`]);
    this.members.set(definition.name, fn);
  }

  /** The function of a member, once it has joined: resolved at synth, so members may join in any order. */
  functionArn(agent: string): string {
    return Lazy.string({ produce: () => this.member(agent).functionArn });
  }

  functionName(agent: string): string {
    return Lazy.string({ produce: () => this.member(agent).functionName });
  }

  private member(agent: string): lambda.IFunction {
    const fn = this.members.get(agent);
    if (!fn) throw new Error(`AgentTeam ${this.node.path}: agent "${agent}" has no AgentFunction${this.members.has(agent) ? ' (it runs in a container, which takes no calls)' : ''}`);
    return fn;
  }
}
