import type { TaskKind } from '../chain/envelope';
import type { RunStopReason, Usage, ValidationReport } from '../runs/results';

/**
 * Where a queued run stands. `succeeded`, `failed` and `dead_lettered` are final: `failed` for a
 * run another try would not help (see RunVerdict), `dead_lettered` for one that kept failing for
 * reasons worth a retry until its queue gave up and dead-lettered the message (a redriven message
 * runs again).
 */
export type JobStatus = 'queued' | 'running' | 'waiting_for_approval' | 'succeeded' | 'failed' | 'dead_lettered' | 'cancelled';

/** A queued run as its submitter reads it back by id: the body of `GET /agents/{name}/jobs/{jobId}`. */
export interface JobRecord {
  readonly jobId: string;
  readonly agent: string;
  readonly status: JobStatus;
  readonly updatedAt: string;
  readonly stopReason?: RunStopReason;
  readonly output?: string;
  readonly structuredOutput?: unknown;
  readonly error?: string;
  readonly validation?: ValidationReport;
  /** Deliveries of the run so far, this one included. */
  readonly deliveries?: number;
  /**
   * A fingerprint of the request that started it (route, input, session), so a retry of that
   * request can be told from another request that reuses its idempotency key.
   */
  readonly request?: string;
  /**
   * For an invocation made with an idempotency key: the status and body its caller got, which a
   * retry with the same key and body gets again without a run.
   */
  readonly response?: { readonly status: number; readonly body: unknown };
  /**
   * A `failed` invocation that ended for a reason worth another try (no model answered, out of
   * time): a request with the same key and body runs it again.
   */
  readonly retryable?: boolean;
  /** What the run spent itself. */
  readonly usage?: Usage;
  readonly costUsd?: number;
  /** What the agents it called spent within its budget. */
  readonly delegatedCostUsd?: number;
  /** For a run another agent sent: the chain it belongs to and the run that sent it. */
  readonly chain?: ChainLink;
  /** The tasks the run sent to other agents, with their states: as the run saw them, then as hand-offs and jobs reported their ends. */
  readonly children?: readonly ChildRun[];
  /** For a durable run waiting for a person: the tool call, who may decide, and until when. */
  readonly waiting?: WaitingForApproval;
  /** The last decision a person (or the clock) made on one of the run's tool calls. */
  readonly lastApproval?: ApprovalDecision;
  /** For a durable run: the step it is on (a model turn, its tool calls, the answer's check). */
  readonly currentStep?: CurrentStep;
}

/** The step a durable run is on, as its status shows it. */
export interface CurrentStep {
  readonly number: number;
  readonly kind: 'model' | 'tools' | 'validate';
  readonly startedAt: string;
}

/** What a person (or the clock) decided about a tool call that needed approval. */
export interface ApprovalDecision {
  readonly decision: 'approved' | 'rejected' | 'expired';
  /** Who decided, as the API identified them. */
  readonly by?: string;
  readonly reason?: string;
  readonly at: string;
}

/** A tool call of a durable run that waits for a person's decision. */
export interface WaitingForApproval {
  readonly reason: 'approval';
  readonly step: number;
  readonly callId: string;
  readonly tool: string;
  readonly input: unknown;
  readonly approvers: readonly string[];
  readonly expiresAt: string;
}

/** Where a run sits in a chain of agents. */
export interface ChainLink {
  readonly correlationId: string;
  /** The run that sent this one, and its agent. */
  readonly parentRunId: string;
  readonly parentAgent: string;
  readonly hop: number;
  readonly kind: TaskKind;
}

/** A task a run sent to another agent, as the run's job record and audit record list it. */
export interface ChildRun {
  readonly runId: string;
  readonly agent: string;
  readonly kind: TaskKind;
  /** `queued` for a hand-off or job sent and not reported ended yet; `refused` for one never sent. */
  readonly status: JobStatus | 'refused';
  readonly costUsd?: number;
  readonly error?: string;
}

/** How far along a child is: sent, running, ended; a later report never takes a child back. */
const CHILD_PROGRESS: Readonly<Record<ChildRun['status'], number>> = { queued: 0, running: 1, waiting_for_approval: 1, succeeded: 2, failed: 2, dead_lettered: 2, cancelled: 2, refused: 2 };

/**
 * A run's children with what is known of them since: each child as the furthest along of its two
 * accounts (the run's own, sent, and its report, ended), in the order they were sent; a child
 * reported before the run listed it comes last.
 */
export function mergeChildren(listed: readonly ChildRun[], reported: readonly ChildRun[]): ChildRun[] {
  const merged = new Map(listed.map((c) => [c.runId, c]));
  for (const child of reported) {
    const known = merged.get(child.runId);
    if (!known || CHILD_PROGRESS[child.status] > CHILD_PROGRESS[known.status]) merged.set(child.runId, known ? { ...known, ...child, kind: known.kind } : child);
  }
  return [...merged.values()];
}

/** Days a job's record stays readable, on both clouds; the audit trail keeps the history. */
export const JOB_RETENTION_DAYS = 30;

/**
 * How long an agent's job records and durable state are kept after their last write: the
 * retention, and for a durable agent its run limit besides, so a run that waits (for a person, up
 * to its limit) still finds its records and its state when it resumes.
 */
export const recordRetentionSeconds = (definition: { readonly durable: boolean; readonly limits: { readonly timeoutSeconds: number } }) =>
  JOB_RETENTION_DAYS * 86_400 + (definition.durable ? definition.limits.timeoutSeconds : 0);
