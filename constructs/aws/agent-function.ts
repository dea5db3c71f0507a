import { ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AgentDefinitionError, defineAgent, type AgentDefinition } from '../definition/define';
import { AGENT_CONFIG_ENV, encodeAgentConfig, RUNTIME_ENV, type AgentRuntimeConfig } from '../definition/encoding';
import { parseToolPolicy, type ToolPolicyInput } from '../policy/tool-policy';
import type { AgentDefinitionInput } from '../definition/schema';
import { pricesFor, resolveModel, toRuntimeTarget } from '../routing/config';
import { skillProblems } from '../skills/catalog';
import type { AgentApi } from './agent-api';
import type { AgentBus } from './agent-bus';
import type { AgentQueue } from './agent-queue';
import type { AgentStateTable } from './agent-state-table';
import type { AuditBucket } from './audit-bucket';
import { AgentRole } from './agent-role';
import { retainedLogGroup } from './defaults';
import { grantTargets, type ModelRouter } from './model-router';
import { acknowledge } from './nag';
import { RUNTIME_HANDLER, runtimeCode } from './runtime-code';
import type { SkillBucket } from './skill-bucket';

export interface AgentFunctionProps {
  /** The agent: a definition from `defineAgent`/`loadAgentFile`, or the plain object to parse. */
  readonly agent: AgentDefinition | AgentDefinitionInput;
  /**
   * Resolves the agent's model alias to targets and grants invoke on them.
   * @default none: the agent must name a Bedrock model directly
   */
  readonly router?: ModelRouter;
  /**
   * Where the agent's skills live; read is granted on those skills only.
   * @default none: the agent must list no skills
   */
  readonly skills?: SkillBucket;
  /**
   * The agent's queue, for `job`, `queue`, `schedule` and `event` triggers.
   * @default none: the agent must have only the `api` trigger
   */
  readonly queue?: AgentQueue;
  /**
   * The API that serves `api` and `job` triggers.
   * @default none: the agent must have no `api` or `job` trigger
   */
  readonly api?: AgentApi;
  /**
   * The bus the agent publishes its events to and that `event` triggers listen on.
   * @default none: events publish nowhere and `event` triggers listen on the default bus
   */
  readonly bus?: AgentBus;
  /**
   * Where job status and idempotency records live; needed by agents with queued triggers, so a
   * redelivered job never runs twice.
   * @default none: the agent must have only the `api` trigger
   */
  readonly state?: AgentStateTable;
  /**
   * Where the agent writes an audit record of every run.
   * @default none: audit records go to the function's logs only
   */
  readonly audit?: AuditBucket;
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
   * Concurrent runs reserved for (and capped at) this agent.
   * @default no reservation
   */
  readonly reservedConcurrentExecutions?: number;
}

/** Lambda allows 4 KB for all environment variables of a function together. */
export const LAMBDA_ENVIRONMENT_LIMIT = 4096;
/** What an unresolved value (an ARN or name known at deploy) is assumed to take. */
const TOKEN_ESTIMATE = 128;

/**
 * An agent on AWS Lambda running the shared runtime, configured only by its agent definition.
 * It gets its own role holding exactly what its definition needs, its own log group, active
 * tracing, and whatever triggers the definition lists.
 */
export class AgentFunction extends Construct implements iam.IGrantable {
  readonly definition: AgentDefinition;
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly grantPrincipal: iam.IPrincipal;

  constructor(scope: Construct, id: string, props: AgentFunctionProps) {
    super(scope, id);
    const agent = (this.definition = defineAgent(props.agent));
    checkWiring(agent, props);
    const route = props.router ? props.router.route(agent) : resolveModel(undefined, agent);
    const runtimeRoute = route.map(toRuntimeTarget);
    const prices = pricesFor(props.router?.policy, runtimeRoute.map((t) => t.model));
    const toolPolicy = parseToolPolicy(agent.name, props.toolPolicy);
    const config: AgentRuntimeConfig = { definition: agent, route: runtimeRoute, prices, ...(toolPolicy && { toolPolicy }) };

    this.role = new AgentRole(this, 'Role', `Runs agent ${agent.name}`);
    this.grantPrincipal = this.role;
    this.logGroup = retainedLogGroup(this, 'Logs', props.logRetention ?? logs.RetentionDays.THREE_MONTHS);

    const environment: Record<string, string> = { [AGENT_CONFIG_ENV]: encodeAgentConfig(config) };
    if (props.skills && agent.skills.length) environment[RUNTIME_ENV.skillsBucket] = props.skills.bucket.bucketName;
    if (props.bus) environment[RUNTIME_ENV.bus] = props.bus.eventBusName;
    if (props.state) environment[RUNTIME_ENV.stateTable] = props.state.tableName;
    if (props.audit) environment[RUNTIME_ENV.auditBucket] = props.audit.bucketName;
    if (props.queue) environment[RUNTIME_ENV.deadLetterQueue] = props.queue.deadLetterQueue.queueUrl;
    checkEnvironmentSize(agent.name, environment);

    this.function = new lambda.Function(this, 'Function', {
      description: `Agent ${agent.name}: ${agent.description}`.slice(0, 256),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      code: runtimeCode(Stack.of(this)),
      handler: RUNTIME_HANDLER,
      memorySize: props.memorySize ?? 1024,
      timeout: Duration.seconds(agent.limits.timeoutSeconds),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environment,
      ...(props.reservedConcurrentExecutions !== undefined && { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
    });
    this.logGroup.grantWrite(this.role);

    if (props.router) props.router.grantInvoke(this.role, agent);
    else grantTargets(this, this.role, route);
    if (props.skills && agent.skills.length) props.skills.grantRead(this.role, agent.skills);
    this.grantFunctionTools(agent);
    if (props.bus) props.bus.grantPutEvents(this.role);
    props.state?.grantAgent(this.role, agent.name);
    props.audit?.grantWrite(this.role, agent.name);
    // A job whose answer can't pass validation goes straight to the dead-letter queue, report attached.
    props.queue?.deadLetterQueue.grantSendMessages(this.role);
    this.wireTriggers(agent, props);
    this.acknowledgeFindings(agent, props);
  }

  /** The agent's name, unique in the app. */
  get agentName(): string {
    return this.definition.name;
  }

  get functionArn(): string {
    return this.function.functionArn;
  }

  /** Lets `grantee` run the agent by invoking its function directly. */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return this.function.grantInvoke(grantee);
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

  /** Function tools run by invoking their Lambda function: invoke is granted on those only. */
  private grantFunctionTools(agent: AgentDefinition): void {
    const stack = Stack.of(this);
    const arns = agent.tools.flatMap((t) =>
      t.kind !== 'function' ? [] : [t.function.startsWith('arn:') ? t.function : stack.formatArn({ service: 'lambda', resource: 'function', resourceName: t.function, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    );
    if (arns.length) iam.Grant.addToPrincipal({ grantee: this.role, actions: ['lambda:InvokeFunction'], resourceArns: [...new Set(arns)] });
  }

  private wireTriggers(agent: AgentDefinition, props: AgentFunctionProps): void {
    const { api, queue, bus } = props;
    if (queue) queue.attachAgent(this.function, Duration.seconds(agent.limits.timeoutSeconds));
    agent.triggers.forEach((trigger, i) => {
      switch (trigger.type) {
        case 'api':
          api!.addInvocations(agent.name, this.function);
          break;
        case 'job':
          api!.addJobs(agent.name, queue!, props.state!);
          break;
        case 'schedule':
          queue!.addSchedule(`Schedule${i}`, { expression: trigger.expression, input: trigger.input });
          break;
        case 'event':
          queue!.addEventRule(`Event${i}`, trigger.pattern, bus?.eventBus);
          break;
        case 'queue':
          break;
      }
    });
  }

  private acknowledgeFindings(agent: AgentDefinition, props: AgentFunctionProps): void {
    const xray = 'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions.';
    acknowledge(this.role, 'AwsSolutions-IAM5[Resource::*]', xray);
    acknowledge(this.role, 'Serverless-LambdaStarPermissions', xray);
    for (const skill of agent.skills) {
      acknowledge(
        this.role,
        `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(props.skills!.bucket.node.defaultChild as any)}.Arn>/${skill}/*]`,
        `Read is limited to the folder of skill "${skill}", whose files are listed only at deploy.`,
      );
    }
    acknowledge(
      this.function,
      'Serverless-LambdaDLQ',
      props.queue
        ? 'The function is invoked synchronously or by an SQS event source mapping, whose queue has a redrive policy to a dead-letter queue; it is never invoked asynchronously.'
        : 'The function is only invoked synchronously, so failures return to the caller; it is never invoked asynchronously.',
    );
  }
}

/** Every trigger, skill and model the definition names must have the construct that serves it. */
function checkWiring(agent: AgentDefinition, props: AgentFunctionProps): void {
  const problems: string[] = [];
  agent.triggers.forEach((t, i) => {
    if ((t.type === 'api' || t.type === 'job') && !props.api) problems.push(`triggers[${i}]: an "${t.type}" trigger needs an AgentApi (pass api)`);
    if (t.type !== 'api' && !props.queue) problems.push(`triggers[${i}]: a "${t.type}" trigger needs an AgentQueue (pass queue)`);
    if (t.type !== 'api' && !props.state) problems.push(`triggers[${i}]: a "${t.type}" trigger needs an AgentStateTable (pass state) so a redelivered run never runs twice`);
  });
  problems.push(...skillProblems(agent.skills, props.skills?.index, 'SkillBucket'));
  if (problems.length) throw new AgentDefinitionError(agent.name, problems);
}

function checkEnvironmentSize(agent: string, environment: Record<string, string>): void {
  const size = Object.entries(environment).reduce((n, [k, v]) => n + k.length + (Token.isUnresolved(v) ? TOKEN_ESTIMATE : Buffer.byteLength(v)), 0);
  if (size > LAMBDA_ENVIRONMENT_LIMIT) {
    throw new AgentDefinitionError(agent, [
      `(definition): compressed, it takes about ${size} bytes of Lambda's ${LAMBDA_ENVIRONMENT_LIMIT}-byte environment; move reference material out of the instructions into a skill, which the agent loads only when needed`,
    ]);
  }
}
