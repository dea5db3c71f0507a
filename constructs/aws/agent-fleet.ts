import { Stack, type Environment, type StackProps } from 'aws-cdk-lib';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import { AgentOperations, type AgentOperationsProps } from './agent-operations';
import { Construct } from 'constructs';
import type { AgentDefinition } from '../../contract/definition/define';
import { fleetMembers } from '../../contract/fleet/members';
import type { AgentDefinitionInput } from '../../contract/definition/schema';
import { FLEET_LOCK_CONTEXT } from '../../contract/fleet/lock';
import type { ToolPolicyInput } from '../../contract/policy/tool-policy';
import { isGradual, parseRollout, type RolloutInput } from '../../contract/delivery/rollout';
import { AgentApi, type AgentApiAuthorization } from './agent-api';
import { AgentBus } from './agent-bus';
import { AgentRollout } from './agent-rollout';
import { agentCluster } from './agent-container';
import { AgentStateTable } from './agent-state-table';
import { AuditBucket } from './audit-bucket';
import { DeadLetterQueue } from './dead-letter-queue';
import { ModelRouter, type ModelRouterProps } from './model-router';
import { placeAgent, type PlacedAgent } from './place-agent';
import { SkillBucket } from './skill-bucket';
import { SharedStatements } from './agent-role';
import { checkStackBudget, type StackBudget } from './stack-budget';

export interface AgentFleetProps {
  /** Every agent of the fleet; each is deployed where its definition's `placement` says. */
  readonly agents: readonly (AgentDefinition | AgentDefinitionInput)[];
  /** Model aliases and their targets, shared by the fleet. */
  readonly models: ModelRouterProps;
  /** The folder of the fleet's skills. */
  readonly skillsPath: string;
  /**
   * The placement file the team commits (`fleet.lock.json`): which shard holds each agent. Synth
   * fails when agents were added or removed since it was written, until it runs once with
   * `-c serverless-agents:fleet-lock=update`.
   */
  readonly lockFile: string;
  /**
   * Agents per shard stack. About seven resources and 9.5 KB of template per plain agent keep 50
   * well inside the stack budget; agents with queues and schedules take more, and a gradual
   * rollout adds six (about 12.5 an agent: 30 fill a shard to 380 resources).
   * @default 50, or 30 under a gradual rollout
   */
  readonly agentsPerShard?: number;
  /** The account and region of every stack. @default the CLI's */
  readonly env?: Environment;
  /** Tool policies by cohort. @default every tool each definition lists */
  readonly toolPolicies?: Readonly<Record<string, ToolPolicyInput>>;
  /** Who may call the API. @default AgentApiAuthorization.iam() */
  readonly authorization?: AgentApiAuthorization;
  /**
   * The start of every agent function's name, which the API reaches them by: unique in the
   * account and region, at most 23 characters.
   * @default derived from the fleet's path
   */
  readonly agentNamePrefix?: string;
  /** What each stack may hold. @default DEFAULT_STACK_BUDGET */
  readonly budget?: StackBudget;
  /** Tags and other props every stack of the fleet gets. */
  readonly stackProps?: Omit<StackProps, 'env'>;
  /**
   * How each agent's new versions take traffic (see AgentRollout); an agent's own setting wins. A
   * gradual rollout also paces a change every agent takes at once (a new shared runtime): the
   * first shard deploys alone, then the others, `shardsAtOnce` at a time, each shard shifting at
   * most 10 agents at once; a rollback stops the shards that have not started.
   * @default the nearest `AgentRollout.setDefault` above the fleet; without one, each deploy replaces code at once
   */
  readonly rollout?: RolloutInput;
  /** Shards that deploy side by side after the first, under a gradual rollout. @default 4 */
  readonly shardsAtOnce?: number;
  /**
   * The operations layer over every agent of the fleet (AgentOperations, in the Edge stack, on the
   * fleet's alarm topic and dead letters): audit queries, the dashboard, cohort alarms and, when
   * given, budgets. `false` leaves it out.
   * @default on, without budgets
   */
  readonly operations?: Omit<AgentOperationsProps, 'agents' | 'audit' | 'topic' | 'deadLetterQueues'> | false;
}

/**
 * Hundreds of agents in one app, laid out in stacks that stay within CloudFormation's limits:
 * - `Platform`: the shared, stateful parts (bus, state table, audit bucket, skill bucket, dead
 *   letters, alarm topic), which agents never move in or out of;
 * - `Edge`: the API (and with it the account's API Gateway logging role, once), which reaches every
 *   agent by name, so it depends on no shard and its integration role holds one statement for all;
 * - `Agents-NN`: the agents, stateless shards of at most `agentsPerShard`, placed by the committed
 *   lock file so adding an agent never moves another.
 * References flow one way (shards and edge to the platform), so there is no dependency cycle and a
 * change to one agent deploys one shard. Every stack is checked against its budget at synth.
 */
export class AgentFleet extends Construct {
  readonly platform: Stack;
  readonly edge: Stack;
  readonly shards: Stack[] = [];
  readonly api: AgentApi;
  readonly bus: AgentBus;
  readonly state: AgentStateTable;
  readonly audit: AuditBucket;
  readonly skills: SkillBucket;
  readonly deadLetters: DeadLetterQueue;
  readonly router: ModelRouter;
  readonly operations?: AgentOperations;
  /** Each agent's construct, by name. */
  readonly agents = new Map<string, PlacedAgent>();
  /** Agent names per shard, as the lock file places them. */
  readonly placement: readonly (readonly string[])[];

  constructor(scope: Construct, id: string, props: AgentFleetProps) {
    super(scope, id);
    if (props.rollout) AgentRollout.setDefault(this, props.rollout);
    const rollout = AgentRollout.defaultFor(this);
    const gradual = rollout !== undefined && isGradual(parseRollout(rollout, this.node.path));
    // A gradual rollout adds six resources an agent (version, alias, deployment group, three alarms).
    const perShard = props.agentsPerShard ?? (gradual ? 30 : 50);
    const update = this.node.tryGetContext(FLEET_LOCK_CONTEXT) === 'update';
    const { definitions, placement } = fleetMembers(props.agents, { lockFile: props.lockFile, agentsPerShard: perShard, update, fleet: 'AgentFleet', team: 'AgentTeam' });
    this.placement = placement;
    const stackProps = { ...props.stackProps, ...(props.env && { env: props.env }) };
    const remedy = (what: string) => `${what} (agentsPerShard is ${perShard})`;

    this.platform = new Stack(this, 'Platform', { ...stackProps, stackName: `${id}-Platform`, description: `Shared parts of agent fleet ${this.node.path}: bus, state, audit, skills, dead letters` });
    const alarms = AgentOperations.notificationTopic(this.platform, 'Alarms', { displayName: `Agent fleet ${id} alarms` });
    const alarmAction = new cloudwatchActions.SnsAction(alarms);
    this.skills = new SkillBucket(this.platform, 'Skills', { path: props.skillsPath });
    this.router = new ModelRouter(this.platform, 'Models', props.models);
    this.bus = new AgentBus(this.platform, 'Bus', { alarmAction });
    this.state = new AgentStateTable(this.platform, 'State');
    this.audit = new AuditBucket(this.platform, 'Audit');
    this.deadLetters = new DeadLetterQueue(this.platform, 'DeadLetters', { description: `Agent jobs of fleet ${id} that failed every delivery`, alarmAction });
    checkStackBudget(this.platform, props.budget, 'the platform holds shared parts only; report this');

    this.edge = new Stack(this, 'Edge', { ...stackProps, stackName: `${id}-Edge`, description: `The API of agent fleet ${this.node.path}` });
    this.api = new AgentApi(this.edge, 'Api', {
      state: this.state,
      ...(props.authorization && { authorization: props.authorization }),
      ...(props.agentNamePrefix && { agentNamePrefix: props.agentNamePrefix }),
    });
    // The audit table lists every agent, so it changes as the API does: with the fleet's members.
    if (props.operations !== false) this.operations = new AgentOperations(this.edge, 'Operations', { ...props.operations, agents: definitions, audit: this.audit, topic: alarms, deadLetterQueues: [this.deadLetters.queue] });
    checkStackBudget(this.edge, props.budget, 'the API stack grows only with its routes; report this');

    const byName = new Map(definitions.map((a) => [a.name, a]));
    this.placement.forEach((names, i) => {
      const shardId = `Agents-${String(i + 1).padStart(2, '0')}`;
      const shard = new Stack(this, shardId, { ...stackProps, stackName: `${id}-${shardId}`, description: `Agents ${names[0] ?? '(none)'}..${names.at(-1) ?? ''} of fleet ${this.node.path}` });
      this.shards.push(shard);
      // Grants its agents are given alike, once per shard (the model, its key, the events they publish).
      new SharedStatements(shard, 'SharedGrants');
      checkStackBudget(shard, props.budget, remedy(`give the fleet a smaller agentsPerShard for new shards, or move some of this shard's agents to a new shard in ${props.lockFile} (moving an agent replaces its function and queue: see docs/operations.md)`));
      let cluster: ecs.Cluster | undefined;
      for (const name of names) {
        const agent = byName.get(name)!;
        this.agents.set(
          name,
          placeAgent(shard, `Agent-${name}`, {
            agent,
            router: this.router,
            skills: this.skills,
            api: this.api,
            state: this.state,
            bus: this.bus,
            audit: this.audit,
            deadLetterQueue: this.deadLetters,
            alarmAction,
            ...(props.toolPolicies?.[agent.cohort] && { toolPolicy: props.toolPolicies[agent.cohort] }),
            ...(agent.placement === 'container' && { container: { cluster: (cluster ??= agentCluster(shard, 'Containers')) } }),
          }),
        );
      }
    });
    if (gradual) paceShards(this.shards, props.shardsAtOnce ?? 4);
  }
}

/**
 * Under a gradual rollout, a change every agent takes reaches the first shard alone, then the
 * others `lanes` at a time: each waits for the first and for the shard `lanes` places before it.
 * CloudFormation holds a shard's update until its agents' traffic shifts end, so a version the
 * alarms roll back fails its shard and no later shard starts.
 */
function paceShards(shards: readonly Stack[], lanes: number): void {
  if (!(Number.isInteger(lanes) && lanes >= 1)) throw new Error(`AgentFleet: shardsAtOnce must be a whole number from 1; got ${lanes}`);
  shards.forEach((shard, i) => {
    if (i === 0) return;
    shard.addStackDependency(shards[0]!, 'the first shard takes a new runtime alone');
    if (i - lanes >= 1) shard.addStackDependency(shards[i - lanes]!, `at most ${lanes} shards shift their agents at once`);
  });
}
