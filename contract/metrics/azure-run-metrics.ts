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

/**
 * Every Azure agent's log lines in the Log Analytics workspace, as `timestamp` and `message`: a
 * Function App's (Application Insights traces, which a workspace-based resource keeps as
 * `AppTraces`) and a container app's console (`ContainerAppConsoleLogs`, through its
 * environment's diagnostic setting). Fuzzy, so a workspace that has yet to hold one of the two
 * still answers.
 */
export const WORKSPACE_AGENT_LINES = 'union isfuzzy=true (AppTraces | project timestamp = TimeGenerated, message = Message), (ContainerAppConsoleLogs | project timestamp = TimeGenerated, message = Log)';

/**
 * The KQL lines that keep the JSON lines of one message (the runtime's metrics line, or its audit
 * ingestion failure line) from a source of `timestamp` and `message`, parsed into `line`, with
 * their `agent` and `cohort` as columns.
 */
export function agentLines(message: string = AZURE_RUN_METRICS_MESSAGE): string[] {
  return [
    `| where message has ${JSON.stringify(message)}`,
    '| extend line = parse_json(substring(message, indexof(message, "{")))',
    `| where tostring(line.message) == ${JSON.stringify(message)}`,
    '| extend agent = tostring(line.agent), cohort = tostring(line.cohort)',
  ];
}
