import { auditKey, chainKey } from '../../contract/audit/layout';
import type { AuditRecord, RunRecord } from '../core/audit/records';

/** An attempt's audit records as the one JSON Lines object the layout names (contract/audit/layout.ts). */
export function auditObject(records: readonly AuditRecord[]): { key: string; body: string } | undefined {
  const run = records.find((r) => r.type === 'run') ?? records[0];
  if (!run) return undefined;
  return { key: auditKey(run.agent, run.startedAt.slice(0, 10), run.runId, run.attempt), body: records.map((r) => JSON.stringify(r)).join('\n') + '\n' };
}

/**
 * The objects an attempt's audit records are written as: the attempt's JSON Lines object, and for
 * a run in a chain of agents its run record again under the chain's index (contract/audit/layout.ts).
 */
export function auditObjects(records: readonly AuditRecord[]): { key: string; body: string }[] {
  const object = auditObject(records);
  if (!object) return [];
  const run = records.find((r): r is RunRecord => r.type === 'run');
  const chained = run && (run.chain || run.children?.length);
  return chained ? [object, { key: chainKey(run.agent, run.correlationId, run.runId, run.attempt), body: JSON.stringify(run) }] : [object];
}
