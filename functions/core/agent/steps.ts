import type { Span } from '@opentelemetry/api';
import type { ApprovalDecision } from '../../../contract/jobs/job-record';
import type { RunStopReason, ValidationReport } from '../../../contract/runs/results';
import type { AgentTask, ChainSpend, RunChain, TaskResult } from '../chain/chain';
import type { RoutedResponse } from '../models/router';
import type { ContentBlock, Message, ModelRequest, Usage } from '../models/types';
import type { ToolOutcome } from '../tools/executor';

/**
 * A run as a sequence of steps an engine can record: the state between steps is plain data, each
 * step (a model turn, the tool calls it asked for, the check of an answer) is the only place the
 * run touches the world, and folding a step's outcome into the state is deterministic. A run that
 * is not durable performs the steps one after another; a durable engine records each outcome and,
 * replaying, folds the recorded ones in again without performing them.
 */

/** A model turn and when it began, kept until the work it asked for is done. */
export interface ModelTurn {
  readonly step: number;
  readonly request: ModelRequest;
  readonly response: RoutedResponse;
  readonly startedAt: number;
  readonly costUsd?: number;
}

/** How a run ended, before its result is put together. */
export interface RunEnding {
  readonly stopReason: RunStopReason;
  readonly output?: string;
  readonly validation?: ValidationReport;
  readonly error?: string;
}

/** Everything a run carries from one step to the next. */
export interface RunState {
  readonly messages: readonly Message[];
  readonly steps: number;
  readonly repairs: number;
  readonly usage: Usage;
  readonly costUsd: number;
  readonly last?: { readonly provider: string; readonly model: string };
  readonly chain: ChainSpend;
  /** What the last model turn left to do. */
  readonly pending?:
    | { readonly kind: 'tools'; readonly turn: ModelTurn; readonly calls: readonly Extract<ContentBlock, { type: 'tool_use' }>[] }
    | { readonly kind: 'validate'; readonly turn: ModelTurn; readonly answer: string };
  readonly ended?: RunEnding;
}

/** A tool call waiting for a person: what the approver is shown, and who may decide. */
export interface ApprovalRequest {
  readonly callId: string;
  readonly tool: string;
  readonly input: unknown;
  readonly approvers: readonly string[];
  readonly timeoutSeconds: number;
}

/**
 * An approval waits no longer than the run (and its chain) may last: past that, nothing could use
 * the decision, and the run would end still waiting. At least a second, so the wait can begin.
 */
export function withinDeadline(approval: ApprovalRequest, deadline: number, now: number): ApprovalRequest {
  const left = Math.floor((deadline - now) / 1000);
  return left >= approval.timeoutSeconds ? approval : { ...approval, timeoutSeconds: Math.max(1, left) };
}

export type { ApprovalDecision };

export type StepAction =
  | { readonly type: 'model'; readonly step: number; readonly request: ModelRequest }
  | { readonly type: 'tools'; readonly step: number; readonly calls: readonly Extract<ContentBlock, { type: 'tool_use' }>[]; readonly approvals: readonly ApprovalRequest[] }
  | { readonly type: 'validate'; readonly step: number; readonly answer: string };

export type RunAction = StepAction | { readonly type: 'end'; readonly ending: RunEnding };

export type StepOutcome =
  | { readonly type: 'model'; readonly startedAt: number; readonly finishedAt: number; readonly response: RoutedResponse; readonly failure?: undefined }
  | { readonly type: 'model'; readonly startedAt: number; readonly finishedAt: number; readonly failure: RunEnding; readonly response?: undefined }
  | { readonly type: 'tools'; readonly outcomes: readonly ToolOutcome[]; readonly chain: ChainSpend; readonly finishedAt: number }
  | { readonly type: 'validate'; readonly report: ValidationReport; readonly finishedAt: number };

/** What performing a step needs besides the state: when to stop, the trace, the run's chain. */
export interface StepContext {
  readonly signal: AbortSignal;
  readonly deadline: number;
  readonly span: Span;
  readonly chain: RunChain;
  readonly request: { readonly runId: string; readonly trigger: string };
  /** The decisions on the calls of a `tools` step that needed approval, by call id. */
  readonly approvals?: Readonly<Record<string, ApprovalDecision>>;
  /** What the agents this step calls answered while the engine awaited them, by task run id. */
  readonly awaited?: ReadonlyMap<string, TaskResult>;
}

/**
 * How a run's steps are carried out: at once, in this invocation (`IMMEDIATE_STEPS`), or by a
 * durable engine that records each step's outcome and, replaying, returns it without running the
 * step again, and that can wait for a person without holding a function.
 */
export interface StepRunner {
  /** True when outcomes are recorded and replayed: time then comes from the outcomes, never the clock. */
  readonly durable: boolean;
  step<T>(name: string, perform: () => Promise<T>): Promise<T>;
  /** Waits for a decision on a tool call; the clock rejects it after its timeout. */
  approval(name: string, request: ApprovalRequest): Promise<ApprovalDecision>;
  /** When a step performed now must give up: the run's deadline, or the invocation's end if sooner. */
  signal(deadline: number): AbortSignal;
  /**
   * Calls another agent and waits for its answer without a running function: an engine that can
   * (Lambda's chained invoke) has it; without it, the call is made from within the tools step.
   */
  awaitAgent?(name: string, task: AgentTask): Promise<TaskResult>;
}

/**
 * Steps one after another in this invocation. A run that is not durable (a durable agent's
 * synchronous invocation, or a call from another agent) cannot wait for people: a call that needs
 * approval is rejected, and the model told why.
 */
export const IMMEDIATE_STEPS: StepRunner = {
  durable: false,
  step: (_name, perform) => perform(),
  approval: async () => ({ decision: 'rejected', reason: 'approval can only be waited for in a job; this run was synchronous', at: new Date().toISOString() }),
  signal: (deadline) => AbortSignal.timeout(Math.max(0, Math.floor(deadline - Date.now()))),
};
