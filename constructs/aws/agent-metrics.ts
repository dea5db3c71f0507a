import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import type { AgentDefinition } from '../../contract/definition/define';
import { metricDimensions, METRICS_NAMESPACE, type RunMetric } from '../../contract/metrics/run-metrics';

/** One of the runtime's own metrics for `agent` (see contract/metrics), wherever it runs. */
export function agentMetric(agent: AgentDefinition, name: RunMetric, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: name, dimensionsMap: metricDimensions(agent.name, agent.cohort), statistic: 'Sum', ...props });
}

/**
 * In alarm from the first run in five minutes that ended without a valid answer, from the
 * runtime's embedded metric format lines, which CloudWatch never samples; `action` is notified.
 */
export function runFailuresAlarm(scope: Construct, agent: AgentDefinition, action?: cloudwatch.IAlarmAction): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, 'RunFailuresAlarm', {
    alarmDescription: `Runs of agent ${agent.name} ended without a valid answer`,
    metric: agentMetric(agent, 'RunFailures', { period: Duration.minutes(5) }),
    threshold: 0,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (action) alarm.addAlarmAction(action);
  return alarm;
}
