import { Duration, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as agentcore from 'aws-cdk-lib/aws-bedrockagentcore';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AgentDefinitionError, defineAgent, type AgentDefinition } from '../../contract/definition/define';
import type { AgentDefinitionInput } from '../../contract/definition/schema';
import { CONTAINER_ENTRY, runtimeBundleDir } from '../bundle/runtime-bundle';
import { accessProblems, AgentAccess, type AgentAccessProps } from './agent-access';
import { AgentRole } from './agent-role';
import { acknowledge } from './nag';

export interface AgentCoreAgentProps extends AgentAccessProps {
  /** The agent, with `placement: agentcore`. */
  readonly agent: AgentDefinition | AgentDefinitionInput;
  /**
   * How long an idle session is kept before AgentCore ends it.
   * @default 15 minutes
   */
  readonly idleSessionTimeout?: Duration;
  /**
   * How long the application logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/** AgentCore Runtime's limit on one environment variable's value. */
const AGENTCORE_ENV_VALUE_LIMIT = 2048;

/**
 * An agent on Amazon Bedrock AgentCore Runtime (`placement: agentcore`): the runtime bundle its
 * function would run, deployed as a code asset on Node 22 (no Docker), whose container entry serves
 * AgentCore's HTTP contract. Callers reach it with IAM-signed `InvokeAgentRuntime` requests (grant
 * them with `grantInvoke`); the session runs with the agent's own execution role, holding the grants
 * AgentFunction would give it, through the same path. Application logs go to a `/aws/vendedlogs/`
 * group, which the log delivery service writes without a log resource policy, so a fleet of
 * runtimes never spends the account's ten policies per region.
 */
export class AgentCoreAgent extends Construct implements iam.IGrantable {
  readonly definition: AgentDefinition;
  readonly role: AgentRole;
  readonly grantPrincipal: iam.IPrincipal;
  readonly runtime: agentcore.Runtime;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AgentCoreAgentProps) {
    super(scope, id);
    const agent = (this.definition = defineAgent(props.agent));
    const access = new AgentAccess(this, agent, props);
    checkAgentCore(agent, props, access.environment);
    this.role = new AgentRole(this, 'Role', `Runs agent ${agent.name} on AgentCore Runtime`, 'bedrock-agentcore.amazonaws.com', agent.name);
    this.grantPrincipal = this.role;
    const name = runtimeName(this, agent.name);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/bedrock-agentcore/${name}`,
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.runtime = new agentcore.Runtime(this, 'Runtime', {
      runtimeName: name,
      description: `Agent ${agent.name}: ${agent.description}`.slice(0, 1200),
      agentRuntimeArtifact: agentcore.AgentRuntimeArtifact.fromCodeAsset({ path: runtimeBundleDir('aws'), runtime: agentcore.AgentCoreRuntime.NODE_22, entrypoint: [CONTAINER_ENTRY] }),
      executionRole: this.role,
      authorizerConfiguration: agentcore.RuntimeAuthorizerConfiguration.usingIAM(),
      environmentVariables: access.environment,
      lifecycleConfiguration: { idleRuntimeSessionTimeout: props.idleSessionTimeout ?? Duration.minutes(15), maxLifetime: Duration.seconds(agent.limits.timeoutSeconds) },
      loggingConfigs: [{ logType: agentcore.LogType.APPLICATION_LOGS, destination: agentcore.LoggingDestination.cloudWatchLogs(this.logGroup) }],
      manageDeliveryResourcePolicy: false,
    });
    access.attach(this);
    this.acknowledgeRuntimeGrants();
  }

  /** What the AgentCore Runtime construct grants the execution role itself, as AgentCore requires of it. */
  private acknowledgeRuntimeGrants(): void {
    const stack = Stack.of(this);
    const runtimeLogs = 'AgentCore Runtime writes each session\'s logs under /aws/bedrock-agentcore/runtimes/, in groups and streams named after the runtime id it assigns at creation; DescribeLogGroups takes no narrower resource.';
    for (const resource of ['/aws/bedrock-agentcore/runtimes/*', '*', '/aws/bedrock-agentcore/runtimes/*:log-stream:*']) {
      acknowledge(this.role, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:${stack.region}:${stack.account}:log-group:${resource}]`, runtimeLogs);
    }
    acknowledge(this.role, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray segments and CloudWatch metrics (limited to the bedrock-agentcore namespace by condition), which AgentCore Runtime sends with the execution role, support no resource-level permissions.');
    acknowledge(
      this.role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock-agentcore:${stack.region}:${stack.account}:workload-identity-directory/default/workload-identity/*]`,
      'AgentCore Runtime gets the session\'s workload access token for the workload identity it creates for the runtime, named at creation.',
    );
    const asset = 'Reads the runtime bundle that CDK uploads to the bootstrap assets bucket, the code AgentCore Runtime starts; S3 grant action groups as aws-cdk-lib writes them, on that bucket only.';
    for (const action of ['s3:GetObject*', 's3:GetBucket*', 's3:List*']) acknowledge(this.role, `AwsSolutions-IAM5[Action::${action}]`, asset);
    acknowledge(this.role, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-${stack.account}-${stack.region}/*]`, asset);
  }

  /** Lets `grantee` run the agent: InvokeAgentRuntime on this runtime, signed with IAM. */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['bedrock-agentcore:InvokeAgentRuntime'], resourceArns: [this.runtime.agentRuntimeArn, `${this.runtime.agentRuntimeArn}/*`] });
  }

  get agentName(): string {
    return this.definition.name;
  }
}

/**
 * The runtime's name under AgentCore's rule (a letter, then letters, digits and underscores, at
 * most 48): the agent's name with hyphens as underscores, after the stack's, unique in the account.
 */
export function runtimeName(scope: Construct, agent: string): string {
  const stack = Stack.of(scope).stackName;
  const base = `${Token.isUnresolved(stack) ? '' : stack.replace(/[^A-Za-z0-9]/g, '')}_${agent.replace(/-/g, '_')}`.replace(/^[^A-Za-z]+/, '');
  if (base.length <= 48) return base;
  // Too long: shortened, with a digest of the whole so two agents never share a name.
  return `${base.slice(0, 39)}_${Names.uniqueResourceName(scope, { maxLength: 255 }).slice(-8)}`.replace(/[^A-Za-z0-9_]/g, '');
}

function checkAgentCore(agent: AgentDefinition, props: AgentCoreAgentProps, environment: Readonly<Record<string, string>>): void {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(environment)) {
    if (!Token.isUnresolved(value) && value.length > AGENTCORE_ENV_VALUE_LIMIT) {
      problems.push(`(definition): encoded, it takes ${value.length} characters of ${name}, and AgentCore Runtime takes at most ${AGENTCORE_ENV_VALUE_LIMIT} per environment variable; move reference material out of the instructions into a skill`);
    }
  }
  problems.push(...accessProblems(agent, props, 'agentcore'));
  if (problems.length) throw new AgentDefinitionError(agent.name, problems);
}
