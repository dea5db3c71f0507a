/**
 * What a run produces, as callers, job records, events and audit records carry it. The runtime
 * computes these; everything downstream (the API's answers, the job status route, event consumers,
 * audit queries) reads them in this shape.
 */

/** Why a run ended. Limits end a run with a reason, never an exception. */
export type RunStopReason = 'end_turn' | 'max_steps' | 'token_budget' | 'cost_budget' | 'deadline' | 'refusal';

/** Tokens of each kind a run or a model call consumed. */
export interface Usage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
}

export interface ValidationProblem {
  readonly kind: 'parse' | 'schema' | 'rule' | 'confidence';
  readonly path: string;
  readonly message: string;
}

/** How a final answer fared against the agent's output contract. */
export interface ValidationReport {
  readonly ok: boolean;
  readonly problems: readonly ValidationProblem[];
  /** The parsed answer, when it parsed. */
  readonly value?: unknown;
  readonly confidence?: number;
}
