import { ArnFormat, Lazy, Stack, Tags } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { resultEventType, taskEventType } from '../../contract/chain/envelope';
import { AGENT_CONFIG_ENV, encodeAgentConfig, type AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { RUNTIME_ENV } from '../../contract/config/settings';
import type { AgentDefinition } from '../../contract/definition/define';
import type { Placement } from '../../contract/placement/placement';
import { skillProblems } from '../../contract/skills/catalog';
import { AGENT_EVENT_SOURCE, AGENT_EVENT_TYPES } from '../../contract/events/agent-events';
import { parseToolPolicy, type ToolPolicyInput } from '../../contract/policy/tool-policy';
import { pricesFor, resolveModel, toRuntimeTarget, type ModelTargetSpec } from '../../contract/routing/config';
import type { IAgentBus } from './agent-bus';
import type { AgentQueue } from './agent-queue';
import type { IAgentStateTable } from './agent-state-table';
import type { AgentTeam } from './agent-team';
import type { IAuditBucket } from './audit-bucket';
import { addQueueTarget } from './defaults';
import { COHORT_TAG, grantTargets, type IModelRouter } from './model-router';
import type { ISkillBucket } from './skill-bucket';

/** The construct that deploys each placement. */
const PLACED_BY: Readonly<Record<Placement, string>> = { function: 'AgentFunction', container: 'AgentContainer', agentcore: 'AgentCoreAgent' };

/**
 * What every host checks alike before it builds anything, as `field: problem` lines: that the
 * definition is placed on this host, that its team edges have a team and a state table (a task
 * delivered twice must run once), that the bus is the team's, and that its skills exist.
 */
export function accessProblems(agent: AgentDefinition, props: AgentAccessProps, placement: Placement): string[] {
  const problems: string[] = [];
  if (agent.placement !== placement) {
    problems.push(`placement: ${PLACED_BY[placement]} deploys agents with placement: ${placement}; this one's is "${agent.placement}" (deploy it with ${PLACED_BY[agent.placement]}, or use placeAgent, which picks by placement)`);
  }
  const team = props.team;
  if (team && props.bus && props.bus !== team.bus) problems.push('bus: must be the team\'s bus, which carries its hand-offs and jobs (or leave it out)');
  if (team && !props.state) problems.push('team: an agent of a team needs an AgentStateTable (pass state): a task delivered twice must run once, and large inputs wait there');
  if (!team) {
    agent.tools.forEach((t, i) => t.kind === 'agent' && problems.push(`tools[${i}]: "${t.name}" calls agent "${t.agent}", which needs an AgentTeam holding both (pass team)`));
    agent.handoffs.forEach((h, i) => problems.push(`handoffs[${i}]: a hand-off to "${h.agent}" needs an AgentTeam holding both (pass team)`));
  }
  problems.push(...skillProblems(agent.skills, props.skills?.index, 'SkillBucket'));
  return problems;
}

/** The platform's parts an agent's runtime reaches, whatever hosts it. */
export interface AgentAccessProps {
  readonly router?: IModelRouter;
  readonly skills?: ISkillBucket;
  readonly state?: IAgentStateTable;
  readonly bus?: IAgentBus;
  readonly team?: AgentTeam;
  readonly audit?: IAuditBucket;
  readonly toolPolicy?: ToolPolicyInput;
}

/**
 * What one agent's runtime is given wherever it runs (a Lambda function, a Fargate task, an
 * AgentCore Runtime): its configuration and environment, read from its definition, and exactly
 * the grants that definition needs, through one path, so an agent moved from one placement to
 * another keeps the same permissions.
 */
export class AgentAccess {
  readonly config: AgentRuntimeConfig;
  /** The model targets the agent's alias resolves to. */
  readonly route: readonly ModelTargetSpec[];
  /** The runtime's environment: the encoded configuration and where each part of the platform is. */
  readonly environment: Record<string, string>;
  /** The agents it calls synchronously. */
  readonly calls: readonly string[];
  readonly bus?: IAgentBus;

  constructor(
    private readonly scope: Construct,
    readonly agent: AgentDefinition,
    private readonly props: AgentAccessProps,
  ) {
    const route = (this.route = props.router ? props.router.route(agent) : resolveModel(undefined, agent));
    const runtimeRoute = route.map(toRuntimeTarget);
    const toolPolicy = parseToolPolicy(agent, props.toolPolicy);
    const team = props.team;
    const callers = team?.graph.callersOf(agent.name) ?? [];
    this.config = {
      definition: agent,
      route: runtimeRoute,
      prices: pricesFor(props.router?.policy, runtimeRoute.map((t) => t.model)),
      ...(toolPolicy && { toolPolicy }),
      ...(callers.length && { callers }),
    };
    const bus = (this.bus = props.bus ?? team?.bus);
    this.calls = [...new Set((team?.graph.from(agent.name) ?? []).filter((e) => e.kind === 'call').map((e) => e.to))];
    const environment: Record<string, string> = { [AGENT_CONFIG_ENV]: encodeAgentConfig(this.config) };
    if (props.skills && agent.skills.length) environment[RUNTIME_ENV.skillsBucket] = props.skills.bucketName;
    if (bus) environment[RUNTIME_ENV.bus] = bus.eventBusName;
    if (team && team.graph.from(agent.name).length) {
      // The functions it calls, known once every member has joined.
      environment[RUNTIME_ENV.peers] = Lazy.string({ produce: () => Stack.of(scope).toJsonString(Object.fromEntries(this.calls.map((to) => [to, { function: team.functionName(to) }]))) });
    }
    if (props.state) environment[RUNTIME_ENV.stateTable] = props.state.tableName;
    if (props.audit) environment[RUNTIME_ENV.auditBucket] = props.audit.bucketName;
    const profiles = props.router?.inferenceProfiles?.(agent) ?? {};
    // Profile ARNs are known at deploy only, so they travel beside the compressed configuration.
    if (Object.keys(profiles).length) environment[RUNTIME_ENV.modelProfiles] = Stack.of(scope).toJsonString(profiles);
    this.environment = environment;
  }

  /**
   * Makes `host` (the construct that runs the agent) what the agent is in the platform: a member of
   * its team, with `fn` the function other members call (none for hosts that take no calls), its
   * role granted what the definition needs, and, when agents of its team send it tasks, the rule
   * that brings them into `queue`.
   */
  attach(host: Construct & iam.IGrantable, options: { readonly fn?: lambda.IFunction; readonly queue?: AgentQueue } = {}): void {
    // Cost allocation: AWS Budgets per cohort (CohortBudgets) filter on this tag.
    Tags.of(host).add(COHORT_TAG, this.agent.cohort);
    this.props.team?.join(this.agent, options.fn);
    this.grantTo(host);
    this.receiveTasks(host, options.queue);
  }

  /**
   * Grants `grantee` what the definition needs and nothing more: invoke on its model targets, read
   * of its skills, invoke of its function tools, publish of its own event types, its own records in
   * the state table and its own audit partition, and in a team invoke of the agents it calls and
   * the inboxes (and job records) of those it sends tasks.
   */
  private grantTo(grantee: iam.IGrantable): void {
    const { agent, props } = this;
    if (props.router) props.router.grantInvoke(grantee, agent);
    else grantTargets(this.scope, grantee, this.route);
    if (props.skills && agent.skills.length) props.skills.grantRead(grantee, agent.skills);
    this.grantFunctionTools(grantee);
    const team = props.team;
    const tasks = (team?.graph.from(agent.name) ?? []).filter((e) => e.kind !== 'call');
    // Only a durable agent waits for approvals, so only it announces them.
    // And the reports of its runs' ends to the agents that send it hand-offs and jobs.
    const senders = [...new Set((team?.graph.to(agent.name) ?? []).filter((e) => e.kind !== 'call').map((e) => e.from))];
    if (this.bus) this.bus.grantPublish(grantee, [...AGENT_EVENT_TYPES.filter((t) => agent.durable || t !== 'approval.requested'), ...tasks.map((e) => taskEventType(e.kind as 'job' | 'handoff', e.to)), ...senders.map(resultEventType)]);
    if (team) {
      if (this.calls.length) iam.Grant.addToPrincipal({ grantee, actions: ['lambda:InvokeFunction'], resourceArns: this.calls.map((to) => team.functionArn(to)) });
      for (const to of new Set(tasks.map((e) => e.to))) props.state!.grantDelegation(grantee, to, { readJobs: tasks.some((e) => e.to === to && e.kind === 'job') });
    }
    props.state?.grantAgent(grantee, agent.name, { durable: agent.durable });
    props.audit?.grantWrite(grantee, agent.name);
  }

  /**
   * When agents of its team send it hand-offs or jobs: the rule that takes exactly those event
   * types off the team's bus into its queue, with the queue's dead-letter queue behind.
   */
  private receiveTasks(scope: Construct, queue: AgentQueue | undefined): void {
    const team = this.props.team;
    if (!team) return;
    const tasks = [...new Set(team.graph.to(this.agent.name).flatMap((e) => (e.kind === 'call' ? [] : [taskEventType(e.kind, this.agent.name)])))];
    // An agent with a queue (one that takes jobs, whose records show their children) also takes
    // the reports of the hand-offs and jobs it sends, as they end.
    const sends = team.graph.from(this.agent.name).some((e) => e.kind !== 'call');
    const received = [...tasks, ...(sends && queue ? [resultEventType(this.agent.name)] : [])];
    if (!received.length) return;
    const rule = new events.Rule(scope, 'Tasks', {
      description: `Hand-offs and jobs other agents send ${this.agent.name}, and the ends of those it sent`,
      eventBus: team.bus.eventBus,
      eventPattern: { source: [AGENT_EVENT_SOURCE], detailType: received },
    });
    addQueueTarget(rule, queue!.queue, queue!.deadLetterQueue.queue);
  }

  /** Function tools run by invoking their Lambda function: invoke is granted on those only. */
  private grantFunctionTools(grantee: iam.IGrantable): void {
    const stack = Stack.of(this.scope);
    const arns = this.agent.tools.flatMap((t) =>
      t.kind !== 'function' ? [] : [t.function.startsWith('arn:') ? t.function : stack.formatArn({ service: 'lambda', resource: 'function', resourceName: t.function, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    );
    if (arns.length) iam.Grant.addToPrincipal({ grantee, actions: ['lambda:InvokeFunction'], resourceArns: [...new Set(arns)] });
  }
}
