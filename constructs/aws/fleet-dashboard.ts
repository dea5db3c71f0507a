import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { cohortDimensions, metricDimensions, METRICS_NAMESPACE, type RunMetric } from '../../contract/metrics/run-metrics';

export interface FleetDashboardProps {
  /** The cohorts to alarm on, one composite alarm each; the dashboard lists every cohort that reports. */
  readonly cohorts: readonly string[];
  /** The agent the dashboard shows first; any other is picked from its Agent variable. */
  readonly firstAgent: { readonly name: string; readonly cohort: string };
  /**
   * The dead-letter queues whose depth the dashboard shows.
   * @default none
   */
  readonly deadLetterQueues?: readonly sqs.IQueue[];
  /**
   * Where each cohort's composite alarm notifies.
   * @default no action: the alarms are visible in CloudWatch only
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
  /**
   * The share of a cohort's runs that may end without a valid answer before its alarm fires
   * (over 2 of 3 five-minute periods).
   * @default 0.05
   */
  readonly maxRunFailureRate?: number;
  /**
   * The share of a cohort's answers that may fail validation before its alarm fires.
   * @default 0.05
   */
  readonly maxValidationFailureRate?: number;
  /**
   * The USD an hour a cohort's agents may spend on model providers outside the cloud's bill before
   * its alarm fires (ExternalCostUsd: Anthropic's API, OpenAI-compatible endpoints), which AWS
   * Budgets never see: one figure for every cohort, or one per cohort (a cohort not named takes
   * the default).
   * @default DEFAULT_MAX_EXTERNAL_COST_PER_HOUR (10) for every cohort
   */
  readonly maxExternalCostPerHour?: number | Readonly<Record<string, number>>;
  /**
   * Dashboards are named once per account, across regions.
   * @default the stack's name and region
   */
  readonly dashboardName?: string;
}

const PERIOD = Duration.minutes(5);

/** USD an hour a cohort may spend outside the cloud's bill before its alarm fires, unless told. */
export const DEFAULT_MAX_EXTERNAL_COST_PER_HOUR = 10;

/**
 * One dashboard for the whole fleet, however many agents: the fleet by cohort, then the cohort
 * and the agent picked from its variables (runs, failures, latency percentiles, tokens, cost,
 * fallbacks, denials), and dead-letter depth; and one composite alarm per cohort over its run
 * failure rate, validation failure rate and spend outside the cloud's bill. It reads the runtime's
 * own metrics, which every run publishes by agent and by cohort (contract/metrics).
 */
export class FleetDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  /** Each cohort's composite alarm, by cohort. */
  readonly cohortAlarms: Readonly<Record<string, cloudwatch.CompositeAlarm>>;

  constructor(scope: Construct, id: string, props: FleetDashboardProps) {
    super(scope, id);
    const where = `FleetDashboard ${this.node.path}`;
    const cohorts = [...new Set(props.cohorts)].sort();
    if (!cohorts.length) throw new Error(`${where}: cohorts must name at least one cohort`);
    const rates = { maxRunFailureRate: props.maxRunFailureRate ?? 0.05, maxValidationFailureRate: props.maxValidationFailureRate ?? 0.05 };
    for (const [field, rate] of Object.entries(rates)) if (!(rate > 0 && rate < 1)) throw new Error(`${where}: ${field} must be between 0 and 1, got ${rate}`);
    const external = props.maxExternalCostPerHour;
    if (typeof external === 'number' && !(external > 0)) throw new Error(`${where}: maxExternalCostPerHour must be more than 0, got ${external}`);
    for (const [cohort, usd] of Object.entries(typeof external === 'object' ? external : {})) {
      if (!cohorts.includes(cohort)) throw new Error(`${where}: maxExternalCostPerHour.${cohort}: not one of the cohorts (${cohorts.join(', ')})`);
      if (!(usd > 0)) throw new Error(`${where}: maxExternalCostPerHour.${cohort} must be more than 0, got ${usd}`);
    }

    const cohortMetric = (cohort: string, name: RunMetric, statistic = 'Sum', period = PERIOD) => new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: name, dimensionsMap: cohortDimensions(cohort), statistic, period });
    const first = props.firstAgent;
    const agentMetric = (name: RunMetric, statistic = 'Sum', period = PERIOD) => new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: name, dimensionsMap: metricDimensions(first.name, first.cohort), statistic, period });
    const picked = (metric: (name: RunMetric, statistic?: string, period?: Duration) => cloudwatch.Metric, who: string) => [
      graph(`${who}: runs and failures`, [metric('Runs'), metric('RunFailures'), metric('ValidationFailures')]),
      graph(`${who}: latency`, ['p50', 'p90', 'p99'].map((p) => metric('RunLatency', p).with({ label: `${p} (ms)` }))),
      graph(`${who}: tokens`, [metric('InputTokens'), metric('OutputTokens'), metric('CacheReadTokens')]),
      graph(`${who}: cost (USD an hour)`, [metric('CostUsd', 'Sum', Duration.hours(1)), metric('ExternalCostUsd', 'Sum', Duration.hours(1))]),
      graph(`${who}: fallbacks, denials, refusals`, [metric('ModelFallbacks'), metric('ToolDenials'), metric('Refusals')]),
    ];

    this.cohortAlarms = Object.fromEntries(cohorts.map((cohort) => [cohort, this.cohortAlarm(cohort, (name, statistic, period) => cohortMetric(cohort, name, statistic, period), rates, props)]));

    const search = (name: RunMetric, period = PERIOD) => new cloudwatch.MathExpression({ expression: `SEARCH('{${METRICS_NAMESPACE},cohort,service} MetricName="${name}"', 'Sum', ${period.toSeconds()})`, label: '', period });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? `${Stack.of(this).stackName}-${Stack.of(this).region}`,
      defaultInterval: Duration.days(1),
      variables: [
        // Property variables: picking a value rewrites that dimension in every widget that has it.
        new cloudwatch.DashboardVariable({ id: 'cohort', label: 'Cohort', type: cloudwatch.VariableType.PROPERTY, value: 'cohort', inputType: cloudwatch.VariableInputType.SELECT, values: cloudwatch.Values.fromSearchComponents({ namespace: METRICS_NAMESPACE, dimensions: ['cohort', 'service'], metricName: 'Runs', populateFrom: 'cohort' }), defaultValue: cloudwatch.DefaultValue.value(first.cohort) }),
        new cloudwatch.DashboardVariable({ id: 'agent', label: 'Agent (of the cohort)', type: cloudwatch.VariableType.PROPERTY, value: 'agent', inputType: cloudwatch.VariableInputType.SELECT, values: cloudwatch.Values.fromSearchComponents({ namespace: METRICS_NAMESPACE, dimensions: ['agent', 'cohort', 'service'], metricName: 'Runs', populateFrom: 'agent' }), defaultValue: cloudwatch.DefaultValue.value(first.name) }),
      ],
      widgets: [
        [new cloudwatch.TextWidget({ markdown: '## Agents\nThe fleet by cohort, then the **Cohort** and **Agent** picked above (pick the cohort first: an agent shows under its own cohort). Audit queries: Athena, workgroup of this stack; budgets: AWS Budgets, one per cohort.', width: 24, height: 2 })],
        [graph('Fleet: runs by cohort', [search('Runs')]), graph('Fleet: failed runs by cohort', [search('RunFailures')]), graph('Fleet: cost by cohort (USD an hour)', [search('CostUsd', Duration.hours(1))])],
        [new cloudwatch.AlarmStatusWidget({ title: 'Cohort alarms', alarms: Object.values(this.cohortAlarms), width: 12, height: 4 }), graph('Dead letters waiting', (props.deadLetterQueues ?? []).map((q) => q.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' })), 12)],
        picked((name, statistic, period) => cohortMetric(first.cohort, name, statistic, period), 'Cohort'),
        picked(agentMetric, 'Agent'),
      ],
    });
  }

  /** Any of the cohort's alarms: failure rate, validation failure rate, and spend outside the cloud's bill. */
  private cohortAlarm(cohort: string, metric: (name: RunMetric, statistic?: string, period?: Duration) => cloudwatch.Metric, rates: { maxRunFailureRate: number; maxValidationFailureRate: number }, props: FleetDashboardProps): cloudwatch.CompositeAlarm {
    const scope = new Construct(this, `Cohort-${cohort}`);
    const rate = (id: string, failures: RunMetric, max: number, what: string) =>
      new cloudwatch.Alarm(scope, id, {
        alarmDescription: `Over ${max * 100}% of cohort ${cohort}'s runs ${what}`,
        metric: new cloudwatch.MathExpression({ expression: 'IF(runs > 0, failures / runs, 0)', usingMetrics: { runs: metric('Runs'), failures: metric(failures) }, period: PERIOD }),
        threshold: max,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    const external = props.maxExternalCostPerHour;
    const perHour = (typeof external === 'object' ? external[cohort] : external) ?? DEFAULT_MAX_EXTERNAL_COST_PER_HOUR;
    const alarms: cloudwatch.IAlarm[] = [
      rate('RunFailureRate', 'RunFailures', rates.maxRunFailureRate, 'ended without a valid answer'),
      rate('ValidationFailureRate', 'ValidationFailures', rates.maxValidationFailureRate, 'gave answers that failed validation'),
      new cloudwatch.Alarm(scope, 'ExternalCost', {
        alarmDescription: `Cohort ${cohort} spent over ${perHour} USD in an hour on model providers outside the cloud's bill`,
        metric: metric('ExternalCostUsd', 'Sum', Duration.hours(1)),
        threshold: perHour,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
    const composite = new cloudwatch.CompositeAlarm(scope, 'Alarm', {
      alarmDescription: `Cohort ${cohort}: runs failing, answers invalid or spend outside the bill over its limit`,
      alarmRule: cloudwatch.AlarmRule.anyOf(...alarms.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM))),
    });
    // Only the composite notifies: one message per cohort incident, not one per rule.
    if (props.alarmAction) composite.addAlarmAction(props.alarmAction);
    return composite;
  }
}

const graph = (title: string, metrics: cloudwatch.IMetric[], width = 8) => new cloudwatch.GraphWidget({ title, left: metrics, width, height: 6 });
