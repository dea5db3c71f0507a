import type { AuditRecord } from '../core/audit/records';

/**
 * How a run's audit records are laid out in object storage, the same in S3 and in Blob storage:
 * one JSON Lines object per run under `agent=NAME/date=YYYY-MM-DD/`, so query engines read them
 * partitioned and a redelivered run overwrites its own record instead of duplicating it.
 */
export function auditObject(records: readonly AuditRecord[]): { key: string; body: string } | undefined {
  const run = records.find((r) => r.type === 'run') ?? records[0];
  if (!run) return undefined;
  return { key: auditKey(run.startedAt.slice(0, 10), run.agent, run.runId), body: records.map((r) => JSON.stringify(r)).join('\n') + '\n' };
}

export const auditKey = (date: string, agent: string, runId: string) => `agent=${agent}/date=${date}/${runId}.jsonl`;
