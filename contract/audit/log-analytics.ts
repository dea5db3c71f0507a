import { AUDIT_COLUMNS, AUDIT_PARTITIONS, logAnalyticsType } from './schema';

/**
 * The audit records in Log Analytics, derived from the schema (schema.ts) as Athena's table is:
 * the runtime sends each record as `auditRow(record)` to a data collection rule's stream, whose
 * transform sets `TimeGenerated` and writes the custom table. The constructs build the table, the
 * stream and the transform from here; the runtime names the stream from here; the KQL queries
 * (kql-queries.ts) read the table's columns from here.
 */

/** The custom table: Log Analytics requires the `_CL` suffix. */
export const AUDIT_LOGS_TABLE = 'AgentAudit_CL';

/** The data collection rule's input stream the runtime sends rows to: Log Analytics requires the `Custom-` prefix. */
export const AUDIT_LOGS_STREAM = 'Custom-AgentAudit';

export type LogAnalyticsColumnType = ReturnType<typeof logAnalyticsType> | 'datetime';

export interface LogAnalyticsColumn {
  readonly name: string;
  readonly type: LogAnalyticsColumnType;
  readonly description: string;
}

/**
 * Column names Log Analytics keeps for itself in every table (compared without case, as its own
 * documentation lists them capitalized): a schema column of such a name is renamed in the table.
 */
const RESERVED = ['id', 'billedsize', 'isbillable', 'invalidtimegenerated', 'tenantid', 'title', 'type', 'uniqueid', 'timegenerated'];

/**
 * A schema column's name in the Log Analytics table: its own, or `record_<name>` for a name Log
 * Analytics reserves (`type`, which every table has as `Type`, the table's name, becomes `record_type`).
 */
export const logAnalyticsColumnName = (name: string) => (RESERVED.includes(name.toLowerCase()) ? `record_${name}` : name);

/** What `auditRow` puts in the partitions' columns: read from the record, not from an object's key. */
const PARTITION_DESCRIPTIONS: Readonly<Record<(typeof AUDIT_PARTITIONS)[number]['name'], string>> = {
  agent: 'The agent, as the audit objects\' `agent=` partition holds it',
  day: 'The start day of the record\'s attempt, `YYYY-MM-DD` UTC, as the audit objects\' `date=` partition holds it',
};

/**
 * The longest a value may be in a row sent to Log Analytics: the Logs Ingestion API cuts fields
 * over 64 KB without a word and refuses a call over 1 MB, so a longer one is cut here, or dropped
 * if it is a nested value (cut, it would not be JSON), and named in `truncated_columns`. The
 * record of truth keeps it whole.
 */
export const LOG_ANALYTICS_MAX_VALUE_CHARS = 32_000;

/** The column that names what a row left out or cut (see LOG_ANALYTICS_MAX_VALUE_CHARS). */
export const TRUNCATED_COLUMNS = 'truncated_columns';

/** The stream's columns: exactly the keys `fitRow(auditRow(record))` writes (the schema's columns but the bulky ones, the partitions, what was cut). */
export const AUDIT_LOGS_STREAM_COLUMNS: readonly LogAnalyticsColumn[] = [
  ...AUDIT_COLUMNS.filter((c) => !c.bulky).map((c) => ({ name: c.name, type: logAnalyticsType(c.type), description: c.description })),
  ...AUDIT_PARTITIONS.map((p) => ({ name: p.name, type: 'string' as const, description: PARTITION_DESCRIPTIONS[p.name] })),
  { name: TRUNCATED_COLUMNS, type: 'dynamic', description: 'The columns this row cut or left out for being longer than Log Analytics takes; the audit objects hold them whole' },
];

/**
 * `auditRow`'s row made to fit Log Analytics: a string longer than LOG_ANALYTICS_MAX_VALUE_CHARS
 * is cut to it, a nested value that long is left out, and either is named in `truncated_columns`.
 */
export function fitRow(row: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const fitted: Record<string, unknown> = {};
  const cut: string[] = [];
  for (const [name, value] of Object.entries(row)) {
    const length = typeof value === 'string' ? value.length : value !== null && typeof value === 'object' ? JSON.stringify(value).length : 0;
    if (length <= LOG_ANALYTICS_MAX_VALUE_CHARS) fitted[name] = value;
    else {
      cut.push(name);
      if (typeof value === 'string') fitted[name] = value.slice(0, LOG_ANALYTICS_MAX_VALUE_CHARS);
    }
  }
  if (cut.length) fitted[TRUNCATED_COLUMNS] = cut;
  return fitted;
}

/** The table's columns: `TimeGenerated` (the record's `started_at`), then the stream's, reserved names renamed. */
export const AUDIT_LOGS_TABLE_COLUMNS: readonly LogAnalyticsColumn[] = [
  { name: 'TimeGenerated', type: 'datetime', description: 'When the attempt or step started (started_at); the time of ingestion for one that started more than two days before it reached Log Analytics' },
  ...AUDIT_LOGS_STREAM_COLUMNS.map((c) => ({ ...c, name: logAnalyticsColumnName(c.name) })),
];

/**
 * The data collection rule's transform from stream to table, in the KQL subset transforms run:
 * the record's start becomes `TimeGenerated`, and reserved names their table names. Log Analytics
 * itself replaces a `TimeGenerated` more than two days old with the time it received the row.
 */
export const AUDIT_LOGS_TRANSFORM = [
  'source',
  '| extend TimeGenerated = todatetime(started_at)',
  ...AUDIT_LOGS_STREAM_COLUMNS.filter((c) => logAnalyticsColumnName(c.name) !== c.name).map((c) => `| project-rename ${logAnalyticsColumnName(c.name)} = ['${c.name}']`),
].join('\n');
