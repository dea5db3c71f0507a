/**
 * The questions operators are asked every week, as SQL over the audit table (schema.ts): Athena's
 * named queries on AWS, and what the tests run on DuckDB over records the runtime wrote. Written
 * in the SQL both engines read alike (no engine's array lambdas, no percentile functions): the
 * derived columns carry what would otherwise need them. `?` marks a parameter, bound in order;
 * every query takes a day range (`YYYY-MM-DD`, inclusive), which limits the partitions it scans.
 */
export interface AuditQuery {
  /** A name for Athena's saved queries and for people: the question, briefly. */
  readonly name: string;
  /** The question it answers, in the words it is asked in. */
  readonly question: string;
  /** What each `?` stands for, in order. */
  readonly parameters: readonly string[];
  /** The SQL over `table`. */
  sql(table: string): string;
}

const DAYS = ['first day (YYYY-MM-DD)', 'last day (YYYY-MM-DD)'];
const inDays = 'day BETWEEN ? AND ?';

export const AUDIT_QUERIES: readonly AuditQuery[] = [
  {
    name: 'cost-by-agent-cohort-day',
    question: 'What did each agent and cohort spend, in tokens and dollars, each day?',
    parameters: DAYS,
    sql: (t) => `SELECT day, agent, cohort, COUNT(DISTINCT run_id) AS runs, COUNT(*) AS attempts,
  SUM(cost_usd) AS cost_usd, SUM(usage.inputtokens) AS input_tokens, SUM(usage.outputtokens) AS output_tokens,
  SUM(usage.cachereadtokens) AS cache_read_tokens, SUM(usage.cachewritetokens) AS cache_write_tokens
FROM ${t}
WHERE type = 'run' AND ${inDays}
GROUP BY day, agent, cohort
ORDER BY day, agent`,
  },
  {
    name: 'cost-per-successful-task',
    question: 'What did each agent cost per task it completed with a valid answer?',
    parameters: DAYS,
    // Every attempt's cost counts, failed ones too: that is what the successes cost.
    sql: (t) => `SELECT agent, cohort, COUNT(DISTINCT run_id) AS runs,
  COUNT(DISTINCT CASE WHEN outcome = 'succeeded' THEN run_id END) AS succeeded,
  SUM(cost_usd) AS cost_usd,
  SUM(cost_usd) / NULLIF(COUNT(DISTINCT CASE WHEN outcome = 'succeeded' THEN run_id END), 0) AS cost_per_success_usd
FROM ${t}
WHERE type = 'run' AND ${inDays}
GROUP BY agent, cohort
ORDER BY cost_per_success_usd DESC NULLS LAST, agent`,
  },
  {
    name: 'failed-runs',
    question: 'Which runs ended without a valid answer, and why?',
    parameters: DAYS,
    sql: (t) => `SELECT started_at, agent, run_id, attempt, outcome, stop_reason, error, validation_failures, steps, cost_usd
FROM ${t}
WHERE type = 'run' AND outcome <> 'succeeded' AND ${inDays}
ORDER BY started_at DESC, run_id
LIMIT 500`,
  },
  {
    name: 'validation-failures-by-rule',
    question: 'Which checks of the output contract do answers fail, repaired or not?',
    parameters: DAYS,
    // Step records hold every answer checked, the ones a repair fixed included.
    sql: (t) => `SELECT agent, failure, COUNT(*) AS answers, COUNT(DISTINCT run_id) AS runs
FROM ${t} CROSS JOIN UNNEST(validation_failures) AS f (failure)
WHERE type = 'step' AND ${inDays}
GROUP BY agent, failure
ORDER BY answers DESC, agent, failure`,
  },
  {
    name: 'tool-denials',
    question: 'Which tools did agents ask for that their cohort\'s policy denied?',
    parameters: DAYS,
    sql: (t) => `SELECT agent, tool, COUNT(*) AS denials, COUNT(DISTINCT run_id) AS runs, MAX(started_at) AS last_denied_at
FROM ${t} CROSS JOIN UNNEST(denied_tools) AS d (tool)
WHERE type = 'step' AND ${inDays}
GROUP BY agent, tool
ORDER BY denials DESC, agent, tool`,
  },
  {
    name: 'model-fallbacks',
    question: 'Which model targets failed, and which target answered instead?',
    parameters: DAYS,
    sql: (t) => `SELECT agent, failed_target, answered_by, COUNT(*) AS steps, COUNT(DISTINCT run_id) AS runs
FROM ${t} CROSS JOIN UNNEST(failed_targets) AS f (failed_target)
WHERE type = 'step' AND ${inDays}
GROUP BY agent, failed_target, answered_by
ORDER BY steps DESC, agent, failed_target`,
  },
  {
    name: 'slowest-runs',
    question: 'Which runs took longest?',
    parameters: DAYS,
    sql: (t) => `SELECT started_at, agent, run_id, attempt, duration_ms, steps, stop_reason, outcome, cost_usd
FROM ${t}
WHERE type = 'run' AND ${inDays}
ORDER BY duration_ms DESC, run_id
LIMIT 50`,
  },
  {
    name: 'conversation-chain',
    question: 'What did each agent of a multi-agent conversation do, in order?',
    parameters: ['correlation id (the run id of the run that started the chain)', ...DAYS],
    sql: (t) => `SELECT COALESCE(chain.hop, 0) AS hop, agent, run_id, attempt, chain.parentagent AS parent_agent, chain.kind AS kind,
  started_at, duration_ms, stop_reason, outcome, cost_usd, output
FROM ${t}
WHERE type = 'run' AND correlation_id = ? AND ${inDays}
ORDER BY hop, started_at`,
  },
];
