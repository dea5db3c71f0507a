/**
 * What a run produces, as callers, job records, events and audit records carry it. The runtime
 * computes these; everything downstream (the API's answers, the job status route, event consumers,
 * audit queries) reads them in this shape.
 */

/**
 * Why a run ended. Limits and model failures end a run with a reason, never an exception:
 * `model_unavailable` when every target failed or was skipped for reasons worth another try
 * (throttling, overload, 5xx, lost connections, timeouts), `model_error` when a target refused the
 * request for a reason no retry fixes (400, 401, 403, 404, 422).
 */
export type RunStopReason = 'end_turn' | 'max_steps' | 'token_budget' | 'cost_budget' | 'deadline' | 'refusal' | 'model_unavailable' | 'model_error';

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

/**
 * What a run's ending means for whoever waits on it, on both clouds:
 * - `succeeded`: an answer, and for an agent with an output contract one that passed it;
 * - `retryable`: no answer, for a reason another try may not meet (every model down, the deadline);
 * - `failed`: no valid answer, for a reason another try would meet again (the contract broken after
 *   repair, a budget or the step limit spent, a refusal where output was required, a model refusing
 *   the request).
 * `status` is what a synchronous caller gets: 200, 422 (a run that ended without valid output),
 * 502 (a model refused the request), 503 (no model available), 504 (out of time).
 */
export interface RunVerdict {
  readonly outcome: 'succeeded' | 'retryable' | 'failed';
  readonly status: 200 | 422 | 502 | 503 | 504;
  /** Why it did not succeed, in words for the caller, the job record and the run.failed event. */
  readonly reason?: string;
}

const ENDINGS: Record<Exclude<RunStopReason, 'end_turn' | 'refusal'>, RunVerdict> = {
  max_steps: { outcome: 'failed', status: 422, reason: 'the run reached its step limit without an answer' },
  token_budget: { outcome: 'failed', status: 422, reason: 'the run spent its token budget without an answer' },
  cost_budget: { outcome: 'failed', status: 422, reason: 'the run spent its cost budget without an answer' },
  model_error: { outcome: 'failed', status: 502, reason: 'a model refused the request' },
  model_unavailable: { outcome: 'retryable', status: 503, reason: 'no model was available' },
  deadline: { outcome: 'retryable', status: 504, reason: 'the run ran out of time' },
};

/** The verdict on a run, from its stop reason and, for agents with an output contract, its validation. */
export function runVerdict(run: { readonly stopReason: RunStopReason; readonly validation?: ValidationReport | undefined; readonly error?: string | undefined }, requiresOutput: boolean): RunVerdict {
  const detail = (verdict: RunVerdict): RunVerdict => ({ ...verdict, reason: run.error ? `${verdict.reason}: ${run.error}` : verdict.reason! });
  switch (run.stopReason) {
    case 'end_turn':
      if (run.validation && !run.validation.ok) {
        return { outcome: 'failed', status: 422, reason: `the answer failed validation: ${run.validation.problems.map((p) => `${p.path || '(answer)'}: ${p.message}`).join('; ')}` };
      }
      return { outcome: 'succeeded', status: 200 };
    case 'refusal':
      return requiresOutput ? { outcome: 'failed', status: 422, reason: 'the model refused, and the agent must answer in its output format' } : { outcome: 'succeeded', status: 200 };
    default:
      return detail(ENDINGS[run.stopReason]);
  }
}
