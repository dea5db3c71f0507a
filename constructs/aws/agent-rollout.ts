import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct, type IConstruct } from 'constructs';
import type { AgentDefinition } from '../../contract/definition/define';
import { parseRollout, type GradualRollout, type RolloutInput } from '../../contract/delivery/rollout';
import { agentMetric } from './agent-metrics';
import { acknowledgeGrantedWildcards } from './nag';

/** CodeDeploy's predefined Lambda configuration for each step the rollout setting offers. */
const CONFIGS: Record<string, codedeploy.ILambdaDeploymentConfig> = {
  'canary-10-5': codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
  'canary-10-10': codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_10MINUTES,
  'canary-10-15': codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_15MINUTES,
  'canary-10-30': codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_30MINUTES,
  'linear-10-1': codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTE,
  'linear-10-2': codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_2MINUTES,
  'linear-10-3': codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_3MINUTES,
  'linear-10-10': codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_10MINUTES,
};

/** The predefined configuration a gradual rollout uses. */
export const deploymentConfigOf = (rollout: GradualRollout): codedeploy.ILambdaDeploymentConfig => CONFIGS[`${rollout.strategy}-${rollout.percent}-${rollout.minutes}`]!;

/**
 * How many agents of one stack shift traffic at a time when a deploy changes all of them at once
 * (a new shared runtime): more wait for a lane to finish, so a bad runtime is rolled back after a
 * few agents took it instead of hundreds.
 */
export const DEFAULT_CONCURRENT_ROLLOUTS = 10;

const defaults = new WeakMap<IConstruct, RolloutInput>();

export interface AgentRolloutProps {
  readonly agent: AgentDefinition;
  /** The agent's function and the alias every trigger reaches it through. */
  readonly function: lambda.Function;
  readonly alias: lambda.Alias;
  readonly rollout: GradualRollout;
}

/**
 * The gradual rollout of one agent: a CodeDeploy deployment group that shifts its alias to each
 * newly published version by a predefined canary or linear configuration, and rolls back when one
 * of three alarms fires during the shift: the alias's function errors (a crash), the share of runs
 * that ended without a valid answer, and the share of final answers that failed the output
 * contract (a quality gate, not only a crash gate). Agents of a stack share one CodeDeploy
 * application and one service role, whose grants name each agent's function.
 */
export class AgentRollout extends Construct {
  /**
   * Every agent under `scope` (a stack, a stage, the app) that has no rollout of its own deploys
   * this way; the nearest scope's setting wins.
   */
  static setDefault(scope: IConstruct, rollout: RolloutInput): void {
    parseRollout(rollout, scope.node.path || 'the app');
    defaults.set(scope, rollout);
  }

  /** The rollout set for `scope` or the nearest scope above it. */
  static defaultFor(scope: IConstruct): RolloutInput | undefined {
    for (const s of [...scope.node.scopes].reverse()) if (defaults.has(s)) return defaults.get(s);
    return undefined;
  }

  /** Sets how many of `stack`'s agents shift at a time (DEFAULT_CONCURRENT_ROLLOUTS unless set), before its agents are added. */
  static setConcurrency(stack: Stack, lanes: number): void {
    if (!(Number.isInteger(lanes) && lanes >= 1)) throw new Error(`${stack.node.path}: concurrent rollouts must be a whole number from 1; got ${lanes}`);
    StackRollouts.of(stack).lanes = lanes;
  }

  readonly deploymentGroup: codedeploy.LambdaDeploymentGroup;
  /** In alarm when the alias's invocations fail (an uncaught error, a timeout). */
  readonly errorsAlarm: cloudwatch.Alarm;
  /** In alarm when more than `maxRunFailureRate` of runs end without a valid answer. */
  readonly runFailureRateAlarm: cloudwatch.Alarm;
  /** In alarm when more than `maxValidationFailureRate` of final answers fail the output contract. */
  readonly validationFailureRateAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AgentRolloutProps) {
    super(scope, id);
    const { agent, rollout, alias } = props;
    const minute = { period: Duration.minutes(1) };
    this.errorsAlarm = new cloudwatch.Alarm(this, 'Errors', {
      alarmDescription: `Agent ${agent.name}: its function failed while a new version took traffic`,
      metric: alias.metricErrors({ ...minute, statistic: 'Sum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.runFailureRateAlarm = rateAlarm(this, 'RunFailureRate', agent, 'RunFailures', rollout.maxRunFailureRate, 'of runs ended without a valid answer');
    this.validationFailureRateAlarm = rateAlarm(this, 'ValidationFailureRate', agent, 'ValidationFailures', rollout.maxValidationFailureRate, 'of final answers failed the output contract');
    const alarms = [this.errorsAlarm, this.runFailureRateAlarm, this.validationFailureRateAlarm];

    const shared = StackRollouts.of(Stack.of(this));
    shared.grant(props.function, alarms);
    this.deploymentGroup = new codedeploy.LambdaDeploymentGroup(this, 'Deployment', {
      application: shared.application,
      alias,
      deploymentConfig: deploymentConfigOf(rollout),
      alarms,
      // Immutable, so the group adds no AWS managed policy: the shared role holds exactly its grants.
      role: shared.serviceRole,
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
    });
    // The group is given the role by ARN (so it adds no managed policy): wait for the role's grants explicitly.
    this.deploymentGroup.node.addDependency(shared.role);
    shared.enqueue(alias);
  }
}

/** The share `part`/`Runs` over a minute, in alarm above `max` in 2 of 3 minutes; no runs is no data. */
function rateAlarm(scope: Construct, id: string, agent: AgentDefinition, part: 'RunFailures' | 'ValidationFailures', max: number, what: string): cloudwatch.Alarm {
  const period = Duration.minutes(1);
  return new cloudwatch.Alarm(scope, id, {
    alarmDescription: `Agent ${agent.name}: more than ${max * 100}% ${what} while a new version took traffic`,
    metric: new cloudwatch.MathExpression({
      expression: 'IF(runs > 0, part / runs, 0)',
      usingMetrics: { part: agentMetric(agent, part, { period }), runs: agentMetric(agent, 'Runs', { period }) },
      period,
      label: `${part} per run`,
    }),
    threshold: max,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

const ROLLOUT_VERSIONS_REASON =
  "CodeDeploy reads the provisioned concurrency of the version it shifts the alias to, and a deploy publishes a new version: :* names this function's versions and aliases, and no other function's.";

/**
 * What the gradual rollouts of one stack share: the CodeDeploy application, the service role, and
 * the lanes that keep at most `lanes` of the stack's agents shifting at once (each alias waits for
 * the one `lanes` places before it, which CloudFormation holds until that deployment has finished).
 */
class StackRollouts extends Construct {
  static of(stack: Stack): StackRollouts {
    return (stack.node.tryFindChild('AgentRollouts') as StackRollouts | undefined) ?? new StackRollouts(stack, 'AgentRollouts');
  }

  readonly application: codedeploy.LambdaApplication;
  readonly serviceRole: iam.IRole;
  lanes = DEFAULT_CONCURRENT_ROLLOUTS;
  /** The service role and its grants, which a deployment group must wait for. */
  readonly role: iam.Role;
  private readonly aliases: lambda.Alias[] = [];

  private constructor(scope: Stack, id: string) {
    super(scope, id);
    this.application = new codedeploy.LambdaApplication(this, 'Application');
    this.role = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('codedeploy.amazonaws.com'),
      description: `Shifts the agents of ${scope.stackName} to new versions, watching their alarms`,
    });
    this.serviceRole = iam.Role.fromRoleArn(this, 'ServiceRoleRef', this.role.roleArn, { mutable: false });
  }

  /** The role may move `fn`'s alias and read `alarms`, and nothing of any other agent. */
  grant(fn: lambda.Function, alarms: readonly cloudwatch.Alarm[]): void {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:GetAlias', 'lambda:UpdateAlias', 'lambda:GetProvisionedConcurrencyConfig'], resources: [fn.functionArn, `${fn.functionArn}:*`] }),
    );
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: alarms.map((a) => a.alarmArn) }));
    acknowledgeGrantedWildcards(this.role, [`${fn.functionArn}:*`], ROLLOUT_VERSIONS_REASON);
  }

  enqueue(alias: lambda.Alias): void {
    const ahead = this.aliases[this.aliases.length - this.lanes];
    if (ahead) alias.node.addDependency(ahead);
    this.aliases.push(alias);
  }
}
