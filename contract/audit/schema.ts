/**
 * The audit record's schema as query engines see it: the columns of the Glue table on AWS and of
 * the Log Analytics table on Azure, and the JSON field each reads. The runtime writes run and step
 * records as JSON Lines (see layout.ts); every engine's table derives its columns from this list,
 * so a field added here reaches Athena, Log Analytics and the tests' DuckDB at once.
 *
 * Versions:
 * - 1 (records without `schemaVersion`): the fields before derived columns.
 * - 2: adds `schemaVersion` and the derived fields (`outcome`, `fallbacks`, `answeredBy`,
 *   `failedTargets`, `deniedTools`, `validationFailures`), written by the runtime from the other
 *   fields so that the standard questions need no engine-specific array functions. On version 1
 *   records they read as null.
 */
export const AUDIT_SCHEMA_VERSION = 2;

/** A column's type, named once and rendered for each engine. */
export type AuditType = 'string' | 'bigint' | 'double' | 'boolean' | { readonly array: AuditType } | { readonly struct: Readonly<Record<string, AuditType>> };

export interface AuditColumn {
  /** The column's name in every engine: snake case, so Athena's lower-casing changes nothing. */
  readonly name: string;
  /** The record's JSON field it reads. */
  readonly field: string;
  readonly type: AuditType;
  /** Which records carry it. */
  readonly records: 'run' | 'step' | 'both';
  readonly description: string;
  /**
   * Kept in the audit objects (S3, Blob storage) only, not sent to Log Analytics, whose string
   * values stop at 32 KB: whole model requests and responses.
   */
  readonly bulky?: boolean;
}

const usage: AuditType = { struct: { inputTokens: 'bigint', outputTokens: 'bigint', cacheReadTokens: 'bigint', cacheWriteTokens: 'bigint' } };

export const AUDIT_COLUMNS: readonly AuditColumn[] = [
  { name: 'type', field: 'type', type: 'string', records: 'both', description: '`run` (one per attempt at a run) or `step` (one per model turn)' },
  { name: 'schema_version', field: 'schemaVersion', type: 'bigint', records: 'both', description: 'This schema\'s version the record follows; null for version 1' },
  { name: 'run_id', field: 'runId', type: 'string', records: 'both', description: 'The run, stable across its attempts' },
  { name: 'attempt', field: 'attempt', type: 'string', records: 'both', description: 'The attempt at the run: its start as compact UTC time and random hex' },
  { name: 'agent_name', field: 'agent', type: 'string', records: 'both', description: 'The agent (the partition `agent` holds the same)' },
  { name: 'cohort', field: 'cohort', type: 'string', records: 'run', description: 'The agent\'s cohort: its routing, tool policy and budget group' },
  { name: 'definition_version', field: 'definitionVersion', type: 'string', records: 'run', description: 'Digest of the agent definition that ran' },
  { name: 'prompt_version', field: 'promptVersion', type: 'string', records: 'run', description: 'Digest of its instructions' },
  { name: 'trigger', field: 'trigger', type: 'string', records: 'run', description: '`api`, `job`, `schedule`, `event`, `task`, `local`' },
  { name: 'started_at', field: 'startedAt', type: 'string', records: 'both', description: 'ISO 8601 UTC start of the run attempt or step' },
  { name: 'duration_ms', field: 'durationMs', type: 'bigint', records: 'both', description: 'How long the attempt or step took' },
  { name: 'step', field: 'step', type: 'bigint', records: 'step', description: 'The step\'s number in its run, from 1' },
  { name: 'steps', field: 'steps', type: 'bigint', records: 'run', description: 'How many model turns the run took' },
  { name: 'provider', field: 'provider', type: 'string', records: 'both', description: 'The provider that answered (last step, for a run)' },
  { name: 'model', field: 'model', type: 'string', records: 'both', description: 'The model that answered (last step, for a run)' },
  { name: 'stop_reason', field: 'stopReason', type: 'string', records: 'both', description: 'Why the run ended (`end_turn`, `max_steps`, `cost_budget`, `model_unavailable`, …), or why the model stopped its turn' },
  { name: 'outcome', field: 'outcome', type: 'string', records: 'run', description: 'Derived: `succeeded` (an answer that passed validation), `failed` or `retryable`, as callers and jobs saw it' },
  { name: 'usage', field: 'usage', type: usage, records: 'both', description: 'Tokens: `inputtokens`, `outputtokens`, `cachereadtokens`, `cachewritetokens`' },
  { name: 'cost_usd', field: 'costUsd', type: 'double', records: 'both', description: 'What the run or step cost, from the router\'s prices' },
  { name: 'fully_priced', field: 'fullyPriced', type: 'boolean', records: 'run', description: 'False when a model in the route had no price, so cost_usd is a floor' },
  { name: 'delegated_cost_usd', field: 'delegatedCostUsd', type: 'double', records: 'run', description: 'What agents this run sent tasks to spent within its budget' },
  { name: 'fallbacks', field: 'fallbacks', type: 'bigint', records: 'both', description: 'Derived: model attempts that failed or were skipped before one answered, retries included (as the ModelFallbacks metric)' },
  { name: 'answered_by', field: 'answeredBy', type: 'string', records: 'step', description: 'Derived: `provider/model` of the target that answered the step' },
  { name: 'failed_targets', field: 'failedTargets', type: { array: 'string' }, records: 'step', description: 'Derived: `provider/model` of each other target that failed or was skipped before the one that answered, once each' },
  { name: 'denied_tools', field: 'deniedTools', type: { array: 'string' }, records: 'step', description: 'Derived: tools the step asked for that the cohort\'s policy denied' },
  { name: 'validation_failures', field: 'validationFailures', type: { array: 'string' }, records: 'both', description: 'Derived: each validation problem as `kind:path` (`rule:dueBy`, `schema:/category`, `parse:`)' },
  { name: 'validation', field: 'validation', type: { struct: { ok: 'boolean', problems: { array: { struct: { kind: 'string', path: 'string', message: 'string' } } } } }, records: 'both', description: 'The answer against the output contract, with each problem\'s message' },
  { name: 'tool_calls', field: 'toolCalls', type: { array: { struct: { name: 'string', status: 'string', kind: 'string', durationMs: 'bigint' } } }, records: 'step', description: 'Each tool call: name, status (`ok`, `error`, `denied`, `invalid_input`, `rejected`, …), kind, duration' },
  { name: 'error', field: 'error', type: 'string', records: 'run', description: 'Why the run ended without an answer, when a model failure or the runtime ended it' },
  { name: 'correlation_id', field: 'correlationId', type: 'string', records: 'run', description: 'The chain of agents the run belongs to: the run id of the run that started it' },
  { name: 'chain', field: 'chain', type: { struct: { correlationId: 'string', parentRunId: 'string', parentAgent: 'string', hop: 'bigint', kind: 'string' } }, records: 'run', description: 'For a run another agent sent: `parentrunid`, `parentagent`, `hop`, `kind`' },
  { name: 'trace_id', field: 'traceId', type: 'string', records: 'run', description: 'The W3C trace id every run of the chain shares' },
  { name: 'input', field: 'input', type: 'string', records: 'run', description: 'The run\'s input (JSON text when it was an object)' },
  { name: 'output', field: 'output', type: 'string', records: 'run', description: 'The final answer\'s text' },
  { name: 'request', field: 'request', type: 'string', records: 'step', description: 'Everything sent to the model (JSON text)', bulky: true },
  { name: 'response', field: 'response', type: 'string', records: 'step', description: 'The provider\'s raw response (JSON text)', bulky: true },
];

/** The partitions every audit object's key carries (layout.ts), as columns: read from the key, not the record. */
export const AUDIT_PARTITIONS = [
  { name: 'agent', key: 'agent', description: 'The agent, from `agent=NAME/` in the key' },
  { name: 'day', key: 'date', description: 'The attempt\'s start day, `YYYY-MM-DD` UTC, from `date=YYYY-MM-DD/` in the key' },
] as const;

/** Athena's (Hive DDL) name for a type. */
export function hiveType(type: AuditType): string {
  if (typeof type === 'string') return type;
  if ('array' in type) return `array<${hiveType(type.array)}>`;
  return `struct<${Object.entries(type.struct).map(([k, t]) => `${k.toLowerCase()}:${hiveType(t)}`).join(',')}>`;
}

/** DuckDB's name for a type, with struct fields as the JSON spells them. */
export function duckdbType(type: AuditType): string {
  if (typeof type === 'string') return { string: 'VARCHAR', bigint: 'BIGINT', double: 'DOUBLE', boolean: 'BOOLEAN' }[type];
  if ('array' in type) return `${duckdbType(type.array)}[]`;
  return `STRUCT(${Object.entries(type.struct).map(([k, t]) => `"${k}" ${duckdbType(t)}`).join(', ')})`;
}

/** Log Analytics' name for a type: nested values are `dynamic`. */
export function logAnalyticsType(type: AuditType): 'string' | 'long' | 'real' | 'boolean' | 'dynamic' {
  if (typeof type !== 'string') return 'dynamic';
  return ({ string: 'string', bigint: 'long', double: 'real', boolean: 'boolean' } as const)[type];
}

/**
 * The day partition a record is stored under: its attempt's start (the attempt id begins with it,
 * see layout.ts), so a step that ran past midnight UTC stays with its run as in the object keys.
 */
function attemptDay(record: Readonly<Record<string, unknown>>): string | undefined {
  const compact = typeof record.attempt === 'string' ? /^(\d{4})(\d{2})(\d{2})T/.exec(record.attempt) : null;
  if (compact) return `${compact[1]}-${compact[2]}-${compact[3]}`;
  return typeof record.startedAt === 'string' ? record.startedAt.slice(0, 10) : undefined;
}

/**
 * One record as a row of the schema's columns (bulky ones left out) and its partitions, for engines that take rows
 * rather than read the JSON Lines: Log Analytics' ingestion. Objects in string columns become
 * JSON text, as Athena and DuckDB read them.
 */
export function auditRow(record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const row: Record<string, unknown> = { agent: record.agent, day: attemptDay(record) };
  for (const column of AUDIT_COLUMNS) {
    if (column.bulky) continue;
    const value = record[column.field];
    if (value === undefined) continue;
    row[column.name] = column.type === 'string' && typeof value !== 'string' ? JSON.stringify(value) : value;
  }
  return row;
}
