import type { Attempt } from '../models/router';
import type { ModelRequest, StopReason as ModelStopReason, Usage } from '../models/types';
import { chainPrefix } from '../../../contract/audit/layout';
import type { ChainLink, ChildRun } from '../../../contract/jobs/job-record';
import type { RunStopReason, ValidationReport } from '../../../contract/runs/results';
import type { ToolOutcome } from '../tools/executor';

export type { RunStopReason };

/** One model turn and what followed from it. */
export interface StepRecord {
  readonly type: 'step';
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
}

/** One run from start to end. */
export interface RunRecord {
  readonly type: 'run';
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
