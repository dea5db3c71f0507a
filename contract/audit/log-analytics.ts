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
  // auditRow reads a step's own start: past midnight UTC it is the day after its attempt's, which the objects' key holds.
  day: 'The start day of the record (a run attempt or a step), `YYYY-MM-DD` UTC',
};

/** The stream's columns: exactly the keys `auditRow` writes (the schema's columns but the bulky ones, then the partitions). */
export const AUDIT_LOGS_STREAM_COLUMNS: readonly LogAnalyticsColumn[] = [
  ...AUDIT_COLUMNS.filter((c) => !c.bulky).map((c) => ({ name: c.name, type: logAnalyticsType(c.type), description: c.description })),
  ...AUDIT_PARTITIONS.map((p) => ({ name: p.name, type: 'string' as const, description: PARTITION_DESCRIPTIONS[p.name] })),
];

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
