import { Annotations, Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AGENT_CONFIG_ENV } from '../../contract/config/runtime-config';
import { DURABLE_ALIAS, RUNTIME_ENV } from '../../contract/config/settings';
import { INVOCATION_MAX_SECONDS } from '../../contract/definition/schema';
import { JOB_RETENTION_DAYS } from '../../contract/jobs/job-record';
import { AgentDefinitionError, defineAgent, type AgentDefinition } from '../../contract/definition/define';
import type { AgentDefinitionInput } from '../../contract/definition/schema';
import { checkRollout, isGradual, type Rollout, type RolloutInput } from '../../contract/delivery/rollout';
import { syncTimeoutSeconds } from '../../contract/definition/sync-timeout';
import type { RunMetric } from '../../contract/metrics/run-metrics';
import { agentMetric, runFailuresAlarm } from './agent-metrics';
import type { ToolPolicyInput } from '../../contract/policy/tool-policy';
import { AgentApi, type IAgentApi } from './agent-api';
import type { IAgentBus } from './agent-bus';
import type { AgentTeam } from './agent-team';
import { AgentQueue } from './agent-queue';
import { AgentRole } from './agent-role';
import { AgentRollout } from './agent-rollout';
import type { IAgentStateTable } from './agent-state-table';
import type { IAuditBucket } from './audit-bucket';
import type { IDeadLetterQueue } from './dead-letter-queue';
import { retainedLogGroup } from './defaults';
import type { IModelRouter } from './model-router';
import { accessProblems, AgentAccess } from './agent-access';
import { acknowledge, acknowledgeWildcards } from './nag';
import { RUNTIME_HANDLER, runtimeCode } from './runtime-code';
import type { ISkillBucket } from './skill-bucket';

/** Function properties AgentFunction sets itself, from the definition or from its own props. */
type OwnedFunctionProps =
  | 'role'
  | 'environment'
  | 'environmentEncryption'
  | 'timeout'
  | 'logGroup'
  | 'logRetention'
  | 'logRetentionRole'
  | 'logRetentionRetryOptions'
  | 'loggingFormat'
  | 'tracing'
  | 'architecture'
  | 'memorySize'
  | 'reservedConcurrentExecutions'
  | 'vpc'
  | 'vpcSubnets'
  | 'securityGroups'
  | 'layers'
  | 'functionName';

/** Any other Lambda function property, for what these props don't cover. */
export type AgentFunctionOverrides = Omit<lambda.FunctionOptions, OwnedFunctionProps>;

export interface AgentFunctionProps {
  /** The agent: a definition from `defineAgent`/`loadAgentFile`, or the plain object to parse. */
  readonly agent: AgentDefinition | AgentDefinitionInput;
  /**
   * Resolves the agent's model alias to targets and grants invoke on them.
   * @default none: the agent must name a Bedrock model directly
   */
  readonly router?: IModelRouter;
  /**
   * Where the agent's skills live; read is granted on those skills only.
   * @default none: the agent must list no skills
   */
  readonly skills?: ISkillBucket;
  /**
   * The agent's queue, for `job`, `queue`, `schedule` and `event` triggers.
   * @default a new AgentQueue when the definition has one of those triggers
   */
  readonly queue?: AgentQueue;
  /**
   * Where the queue this construct creates sends messages that failed every delivery; share one
   * among many agents to keep a large stack small.
   * @default a new DeadLetterQueue for the agent's queue alone
   */
  readonly deadLetterQueue?: IDeadLetterQueue;
  /**
   * The API that serves `api` and `job` triggers, in this stack, another stack or another app.
   * @default none: the agent must have no `api` or `job` trigger
   */
  readonly api?: IAgentApi;
  /**
   * The bus the agent publishes its events to and that `event` triggers listen on.
   * @default none: events publish nowhere and `event` triggers listen on the default bus
   */
  readonly bus?: IAgentBus;
  /**
   * Where job status and idempotency records live; needed by agents with queued triggers, so a
   * redelivered job never runs twice, and by agents whose callers send idempotency keys.
   * @default the API's state table, if it has one; otherwise the agent must have only the `api`
   * trigger, and refuses invocations that carry an idempotency key (400)
   */
  readonly state?: IAgentStateTable;
  /**
   * The team whose agents this one calls, hands off to, or is called by (roadmap stage 2). Its bus
   * carries the agent's events and the hand-offs and jobs it sends and receives.
   * @default none: the agent's definition may name no agent tools or handoffs
   */
  readonly team?: AgentTeam;
  /**
   * Where the agent writes an audit record of every run.
   * @default none: audit records go to the function's logs only
   */
  readonly audit?: IAuditBucket;
  /**
   * What the agent's cohort may do with its tools, enforced at run time.
   * @default every tool the definition lists may run
   */
  readonly toolPolicy?: ToolPolicyInput;
  /**
   * Memory, which also sets the CPU share.
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;
  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The customer managed key the function's log group is encrypted with. The key's policy must let
   * CloudWatch Logs use it; a key defined in the app gets that statement here.
   * @default CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * The customer managed key the function's environment (the agent's configuration) is encrypted
   * with; the agent's role may decrypt with it.
   * @default Lambda's AWS managed key
   */
  readonly environmentEncryption?: kms.IKey;
  /**
   * Concurrent runs reserved for (and capped at) this agent.
   * @default no reservation
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * The VPC the function runs in, to reach tools on private networks.
   * @default not in a VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * The subnets the function uses in `vpc`.
   * @default the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * The security groups of the function's network interfaces in `vpc`.
   * @default a new security group that allows all outbound traffic
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * Layers the function loads, such as an OpenTelemetry exporter.
   * @default none
   */
  readonly layers?: lambda.ILayerVersion[];
  /**
   * More environment variables for the function, counted in Lambda's 4 KB with the agent's configuration.
   * @default none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Notified when a run fails: the alarm on the runtime's `RunFailures` metric for this agent.
   * @default no action: the alarm is visible in CloudWatch only
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
  /**
   * Any other Lambda function property (ephemeral storage, a code signing config, ...). Properties
   * this construct sets from the definition or from its own props cannot be overridden here.
   * @default none
   */
  readonly functionOverrides?: AgentFunctionOverrides;
  /**
   * How a new version of the agent takes its traffic. Given, the agent runs behind a published
   * version and its `live` alias, which every trigger reaches; `canary` and `linear` shift the alias
   * with CodeDeploy and roll back on the agent's alarms (see AgentRollout).
   * @default the nearest `AgentRollout.setDefault` above the agent; without one, each deploy replaces the function's code at once
   */
  readonly rollout?: RolloutInput;
}

const DURABLE_EXECUTIONS_REASON =
  "A durable execution's ARN extends its function version's (function:NAME:VERSION/durable-execution/...), and a deploy publishes a new version: :* names this function's executions of every version, and no other function's.";

/** How long the starter of a durable agent's queued runs takes at most to start one. */
const STARTER_TIMEOUT_SECONDS = 60;

/** Lambda allows 4 KB for all environment variables of a function together. */
export const LAMBDA_ENVIRONMENT_LIMIT = 4096;
/** What an unresolved value (an ARN or name known at deploy) is assumed to take. */
const TOKEN_ESTIMATE = 128;

/**
 * An agent on AWS Lambda running the shared runtime, configured only by its agent definition.
 * It gets its own role holding exactly what its definition needs, its own log group, active
 * tracing, its own queue when a trigger needs one, and whatever triggers the definition lists.
 */
export class AgentFunction extends Construct implements iam.IGrantable {
  readonly definition: AgentDefinition;
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly grantPrincipal: iam.IPrincipal;
  /** The agent's queue, when a trigger needs one. */
  readonly queue?: AgentQueue;
  /** In alarm from the first run in five minutes that ended without a valid answer. */
  readonly runFailuresAlarm: cloudwatch.Alarm;
  /**
   * A durable agent's alias, on the version this deploy published: every trigger reaches the agent
   * through it, since durable functions refuse unqualified invocations.
   */
  readonly alias?: lambda.Alias;
  /**
   * A durable agent's starter: it takes the agent's queue and starts one durable execution per
   * queued run, named after the run's id, so a redelivered message never starts a second one.
   */
  readonly starter?: lambda.Function;
  /** The agent's gradual rollout: its deployment group and the alarms that roll it back. */
  readonly rollout?: AgentRollout;

  constructor(scope: Construct, id: string, props: AgentFunctionProps) {
    super(scope, id);
    const agent = (this.definition = defineAgent(props.agent));
    const state = props.state ?? props.api?.state;
    const rollout = checkWiring(agent, props, state, props.rollout ?? AgentRollout.defaultFor(this));
    if (!state && agent.triggers.some((t) => t.type === 'api')) {
      Annotations.of(this).addWarningV2(
        'serverless-agents:no-idempotency-records',
        `agent "${agent.name}" has no AgentStateTable, so it refuses invocations that carry an idempotencyKey (400) rather than run them unguarded; give it state to honour keys`,
      );
    }
    const access = new AgentAccess(this, agent, { ...props, ...(state && { state }) });
    const team = props.team;
    const bus = access.bus;
    // An API in another stack or app reaches this agent by name, so the agent's stack never
    // references the API's resources the other way.
    const remoteApi = props.api?.reachesByName(this) ? props.api : undefined;

    this.role = new AgentRole(this, 'Role', `Runs agent ${agent.name}`, undefined, agent.name);
    this.grantPrincipal = this.role;
    this.logGroup = retainedLogGroup(this, 'Logs', props.logRetention ?? logs.RetentionDays.THREE_MONTHS, props.logEncryptionKey);
    // Hand-offs and jobs from other agents arrive on the agent's queue too.
    if (agent.triggers.some((t) => t.type !== 'api') || team?.graph.receivesQueued(agent.name)) {
      this.queue =
        props.queue ??
        new AgentQueue(this, 'Queue', {
          ...(props.deadLetterQueue && { deadLetterQueue: props.deadLetterQueue }),
        });
    }

    const environment: Record<string, string> = { ...checkExtraEnvironment(agent.name, props.environment), ...access.environment };
    if (this.queue) environment[RUNTIME_ENV.queueMaxReceives] = String(this.queue.maxReceiveCount);
    // The job route hands jobs to the function, which records each and queues it here.
    if (this.queue && agent.triggers.some((t) => t.type === 'job')) environment[RUNTIME_ENV.queueUrl] = this.queue.queue.queueUrl;
    checkEnvironmentSize(agent.name, environment);

    this.function = new lambda.Function(this, 'Function', {
      description: `Agent ${agent.name}: ${agent.description}`.slice(0, 256),
      ...props.functionOverrides,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      code: runtimeCode(Stack.of(this)),
      handler: RUNTIME_HANDLER,
      memorySize: props.memorySize ?? 1024,
      // A durable run outlasts its invocations: each is at most Lambda's 15 minutes.
      timeout: Duration.seconds(Math.min(agent.limits.timeoutSeconds, INVOCATION_MAX_SECONDS)),
      ...(agent.durable && { durableConfig: { executionTimeout: Duration.seconds(agent.limits.timeoutSeconds), retentionPeriod: Duration.days(JOB_RETENTION_DAYS) } }),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environment,
      ...(remoteApi && { functionName: remoteApi.agentFunctionName(agent.name) }),
      ...(props.environmentEncryption && { environmentEncryption: props.environmentEncryption }),
      ...(props.reservedConcurrentExecutions !== undefined && { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      ...(props.vpc && { vpc: props.vpc, ...(props.vpcSubnets && { vpcSubnets: props.vpcSubnets }), ...(props.securityGroups && { securityGroups: props.securityGroups }) }),
      ...(props.layers && { layers: props.layers }),
    });
    this.logGroup.grantWrite(this.role);
    props.environmentEncryption?.grantDecrypt(this.role);
    if (agent.durable || rollout) {
      this.alias = new lambda.Alias(this, 'Live', { aliasName: DURABLE_ALIAS, version: this.function.currentVersion, description: `Agent ${agent.name}, as deployed last` });
    }
    if (isGradual(rollout)) this.rollout = new AgentRollout(this, 'Rollout', { agent, function: this.function, alias: this.alias!, rollout });
    if (this.alias && props.api && !(props.api instanceof AgentApi) && agent.triggers.some((t) => t.type === 'api' || t.type === 'job')) {
      // An API another app owns routes by the name it is told; only its `agents` entry can add the alias.
      Annotations.of(this).addWarningV2(
        'serverless-agents:remote-api-alias',
        `agent "${agent.name}" runs behind its "${DURABLE_ALIAS}" alias; list it in the owning app's AgentApi \`agents\` with qualifier: "${DURABLE_ALIAS}", or its API calls skip the alias (and its canary)`,
      );
    }
    if (agent.durable) {
      Annotations.of(this.function).acknowledgeInfo(
        'aws-lambda:Function.DurableConfig',
        'Turning durable on (or off) replaces the function; docs/runtime.md says so, and the same deploy moves the alias, the starter and the API routes to the new one.',
      );
      this.grantDurableExecution();
      this.starter = this.durableStarter(agent, props, environment, state, remoteApi, bus);
    }
    if (props.vpc) this.allowNetworkInterfaces();

    access.attach(this, { fn: this.alias ?? this.function, ...(this.queue && { queue: this.queue }) });
    this.wireTriggers(agent, props, state);
    this.acknowledgeFindings();
    // From the runtime's embedded metric format lines, which CloudWatch never samples.
    this.runFailuresAlarm = runFailuresAlarm(this, agent, props.alarmAction);
  }

  /** The agent's name, unique in the app. */
  get agentName(): string {
    return this.definition.name;
  }

  get functionArn(): string {
    return this.function.functionArn;
  }

  get functionName(): string {
    return this.function.functionName;
  }

  /** Lets `grantee` run the agent by invoking its function directly. */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return this.function.grantInvoke(grantee);
  }

  /** Any of the runtime's own metrics for this agent (see contract/metrics). */
  metric(name: RunMetric, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return agentMetric(this.definition, name, props);
  }

  /** Runs that ended, whatever their stop reason. */
  metricRuns(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Runs', props);
  }

  /** Runs that ended without a valid answer: a broken contract, a spent budget, every model down, the deadline. */
  metricRunFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RunFailures', props);
  }

  /** Final answers that failed the output contract after every repair. */
  metricValidationFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ValidationFailures', props);
  }

  /** Tool calls the cohort's policy refused. */
  metricToolDenials(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ToolDenials', props);
  }

  /** Model calls that failed over to a retry or another target. */
  metricModelFallbacks(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ModelFallbacks', props);
  }

  /** Cost in USD, from the router's prices. */
  metricCost(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('CostUsd', props);
  }

  /** Input tokens sent to models, cached reads excluded. */
  metricInputTokens(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('InputTokens', props);
  }

  /** Output tokens models produced. */
  metricOutputTokens(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('OutputTokens', props);
  }

  /** Wall time of a run, in milliseconds. */
  metricRunLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RunLatency', { statistic: 'p90', ...props });
  }

  metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricInvocations(props);
  }

  metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricErrors(props);
  }

  metricDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricDuration(props);
  }

  metricThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricThrottles(props);
  }

  /**
   * Exactly what a durable function's own role needs, on this function's executions only: to
   * checkpoint and read their state (CDK adds these only to roles it creates). Answering a callback
   * and stopping an execution belong to the starter, which serves the approvals and cancel routes.
   * In a policy of its own: the function must exist before a statement can name it, and the
   * role's default policy is created before the function.
   */
  private grantDurableExecution(): void {
    const executions = `${this.function.functionArn}:*`;
    const policy = new iam.Policy(this, 'DurableExecution', {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({ actions: ['lambda:CheckpointDurableExecution', 'lambda:GetDurableExecutionState'], resources: [executions] }),
      ],
    });
    acknowledgeWildcards(policy, policy.document, DURABLE_EXECUTIONS_REASON);
  }

  /**
   * The starter of a durable agent's queued runs: the agent's queue feeds it (an execution invoked
   * by an SQS event source could not outlast 15 minutes), and it invokes the agent's alias
   * asynchronously with the run's id as the execution's name, which Lambda starts once.
   */
  private durableStarter(
    agent: AgentDefinition,
    props: AgentFunctionProps,
    agentEnvironment: Record<string, string>,
    state: IAgentStateTable | undefined,
    remoteApi: IAgentApi | undefined,
    bus: IAgentBus | undefined,
  ): lambda.Function | undefined {
    if (!this.queue) return undefined;
    const role = new AgentRole(this, 'StarterRole', `Starts durable runs of agent ${agent.name}`, undefined, agent.name);
    const logGroup = retainedLogGroup(this, 'StarterLogs', props.logRetention ?? logs.RetentionDays.THREE_MONTHS, props.logEncryptionKey);
    const starter = new lambda.Function(this, 'Starter', {
      description: `Starts the queued runs of durable agent ${agent.name}`.slice(0, 256),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      code: runtimeCode(Stack.of(this)),
      handler: RUNTIME_HANDLER,
      memorySize: 256,
      timeout: Duration.seconds(STARTER_TIMEOUT_SECONDS),
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        [AGENT_CONFIG_ENV]: agentEnvironment[AGENT_CONFIG_ENV]!,
        [RUNTIME_ENV.durableTarget]: this.alias!.functionArn,
        [RUNTIME_ENV.queueMaxReceives]: String(this.queue.maxReceiveCount),
        // A run it could not start by the message's last receive is recorded dead-lettered; the
        // approvals and cancel routes read and write job records and the runs' engine handles.
        ...(state && { [RUNTIME_ENV.stateTable]: state.tableName }),
        ...(bus && { [RUNTIME_ENV.bus]: bus.eventBusName }),
      },
      ...(remoteApi && { functionName: remoteApi.agentStarterName(agent.name) }),
      ...(props.environmentEncryption && { environmentEncryption: props.environmentEncryption }),
    });
    logGroup.grantWrite(role);
    props.environmentEncryption?.grantDecrypt(role);
    this.alias!.grantInvoke(role);
    state?.grantJobRecords(role, agent.name, { durable: true });
    // The approvals and cancel routes answer this agent's executions, and announce a cancelled run.
    const answers = new iam.Policy(this, 'StarterDurableExecution', {
      roles: [role],
      statements: [new iam.PolicyStatement({ actions: ['lambda:SendDurableExecutionCallbackSuccess', 'lambda:StopDurableExecution'], resources: [`${this.function.functionArn}:*`] })],
    });
    acknowledgeWildcards(answers, answers.document, DURABLE_EXECUTIONS_REASON);
    if (bus) bus.grantPublish(role, ['run.failed']);
    const xray = 'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions.';
    acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', xray);
    acknowledge(role, 'Serverless-LambdaStarPermissions', xray);
    acknowledge(
      starter,
      'Serverless-LambdaDLQ',
      'The starter is invoked by an SQS event source mapping, whose queue has a redrive policy to a dead-letter queue, and synchronously by the API for approvals and cancel, whose failures return to the caller; never asynchronously.',
    );
    return starter;
  }

  /** A function in a VPC reaches it through network interfaces Lambda creates with the function's role. */
  private allowNetworkInterfaces(): void {
    this.role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));
    acknowledge(
      this.role,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      'Lambda attaches the function to its VPC through network interfaces it manages with this role; the AWS managed policy holds only those EC2 actions, which take no narrower resource.',
    );
  }

  private wireTriggers(agent: AgentDefinition, props: AgentFunctionProps, state: IAgentStateTable | undefined): void {
    const { api } = props;
    const bus = props.bus ?? props.team?.bus;
    const queue = this.queue;
    // A durable agent's queue feeds its starter, which starts executions; a run waits no longer than that.
    if (queue) queue.attachAgent(this.starter ?? this.alias ?? this.function, Duration.seconds(this.starter ? STARTER_TIMEOUT_SECONDS : agent.limits.timeoutSeconds), agent.name);
    const qualifier = this.alias ? DURABLE_ALIAS : undefined;
    const kinds = new Set(agent.triggers.map((t) => t.type));
    if (kinds.has('api')) api!.addInvocations(agent.name, this.function, qualifier);
    if (kinds.has('job')) {
      queue!.queue.grantSendMessages(this.function);
      api!.addJobs(agent.name, this.function, state!, qualifier);
      if (this.starter) api!.addDurableJobs(agent.name, this.starter);
    }
    // Schedules and events reach the agent through its queue, like a container's.
    queue?.addTriggers(agent, bus?.eventBus);
  }

  private acknowledgeFindings(): void {
    const xray = 'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions.';
    acknowledge(this.role, 'AwsSolutions-IAM5[Resource::*]', xray);
    acknowledge(this.role, 'Serverless-LambdaStarPermissions', xray);
    acknowledge(
      this.function,
      'Serverless-LambdaDLQ',
      this.queue
        ? 'The function is invoked synchronously or by an SQS event source mapping, whose queue has a redrive policy to a dead-letter queue; it is never invoked asynchronously.'
        : 'The function is only invoked synchronously, so failures return to the caller; it is never invoked asynchronously.',
    );
  }
}

/** Every trigger, skill and model the definition names must have the construct that serves it. */
function checkWiring(agent: AgentDefinition, props: AgentFunctionProps, state: IAgentStateTable | undefined, rolloutInput: RolloutInput | undefined): Rollout | undefined {
  const checked = checkRollout(rolloutInput);
  const problems: string[] = [...checked.problems];
  agent.triggers.forEach((t, i) => {
    if ((t.type === 'api' || t.type === 'job') && !props.api) problems.push(`triggers[${i}]: an "${t.type}" trigger needs an AgentApi (pass api)`);
    if (t.type !== 'api' && !state) problems.push(`triggers[${i}]: a "${t.type}" trigger needs an AgentStateTable (pass state, or give the AgentApi one) so a redelivered run never runs twice`);
  });
  // Approvals are given through the job routes: a durable agent that asks for them takes jobs.
  if (agent.tools.some((t) => t.approval) && !agent.triggers.some((t) => t.type === 'job')) {
    problems.push(`tools[${agent.tools.findIndex((t) => t.approval)}].approval: approvals are given on the job's route (POST /agents/${agent.name}/jobs/{jobId}/approvals), so the agent needs a "job" trigger`);
  }
  if (props.queue && props.deadLetterQueue) problems.push('(props): deadLetterQueue is for the queue this construct creates; the queue given already has its own');
  const memory = props.memorySize;
  if (memory !== undefined && !Token.isUnresolved(memory) && !(Number.isInteger(memory) && memory >= 128 && memory <= 10_240)) {
    problems.push(`memorySize: must be a whole number of MB from 128 to 10240, as Lambda allows; got ${memory}`);
  }
  const reserved = props.reservedConcurrentExecutions;
  if (reserved !== undefined && !Token.isUnresolved(reserved) && !(Number.isInteger(reserved) && reserved >= 0)) {
    problems.push(`reservedConcurrentExecutions: must be a whole number, 0 (which stops the agent) or more; got ${reserved}`);
  }
  const api = agent.triggers.findIndex((t) => t.type === 'api');
  if (api >= 0 && props.api && syncTimeoutSeconds(agent) > props.api.integrationTimeoutSeconds) {
    problems.push(
      `triggers[${api}].timeoutSeconds: a synchronous run may take ${syncTimeoutSeconds(agent)} s, longer than the API's integration timeout (${props.api.integrationTimeoutSeconds} s), so callers would get the gateway's 504 while the run goes on: lower it, or raise the AgentApi's integrationTimeout (API Gateway allows more than 29 s for Regional APIs after a quota increase)`,
    );
  }
  problems.push(...accessProblems(agent, { ...props, ...(state && { state }) }, 'function'));
  if (problems.length) throw new AgentDefinitionError(agent.name, problems);
  return checked.rollout;
}

/** Variables the team adds must not take the names the runtime reads. */
function checkExtraEnvironment(agent: string, environment: Readonly<Record<string, string>> = {}): Record<string, string> {
  const reserved = new Set<string>([AGENT_CONFIG_ENV, ...Object.values(RUNTIME_ENV)]);
  const taken = Object.keys(environment).filter((k) => reserved.has(k));
  if (taken.length) throw new AgentDefinitionError(agent, [`environment: ${taken.join(', ')} ${taken.length > 1 ? 'are' : 'is'} set by AgentFunction for the runtime`]);
  return { ...environment };
}

function checkEnvironmentSize(agent: string, environment: Record<string, string>): void {
  const size = Object.entries(environment).reduce((n, [k, v]) => n + k.length + (Token.isUnresolved(v) ? TOKEN_ESTIMATE : Buffer.byteLength(v)), 0);
  if (size > LAMBDA_ENVIRONMENT_LIMIT) {
    throw new AgentDefinitionError(agent, [
      `(definition): compressed, it takes about ${size} bytes of Lambda's ${LAMBDA_ENVIRONMENT_LIMIT}-byte environment; move reference material out of the instructions into a skill, which the agent loads only when needed`,
    ]);
  }
}
