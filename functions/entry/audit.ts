import { auditKey } from '../../contract/audit/layout';
import type { AuditRecord } from '../core/audit/records';

/** An attempt's audit records as the one JSON Lines object the layout names (contract/audit/layout.ts). */
export function auditObject(records: readonly AuditRecord[]): { key: string; body: string } | undefined {
  const run = records.find((r) => r.type === 'run') ?? records[0];
  if (!run) return undefined;
  return { key: auditKey(run.agent, run.startedAt.slice(0, 10), run.runId, run.attempt), body: records.map((r) => JSON.stringify(r)).join('\n') + '\n' };
}
