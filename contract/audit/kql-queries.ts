import { AUDIT_LOGS_TABLE, logAnalyticsColumnName } from './log-analytics';

/**
 * The standard questions (queries.ts) in KQL, over the audit table in Log Analytics
 * (log-analytics.ts): the saved searches on Azure, one per SQL query, under the same name and in
 * the same order, answering the same question with the same columns.
 *
 * How they map:
 * - Each SQL `?` is a KQL `let` at the top of the query, in the same order and with the same
 *   description, holding a default the query runs with as saved (the last seven days; the latest
 *   chain of agents). To ask for other values, edit the `let` lines before running it.
 * - The day range is read from the `day` column as in SQL, inclusive (`strcmp`, since KQL
 *   compares strings only for equality), after a filter on `TimeGenerated` (a record's start, or
 *   its ingestion when that was later) that lets Log Analytics skip older data.
 * - `COUNT(DISTINCT ...)` is `count_distinct` (exact, as SQL's; `dcount` estimates), `CROSS JOIN
 *   UNNEST` is `mv-expand` followed by dropping empty values, `LIMIT` is `take` (after `order by`,
 *   the first rows in that order; KQL's `top` sorts by one column only).
 * - The column `type` is `record_type` in the table (Log Analytics reserves `Type`); struct fields
 *   keep the JSON's spelling (`usage.inputTokens`, where Athena lower-cases them).
 */
export interface AuditKqlParameter {
  /** The `let` name. */
  readonly name: string;
  /** What it stands for: the SQL query's description of the `?` in the same place. */
  readonly description: string;
  /** The KQL expression the saved query runs with until someone edits it. */
  readonly default: string;
}

export interface AuditKqlQuery {
  /** The SQL query's name (AUDIT_QUERIES), and the saved search's. */
  readonly name: string;
  /** The question it answers, as the SQL query's. */
  readonly question: string;
  /** Its `let` parameters, in the order of the SQL query's `?`. */
  readonly parameters: readonly AuditKqlParameter[];
  /** The query after the `let` lines, over `table`. */
  body(table: string): string;
}

const type = logAnalyticsColumnName('type');
const DAYS: readonly AuditKqlParameter[] = [
  { name: 'first_day', description: 'first day (YYYY-MM-DD)', default: 'format_datetime(ago(6d), "yyyy-MM-dd")' },
  { name: 'last_day', description: 'last day (YYYY-MM-DD)', default: 'format_datetime(now(), "yyyy-MM-dd")' },
];
const inDays = 'TimeGenerated >= todatetime(first_day) and strcmp(day, first_day) >= 0 and strcmp(day, last_day) <= 0';

export const AUDIT_KQL_QUERIES: readonly AuditKqlQuery[] = [
  {
    name: 'cost-by-agent-cohort-day',
    question: 'What did each agent and cohort spend, in tokens and dollars, each day?',
    parameters: DAYS,
    body: (t) => `${t}
| where ${type} == "run" and ${inDays}
| summarize runs = count_distinct(run_id), attempts = count(),
    cost_usd = sum(cost_usd), input_tokens = sum(tolong(usage.inputTokens)), output_tokens = sum(tolong(usage.outputTokens)),
    cache_read_tokens = sum(tolong(usage.cacheReadTokens)), cache_write_tokens = sum(tolong(usage.cacheWriteTokens))
    by day, agent, cohort
| order by day asc, agent asc`,
  },
  {
    name: 'cost-per-successful-task',
    question: 'What did each agent cost per task it completed with a valid answer?',
    parameters: DAYS,
    // Every attempt's cost counts, failed ones too: that is what the successes cost.
    body: (t) => `${t}
| where ${type} == "run" and ${inDays}
| summarize runs = count_distinct(run_id), succeeded = count_distinctif(run_id, outcome == "succeeded"), cost_usd = sum(cost_usd) by agent, cohort
| extend cost_per_success_usd = iff(succeeded == 0, real(null), cost_usd / succeeded)
| order by cost_per_success_usd desc nulls last, agent asc`,
  },
  {
    name: 'failed-runs',
    question: 'Which runs ended without a valid answer, and why?',
    parameters: DAYS,
    // SQL's `<>` leaves out records without an outcome (schema version 1); so does isnotempty.
    body: (t) => `${t}
| where ${type} == "run" and isnotempty(outcome) and outcome != "succeeded" and ${inDays}
| project started_at, agent, run_id, attempt, outcome, stop_reason, error, validation_failures, steps, cost_usd
| order by started_at desc, run_id asc
| take 500`,
  },
  {
    name: 'validation-failures-by-rule',
    question: 'Which checks of the output contract do answers fail, repaired or not?',
    parameters: DAYS,
    // Step records hold every answer checked, the ones a repair fixed included.
    body: (t) => `${t}
| where ${type} == "step" and ${inDays}
| mv-expand failure = validation_failures to typeof(string)
| where isnotempty(failure)
| summarize answers = count(), runs = count_distinct(run_id) by agent, failure
| order by answers desc, agent asc, failure asc`,
  },
  {
    name: 'tool-denials',
    question: 'Which tools did agents ask for that their cohort\'s policy denied?',
    parameters: DAYS,
    body: (t) => `${t}
| where ${type} == "step" and ${inDays}
| mv-expand tool = denied_tools to typeof(string)
| where isnotempty(tool)
| summarize denials = count(), runs = count_distinct(run_id), last_denied_at = max(todatetime(started_at)) by agent, tool
| order by denials desc, agent asc, tool asc`,
  },
  {
    name: 'model-fallbacks',
    question: 'Which model targets failed, and which target answered instead?',
    parameters: DAYS,
    body: (t) => `${t}
| where ${type} == "step" and ${inDays}
| mv-expand failed_target = failed_targets to typeof(string)
| where isnotempty(failed_target)
| summarize steps = count(), runs = count_distinct(run_id) by agent, failed_target, answered_by
| order by steps desc, agent asc, failed_target asc`,
  },
  {
    name: 'slowest-runs',
    question: 'Which runs took longest?',
    parameters: DAYS,
    body: (t) => `${t}
| where ${type} == "run" and ${inDays}
| project started_at, agent, run_id, attempt, duration_ms, steps, stop_reason, outcome, cost_usd
| order by duration_ms desc, run_id asc
| take 50`,
  },
  {
    name: 'conversation-chain',
    question: 'What did each agent of a multi-agent conversation do, in order?',
    parameters: [
      {
        name: 'correlation',
        description: 'correlation id (the run id of the run that started the chain)',
        // As saved: the chain a run most recently joined.
        default: `toscalar(${AUDIT_LOGS_TABLE} | where ${type} == "run" and isnotempty(chain) | top 1 by TimeGenerated desc | project correlation_id)`,
      },
      ...DAYS,
    ],
    body: (t) => `${t}
| where ${type} == "run" and correlation_id == correlation and ${inDays}
| extend hop = coalesce(tolong(chain.hop), 0), parent_agent = tostring(chain.parentAgent), ['kind'] = tostring(chain.kind)
| project hop, agent, run_id, attempt, parent_agent, ['kind'], started_at, duration_ms, stop_reason, outcome, cost_usd, output
| order by hop asc, started_at asc`,
  },
];

/**
 * A query as Log Analytics runs it: its question as a comment, a `let` per parameter (the value
 * given, as a string literal, or else its default), then its body over `table`.
 */
export function auditKql(query: AuditKqlQuery, values: Readonly<Record<string, string>> = {}, table = AUDIT_LOGS_TABLE): string {
  const unknown = Object.keys(values).filter((name) => !query.parameters.some((p) => p.name === name));
  if (unknown.length) throw new Error(`audit query ${query.name} takes no parameter ${unknown.join(', ')} (it takes ${query.parameters.map((p) => p.name).join(', ')})`);
  const lets = query.parameters.map((p) => `let ${p.name} = ${p.name in values ? JSON.stringify(values[p.name]) : p.default}; // ${p.description}`);
  return [`// ${query.question}`, ...lets, query.body(table)].join('\n');
}
