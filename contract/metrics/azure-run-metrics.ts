import { AZURE_RUN_METRICS_MESSAGE } from '../config/settings';

/**
 * The KQL lines that keep one agent's run-metrics lines (the JSON line the Azure runtime writes
 * after each run) and parse each into `line`, after a source that gives `message` and `timestamp`:
 * the failed-run alert and the rollout's watch read the runtime's metrics the same way.
 */
export function agentRunMetricLines(agent: string): string[] {
  return [
    `| where message has ${JSON.stringify(AZURE_RUN_METRICS_MESSAGE)}`,
    // The line is JSON; whatever the host puts before it is skipped.
    '| extend line = parse_json(substring(message, indexof(message, "{")))',
    `| where tostring(line.message) == ${JSON.stringify(AZURE_RUN_METRICS_MESSAGE)} and tostring(line.agent) == ${JSON.stringify(agent)}`,
  ];
}

/** Runs, failed runs and answers that failed validation of one agent since `since`, from a Function App's traces: one row. */
export function runRatesQuery(agent: string, since: Date): string {
  return [
    'traces',
    `| where timestamp >= datetime(${since.toISOString()})`,
    ...agentRunMetricLines(agent),
    '| summarize runs = sum(toint(line.metrics.Runs.value)), failures = sum(toint(line.metrics.RunFailures.value)), invalid = sum(toint(line.metrics.ValidationFailures.value))',
  ].join('\n');
}
