import { Duration, Token } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CONTAINER_ENV, RUNTIME_ENV } from '../../contract/config/settings';
import { AgentDefinitionError, defineAgent, type AgentDefinition } from '../../contract/definition/define';
import type { AgentDefinitionInput } from '../../contract/definition/schema';
import type { RunMetric } from '../../contract/metrics/run-metrics';
import { agentMetric, runFailuresAlarm } from './agent-metrics';
import { containerContextDir, HEALTH_CHECK_COMMAND } from '../bundle/container-image';
import { accessProblems, AgentAccess, type AgentAccessProps } from './agent-access';
import { AgentQueue } from './agent-queue';
import { AgentRole } from './agent-role';
import type { IDeadLetterQueue } from './dead-letter-queue';
import { retainedLogGroup } from './defaults';
import { acknowledge } from './nag';

export interface AgentContainerProps extends AgentAccessProps {
  /** The agent, with `placement: container`: a definition from `defineAgent`/`loadAgentFile`, or the plain object to parse. */
  readonly agent: AgentDefinition | AgentDefinitionInput;
  /**
   * The agent's queue, which its containers consume.
   * @default a new AgentQueue
   */
  readonly queue?: AgentQueue;
  /**
   * Where the queue this construct creates sends messages that failed every delivery.
   * @default a new DeadLetterQueue for the agent's queue alone
   */
  readonly deadLetterQueue?: IDeadLetterQueue;
  /**
   * The ECS cluster the agent's service runs in; share one among the container agents of a stack.
   * @default a new cluster, with Container Insights, in `vpc`
   */
  readonly cluster?: ecs.ICluster;
  /**
   * The VPC the tasks run in, when no cluster is given.
   * @default a minimal VPC: two public subnets and no NAT gateway (see below)
   */
  readonly vpc?: ec2.IVpc;
  /**
   * The subnets of the tasks. In subnets without a route to the internet (no NAT gateway, no
   * public IP), the tasks need VPC endpoints for every service the agent reaches.
   * @default the VPC's private subnets; in a VPC that has none (such as the one this construct
   * creates), its public subnets, each task with a public IP and a security group that admits nothing
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * vCPU units of one task (1024 = one vCPU), in a combination with `memoryLimitMiB` that Fargate offers.
   * @default 1024
   */
  readonly cpu?: number;
  /**
   * Memory of one task, in MiB.
   * @default 2048
   */
  readonly memoryLimitMiB?: number;
  /**
   * Tasks at most; the service scales between zero and this on the queue's depth.
   * @default 10
   */
  readonly maxTasks?: number;
  /**
   * Messages one task runs at once; also how many waiting messages each task is counted for when scaling.
   * @default 4
   */
  readonly messagesPerTask?: number;
  /**
   * Runs tasks on Fargate Spot, at up to 70% less; a task Spot reclaims gets two minutes' notice
   * (SIGTERM), hands its runs back to the queue and another task takes them. A cluster given must
   * offer the FARGATE_SPOT capacity provider (those of agentCluster, or an ecs.Cluster, do).
   * @default false
   */
  readonly spot?: boolean;
  /**
   * The Node image the container is built on. Pin a digest (`...@sha256:...`) to build the same bytes every time.
   * @default NODE_BASE_IMAGE, a patch release of Node 24 on Debian slim
   */
  readonly baseImage?: string;
  /**
   * How long the containers' logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The customer managed key the log group is encrypted with.
   * @default CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * Notified when a run fails: the alarm on the runtime's `RunFailures` metric for this agent.
   * @default no action
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
}

/** How long ECS waits after SIGTERM before it kills a container: Fargate's most. */
const STOP_TIMEOUT_SECONDS = 120;
/** What the host keeps back from the stop timeout: a long poll under way (20 s), handing back, and exiting. */
const STOP_MARGIN_SECONDS = 30;

/** vCPU units and the memory (MiB) Fargate allows with each. */
const FARGATE_SIZES: Readonly<Record<number, readonly [number, number, number]>> = {
  256: [512, 2048, 1024],
  512: [1024, 4096, 1024],
  1024: [2048, 8192, 1024],
  2048: [4096, 16384, 1024],
  4096: [8192, 30720, 1024],
  8192: [16384, 61440, 4096],
  16384: [32768, 122880, 8192],
};

/**
 * An agent in containers on ECS Fargate (roadmap stage 3), for long, memory-hungry or steady work:
 * the same runtime bundle its function would run, built into an image (synth only stages the
 * context), with exactly the grants AgentFunction would give it through the same path. Its tasks
 * take work from the agent's queue and scale on the queue's depth, down to zero when the queue is
 * empty and nothing runs: the first message after idle waits for the scaling alarm (1-3 minutes,
 * as SQS reports its metrics each minute) and a task's start (about 30-60 s to pull and start the
 * image). A deploy that fails its health checks rolls back (circuit breaker). No inbound traffic
 * reaches the tasks: their security group admits nothing.
 */
export class AgentContainer extends Construct implements iam.IGrantable {
  readonly definition: AgentDefinition;
  readonly role: AgentRole;
  readonly grantPrincipal: iam.IPrincipal;
  readonly queue: AgentQueue;
  readonly cluster: ecs.ICluster;
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly logGroup: logs.LogGroup;
  readonly securityGroup: ec2.SecurityGroup;
  /** In alarm from the first run in five minutes that ended without a valid answer. */
  readonly runFailuresAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AgentContainerProps) {
    super(scope, id);
    const agent = (this.definition = defineAgent(props.agent));
    checkContainer(agent, props);
    const access = new AgentAccess(this, agent, props);
    this.role = new AgentRole(this, 'Role', `Runs agent ${agent.name} in containers`, 'ecs-tasks.amazonaws.com', agent.name);
    this.grantPrincipal = this.role;
    this.logGroup = retainedLogGroup(this, 'Logs', props.logRetention ?? logs.RetentionDays.THREE_MONTHS, props.logEncryptionKey);
    this.queue = props.queue ?? new AgentQueue(this, 'Queue', { ...(props.deadLetterQueue && { deadLetterQueue: props.deadLetterQueue }) });
    this.cluster = props.cluster ?? agentCluster(this, 'Cluster', props.vpc);
    // Spot is a capacity provider, which the cluster must offer (agentCluster's do).
    if (props.spot && this.cluster instanceof ecs.Cluster) this.cluster.enableFargateCapacityProviders();

    const perTask = props.messagesPerTask ?? 4;
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu ?? 1024,
      memoryLimitMiB: props.memoryLimitMiB ?? 2048,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      taskRole: this.role,
    });
    this.taskDefinition.addContainer('Agent', {
      containerName: 'agent',
      image: ecs.ContainerImage.fromAsset(containerContextDir('aws', props.baseImage), { platform: Platform.LINUX_ARM64 }),
      environment: {
        ...access.environment,
        [RUNTIME_ENV.queueUrl]: this.queue.queue.queueUrl,
        [RUNTIME_ENV.queueMaxReceives]: String(this.queue.maxReceiveCount),
        [CONTAINER_ENV.concurrency]: String(perTask),
        [CONTAINER_ENV.graceSeconds]: String(STOP_TIMEOUT_SECONDS - STOP_MARGIN_SECONDS),
      },
      // The driver grants the execution role its writes to the group.
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'agent', logGroup: this.logGroup }),
      healthCheck: { command: ['CMD', ...HEALTH_CHECK_COMMAND], interval: Duration.seconds(30), timeout: Duration.seconds(5), retries: 3, startPeriod: Duration.seconds(10) },
      stopTimeout: Duration.seconds(STOP_TIMEOUT_SECONDS),
      readonlyRootFilesystem: true,
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'TaskSecurity', {
      vpc: this.cluster.vpc,
      // EC2 takes only a few punctuation marks in a description: no apostrophes.
      description: `Tasks of agent ${agent.name}: no inbound traffic; outbound to AWS APIs, model providers and tools`,
      allowAllOutbound: true,
    });
    // A VPC without private subnets (the minimal one): public subnets, a public IP, nothing inbound.
    const publicOnly = this.cluster.vpc.privateSubnets.length === 0;
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      securityGroups: [this.securityGroup],
      assignPublicIp: publicOnly,
      vpcSubnets: props.vpcSubnets ?? { subnetType: publicOnly ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS },
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      // On demand: Fargate's launch type, which needs no capacity provider on the cluster.
      ...(props.spot && { capacityProviderStrategies: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }] }),
    });
    this.scaleOnQueueDepth(props.maxTasks ?? 10, perTask);

    this.queue.attachContainer(this, this, Duration.seconds(agent.limits.timeoutSeconds), agent.name);
    access.attach(this, { queue: this.queue });
    this.queue.addTriggers(agent, access.bus?.eventBus);
    this.acknowledgeFindings();
    this.runFailuresAlarm = runFailuresAlarm(this, agent, props.alarmAction);
  }

  /** The agent's name, unique in the app. */
  get agentName(): string {
    return this.definition.name;
  }

  /** Any of the runtime's own metrics for this agent (see contract/metrics). */
  metric(name: RunMetric, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return agentMetric(this.definition, name, props);
  }

  /**
   * Tasks follow the messages waiting or under way (visible plus in flight, so a scale-in never
   * counts a running job as done): none when there are none, one per `perTask` messages up to
   * `maxTasks`. Exact capacities, so a repeated alarm never adds tasks beyond what the queue needs.
   */
  private scaleOnQueueDepth(maxTasks: number, perTask: number): void {
    const scaling = this.service.autoScaleTaskCount({ minCapacity: 0, maxCapacity: maxTasks });
    const period = Duration.minutes(1);
    const depth = new cloudwatch.MathExpression({
      expression: 'waiting + running',
      usingMetrics: {
        waiting: this.queue.metricBacklog({ statistic: 'Maximum', period }),
        running: this.queue.metricInFlight({ statistic: 'Maximum', period }),
      },
      label: `Messages of agent ${this.definition.name} waiting or under way`,
      period,
    });
    // 1, 2, 4, ... tasks up to maxTasks: few steps, however large the fleet.
    const counts: number[] = [];
    for (let tasks = 1; tasks < maxTasks; tasks *= 2) counts.push(tasks);
    counts.push(maxTasks);
    const steps: appscaling.ScalingInterval[] = [{ upper: 1, change: 0 }];
    let lower = 1;
    counts.forEach((tasks, i) => {
      steps.push(i === counts.length - 1 ? { lower, change: tasks } : { lower, upper: tasks * perTask + 1, change: tasks });
      lower = tasks * perTask + 1;
    });
    scaling.scaleOnMetric('QueueDepth', { metric: depth, scalingSteps: steps, adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY, cooldown: Duration.seconds(60) });
  }

  private acknowledgeFindings(): void {
    acknowledge(
      this.taskDefinition,
      'AwsSolutions-ECS2',
      "The environment holds the agent's configuration (its definition, model route, prices) and the names of its queue, table, bus, bucket: no secret; model keys stay in Secrets Manager, read at run time with the task role.",
    );
    acknowledge(
      this.taskDefinition.obtainExecutionRole(),
      'AwsSolutions-IAM5[Resource::*]',
      'ECR GetAuthorizationToken, which pulls the image, supports no resource-level permissions; the pull itself is limited to the asset repository.',
    );
  }
}

/**
 * An ECS cluster for container agents, with Container Insights; share one among the container
 * agents of a stack (pass it as `cluster`). In `vpc`, or else a minimal VPC (`${id}Vpc`): two
 * public subnets and no NAT gateway, where a task gets a public IP to reach AWS APIs, the model
 * providers and the agent's tools, and its security group admits nothing inbound. A NAT gateway
 * (about 32 USD a month per zone, plus data) would only hide the tasks' addresses; give a VPC with
 * private subnets and NAT, or VPC endpoints, when a policy requires it. Flow logs record rejected
 * traffic.
 */
export function agentCluster(scope: Construct, id: string, vpc?: ec2.IVpc): ecs.Cluster {
  return new ecs.Cluster(scope, id, {
    vpc:
      vpc ??
      new ec2.Vpc(scope, `${id}Vpc`, {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [{ name: 'tasks', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
        flowLogs: { FlowLog: { trafficType: ec2.FlowLogTrafficType.REJECT } },
      }),
    containerInsightsV2: ecs.ContainerInsights.ENABLED,
    // So its agents may run on Spot.
    enableFargateCapacityProviders: true,
  });
}

/** A container agent must be placed in one, with a task size Fargate offers. */
function checkContainer(agent: AgentDefinition, props: AgentContainerProps): void {
  const problems: string[] = [];
  const cpu = props.cpu ?? 1024;
  const memory = props.memoryLimitMiB ?? 2048;
  if (!Token.isUnresolved(cpu) && !Token.isUnresolved(memory)) {
    const size = FARGATE_SIZES[cpu];
    if (!size) problems.push(`cpu: Fargate offers ${Object.keys(FARGATE_SIZES).join(', ')} vCPU units; got ${cpu}`);
    else if (memory < size[0] || memory > size[1] || (memory - size[0]) % size[2] !== 0) problems.push(`memoryLimitMiB: with ${cpu} vCPU units Fargate offers ${size[0]}-${size[1]} MiB in steps of ${size[2]}; got ${memory}`);
  }
  const max = props.maxTasks ?? 10;
  if (!(Number.isInteger(max) && max >= 1 && max <= 1000)) problems.push(`maxTasks: must be a whole number from 1 to 1000; got ${max}`);
  const per = props.messagesPerTask ?? 4;
  if (!(Number.isInteger(per) && per >= 1 && per <= 10)) problems.push(`messagesPerTask: must be a whole number from 1 to 10 (one SQS receive at most); got ${per}`);
  if (props.queue && props.deadLetterQueue) problems.push('(props): deadLetterQueue is for the queue this construct creates; the queue given already has its own');
  if (!props.state) problems.push('state: a container agent needs an AgentStateTable (pass state) so a redelivered message never runs twice');
  problems.push(...accessProblems(agent, props, 'container'));
  if (problems.length) throw new AgentDefinitionError(agent.name, problems);
}
