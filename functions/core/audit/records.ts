import type { Attempt } from '../models/router';
import type { ModelRequest, StopReason as ModelStopReason, Usage } from '../models/types';
import { chainPrefix } from '../../../contract/audit/layout';
import type { ChainLink, ChildRun } from '../../../contract/jobs/job-record';
import type { RunStopReason, RunVerdict, ValidationReport } from '../../../contract/runs/results';
import type { ToolOutcome } from '../tools/executor';

export type { RunStopReason };

/** One model turn and what followed from it. */
export interface StepRecord {
  readonly type: 'step';
  /** The audit schema's version (contract/audit/schema.ts). */
  readonly schemaVersion: number;
  readonly runId: string;
  /** Which attempt at the run this step belongs to (see RunRecord.attempt). */
  readonly attempt: string;
  readonly agent: string;
  readonly step: number;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly provider: string;
  readonly model: string;
  readonly attempts: readonly Attempt[];
  /** Everything sent: system prompt after substitution, messages, tools, parameters. */
  readonly request: ModelRequest;
  readonly response: unknown;
  readonly stopReason: ModelStopReason;
  readonly usage: Usage;
  readonly costUsd?: number;
  readonly toolCalls: readonly ToolOutcome[];
  readonly validation?: ValidationReport;
  /** Derived for queries: model attempts that failed or were skipped before one answered, retries included (as the ModelFallbacks metric). */
  readonly fallbacks: number;
  /** Derived: `provider/model` of the target that answered. */
  readonly answeredBy: string;
  /** Derived: `provider/model` of each other target that failed or was skipped before it, once each. */
  readonly failedTargets: readonly string[];
  /** Derived: the tools asked for that the cohort's policy denied. */
  readonly deniedTools: readonly string[];
  /** Derived: each validation problem as `kind:path`. */
  readonly validationFailures?: readonly string[];
}

/** One run from start to end. */
export interface RunRecord {
  readonly type: 'run';
  /** The audit schema's version (contract/audit/schema.ts). */
  readonly schemaVersion: number;
  readonly runId: string;
  /**
   * This attempt at the run: a run delivered or requested again under the same run id is another
   * attempt, with its own records beside the first's.
   */
  readonly attempt: string;
  readonly agent: string;
  readonly cohort: string;
  readonly definitionVersion: string;
  readonly promptVersion: string;
  readonly trigger: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly input: unknown;
  readonly steps: number;
  readonly provider?: string;
  readonly model?: string;
  /** Why the run ended; `runtime_error` when the runtime itself failed and the run threw. */
  readonly stopReason: RunStopReason | 'runtime_error';
  readonly usage: Usage;
  readonly costUsd: number;
  /** False when a model in the route had no price: the cost budget could not be enforced for it. */
  readonly fullyPriced: boolean;
  readonly output: string;
  readonly structuredOutput?: unknown;
  readonly validation?: ValidationReport;
  readonly error?: string;
  /** The chain of agents the run belongs to: the run id of the run that started it. */
  readonly correlationId: string;
  /** For a run another agent sent: that run (the causation), its agent, the hop and how it came. */
  readonly chain?: ChainLink;
  /** The tasks the run sent other agents. */
  readonly children?: readonly ChildRun[];
  /** What those agents spent within this run's budget. */
  readonly delegatedCostUsd?: number;
  /** The W3C trace id every run of the chain shares. */
  readonly traceId?: string;
  /** Derived for queries: the run's verdict as its caller and job saw it (`runtime_error` is `failed`). */
  readonly outcome: RunVerdict['outcome'];
  /** Derived: model attempts over all its steps that failed or were skipped before one answered. */
  readonly fallbacks: number;
  /** Derived: each validation problem of the final answer as `kind:path`. */
  readonly validationFailures?: readonly string[];
}

/** A validation report's problems as `kind:path`, the audit's derived `validationFailures`. */
export const validationFailures = (report: ValidationReport | undefined): string[] | undefined => (report && !report.ok ? report.problems.map((p) => `${p.kind}:${p.path}`) : undefined);

/** A step's derived fields, from its model attempts and tool calls. */
export function stepDerived(attempts: readonly Attempt[], toolCalls: readonly ToolOutcome[], validation?: ValidationReport) {
  const target = (a: Attempt) => `${a.provider}/${a.model}`;
  const failed = attempts.filter((a) => a.outcome !== 'ok');
  const answered = attempts.find((a) => a.outcome === 'ok');
  const answeredBy = answered ? target(answered) : '';
  const failures = validationFailures(validation);
  return {
    fallbacks: failed.length,
    answeredBy,
    // Each target once: a target retried and then answering is no fallback.
    failedTargets: [...new Set(failed.map(target))].filter((t) => t !== answeredBy),
    deniedTools: toolCalls.filter((c) => c.status === 'denied').map((c) => c.name),
    ...(failures && { validationFailures: failures }),
  };
}

export type AuditRecord = RunRecord | StepRecord;

/** Where audit records go: JSON Lines in S3 on AWS, in Blob storage on Azure. */
export interface AuditSink {
  write(records: readonly AuditRecord[]): Promise<void>;
}

/** Keeps records in memory: for tests and local runs. */
export class MemoryAuditSink implements AuditSink {
  readonly records: AuditRecord[] = [];

  async write(records: readonly AuditRecord[]): Promise<void> {
    this.records.push(...records);
  }
}

/**
 * The runs of one chain of agents, in the order they ran: by hop, then by start. Takes run records
 * from anywhere (the audit store's chain index, a query engine, memory), of every agent involved.
 */
export function chainOf(records: readonly AuditRecord[], correlationId: string): RunRecord[] {
  return records
    .filter((r): r is RunRecord => r.type === 'run' && r.correlationId === correlationId)
    .sort((a, b) => (a.chain?.hop ?? 0) - (b.chain?.hop ?? 0) || a.startedAt.localeCompare(b.startedAt));
}

/** Reads audit objects: S3 on AWS, Blob storage on Azure. For operators' tools, never the runtime. */
export interface AuditReader {
  /** The keys under `prefix`. */
  list(prefix: string): Promise<string[]>;
  get(key: string): Promise<string | undefined>;
}

/**
 * A chain of agents' runs by its correlation id, in order, from the chain index each run in it
 * leaves under its agent's partition: one listing per agent that may have taken part.
 */
export async function readChain(reader: AuditReader, agents: readonly string[], correlationId: string): Promise<RunRecord[]> {
  const keys = (await Promise.all(agents.map((agent) => reader.list(chainPrefix(agent, correlationId))))).flat();
  const bodies = await Promise.all(keys.map((key) => reader.get(key)));
  return chainOf(bodies.flatMap((body) => (body ? [JSON.parse(body) as RunRecord] : [])), correlationId);
}
