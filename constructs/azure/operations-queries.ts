import { AZURE_AUDIT_INGESTION_FAILED_MESSAGE } from '../../contract/config/settings';
import { agentLines, WORKSPACE_AGENT_LINES } from '../../contract/metrics/azure-run-metrics';

/**
 * The KQL the operations layer reads the runtime's lines with, in the Log Analytics workspace:
 * the metrics line every run writes (`metrics.<Name>.value` by agent and cohort), from Function
 * Apps' traces and container apps' consoles alike, and the line an audit copy that failed leaves.
 * Alerts get one row per line with `timestamp` and the measure; the workbook adds its parameters.
 */

/** One line per run attempt: its metrics as `m`, with `agent` and `cohort`. */
const runLines = (...filters: string[]) => [WORKSPACE_AGENT_LINES, ...filters, ...agentLines(), '| extend m = line.metrics'];
const ofCohort = (cohort: string) => `| where cohort == ${JSON.stringify(cohort)}`;
/** A run attempt's line: every run writes `Runs` but one the runtime itself failed, which writes `RunFailures` alone. */
const isRun = '| where isnotnull(m.Runs) or isnotnull(m.RunFailures)';

/** The cohort's run attempts, each `failed` 1 or 0: their average over a window is the share of runs that failed. */
export function cohortFailedRunsQuery(cohort: string): string {
  return [...runLines(), ofCohort(cohort), isRun, '| project timestamp, failed = iff(toint(m.RunFailures.value) > 0, 1.0, 0.0)'].join('\n');
}

/** The cohort's final answers that failed validation, per run. */
export function cohortValidationFailuresQuery(cohort: string): string {
  return [...runLines(), ofCohort(cohort), '| where toint(m.ValidationFailures.value) > 0', '| project timestamp, validation_failures = toint(m.ValidationFailures.value)'].join('\n');
}

/** What the cohort's runs spent by the runtime's prices: all of it (`CostUsd`), or what no Azure bill shows (`ExternalCostUsd`). */
export function cohortCostQuery(cohort: string, metric: 'CostUsd' | 'ExternalCostUsd'): string {
  return [...runLines(), ofCohort(cohort), `| where todouble(m.${metric}.value) > 0`, `| project timestamp, cost_usd = todouble(m.${metric}.value)`].join('\n');
}

/** Every agent's audit records that reached Blob storage but not Log Analytics, per failed copy. */
export function auditIngestionFailuresQuery(): string {
  return [WORKSPACE_AGENT_LINES, ...agentLines(AZURE_AUDIT_INGESTION_FAILED_MESSAGE), '| project timestamp, agent, cohort, records = toint(line.records)'].join('\n');
}

/**
 * Rows the audit rule took but could not write to the table (a transform or type error, a value
 * over a limit): the rule's own error log, which its diagnostic setting sends to the workspace.
 * The runtime saw its upload accepted, so only this shows the gap.
 */
export function auditPipelineErrorsQuery(ruleId: string): string {
  return ['DCRLogErrors', `| where _ResourceId =~ ${JSON.stringify(ruleId)}`, '| summarize errors = count() by bin(TimeGenerated, 5m), OperationName'].join('\n');
}

/** The workbook's filter on its Cohort and Agent parameters (multi-select, `'*'` for all). */
const picked = "| where ('*' in ({Cohort}) or cohort in ({Cohort})) and ('*' in ({Agent}) or agent in ({Agent}))";
const inRange = '| where timestamp {TimeRange}';
const workbookRuns = (...lines: string[]) => [...runLines(inRange), picked, ...lines].join('\n');
const bin = 'bin(timestamp, {TimeRange:grain})';

/** The workbook's queries, with its parameters (`{TimeRange}`, `{TimeRange:grain}`, `{Cohort}`, `{Agent}`) to be filled in. */
export const WORKBOOK_QUERIES = {
  cohorts: [WORKSPACE_AGENT_LINES, inRange, ...agentLines(), '| distinct cohort', '| order by cohort asc'].join('\n'),
  agents: [WORKSPACE_AGENT_LINES, inRange, ...agentLines(), "| where '*' in ({Cohort}) or cohort in ({Cohort})", '| distinct agent', '| order by agent asc'].join('\n'),
  runs: workbookRuns(isRun, `| summarize runs = count(), failed = countif(toint(m.RunFailures.value) > 0) by ${bin}`),
  latency: workbookRuns(
    '| where isnotnull(m.RunLatency)',
    `| summarize p50_ms = percentile(todouble(m.RunLatency.value), 50), p90_ms = percentile(todouble(m.RunLatency.value), 90), p99_ms = percentile(todouble(m.RunLatency.value), 99) by ${bin}`,
  ),
  tokens: workbookRuns(
    `| summarize input = sum(tolong(m.InputTokens.value)), output = sum(tolong(m.OutputTokens.value)), cache_read = sum(tolong(m.CacheReadTokens.value)), cache_write = sum(tolong(m.CacheWriteTokens.value)) by ${bin}`,
  ),
  cost: workbookRuns(`| summarize cost_usd = sum(todouble(m.CostUsd.value)), outside_azure_bill_usd = sum(todouble(m.ExternalCostUsd.value)) by ${bin}`),
  fallbacks: workbookRuns(
    `| summarize model_fallbacks = sum(toint(m.ModelFallbacks.value)), validation_failures = sum(toint(m.ValidationFailures.value)), tool_denials = sum(toint(m.ToolDenials.value)) by ${bin}`,
  ),
  byAgent: workbookRuns(
    '| summarize runs = countif(isnotnull(m.Runs) or isnotnull(m.RunFailures)), failed = countif(toint(m.RunFailures.value) > 0),',
    '    p95_latency_ms = percentile(todouble(m.RunLatency.value), 95), input_tokens = sum(tolong(m.InputTokens.value)), output_tokens = sum(tolong(m.OutputTokens.value)),',
    '    cost_usd = sum(todouble(m.CostUsd.value)), outside_azure_bill_usd = sum(todouble(m.ExternalCostUsd.value)), model_fallbacks = sum(toint(m.ModelFallbacks.value))',
    '    by agent, cohort',
    '| extend failure_rate = iff(runs == 0, real(null), todouble(failed) / runs)',
    '| project agent, cohort, runs, failed, failure_rate, p95_latency_ms, input_tokens, output_tokens, cost_usd, outside_azure_bill_usd, model_fallbacks',
    '| order by cost_usd desc, agent asc',
  ),
  auditIngestion: [WORKSPACE_AGENT_LINES, inRange, ...agentLines(AZURE_AUDIT_INGESTION_FAILED_MESSAGE), picked, '| summarize failed_copies = count(), records = sum(toint(line.records)), last_failed_at = max(timestamp) by agent, cohort', '| order by last_failed_at desc'].join('\n'),
} as const;
