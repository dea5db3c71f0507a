import type { LogsIngestionClient } from '@azure/monitor-ingestion';
import { AUDIT_LOGS_STREAM, fitRow } from '../../contract/audit/log-analytics';
import { auditRow } from '../../contract/audit/schema';
import { AZURE_AUDIT_INGESTION_FAILED_MESSAGE } from '../../contract/config/settings';
import type { AuditRecord, AuditSink } from '../core/audit/records';

/** How long a run's records may take to reach Log Analytics before the copy is given up. */
const INGESTION_TIMEOUT_MS = 15_000;

/**
 * Audit records as rows of the Log Analytics audit table, through the Logs Ingestion API: the
 * stream of the data collection rule, whose transform writes the table (contract/audit/log-analytics.ts).
 * The client signs in with the agent's managed identity, which holds Monitoring Metrics Publisher
 * on that rule alone; the client splits, compresses and retries.
 */
export class LogsIngestionAuditSink implements AuditSink {
  constructor(
    private readonly client: Pick<LogsIngestionClient, 'upload'>,
    private readonly ruleId: string,
    private readonly timeoutMs = INGESTION_TIMEOUT_MS,
  ) {}

  async write(records: readonly AuditRecord[]): Promise<void> {
    if (!records.length) return;
    const rows = records.map((record) => fitRow(auditRow(record as unknown as Record<string, unknown>)));
    await this.client.upload(this.ruleId, AUDIT_LOGS_STREAM, rows, { abortSignal: AbortSignal.timeout(this.timeoutMs) });
  }
}

/**
 * The record of truth (Blob storage, where no one can change a record) and a copy that makes it
 * queryable (Log Analytics), written in that order. A run whose records did not reach the record
 * of truth fails as before; a copy that fails does not fail the run, whose records are kept, but
 * writes one error line (`AZURE_AUDIT_INGESTION_FAILED_MESSAGE`, with the agent, cohort, runs and
 * number of records) that the operations alert counts, so a gap in Log Analytics is never silent.
 * A copy written again (an attempt's records retried) may stand twice in Log Analytics; the
 * record of truth holds it once.
 */
export class CopiedAuditSink implements AuditSink {
  constructor(
    private readonly truth: AuditSink,
    private readonly copy: AuditSink,
    private readonly agent: { readonly name: string; readonly cohort: string },
    private readonly error: (line: string) => void = (line) => console.error(line),
  ) {}

  async write(records: readonly AuditRecord[]): Promise<void> {
    await this.truth.write(records);
    try {
      await this.copy.write(records);
    } catch (e) {
      // The client says which rows of a partly sent batch failed; those are the gap.
      const failed = failedRows(e);
      this.error(
        JSON.stringify({
          message: AZURE_AUDIT_INGESTION_FAILED_MESSAGE,
          agent: this.agent.name,
          cohort: this.agent.cohort,
          runs: failed ? [...new Set(failed.map((row) => String(row.run_id)))] : [...new Set(records.map((r) => r.runId))],
          records: failed ? failed.length : records.length,
          error: reasonOf(e),
        }),
      );
    }
  }
}

/** The rows the client reports it could not send, when it says (an aggregate error per chunk). */
function failedRows(e: unknown): Record<string, unknown>[] | undefined {
  const failures = (e as { errors?: { failedLogs?: Record<string, unknown>[] }[] }).errors;
  if (!Array.isArray(failures) || !failures.every((f) => Array.isArray(f.failedLogs))) return undefined;
  return failures.flatMap((f) => f.failedLogs!);
}

/**
 * Why an upload failed: the client's aggregate error says only `undefined` (in 1.2.0), so each
 * failed chunk's cause is given instead, with its HTTP status.
 */
function reasonOf(e: unknown): string {
  const failures = (e as { errors?: { cause: Error & { statusCode?: number } }[] }).errors;
  if (!Array.isArray(failures) || !failures.length) return (e as Error).message;
  return [...new Set(failures.map(({ cause }) => `${cause.statusCode ? `${cause.statusCode} ` : ''}${cause.message}`))].join('; ');
}
