import type { AgentDefinition } from '../../contract/definition/define';
import type { JobStatus } from '../../contract/jobs/job-record';
import { runVerdict, type RunVerdict } from '../../contract/runs/results';
import type { Agent, RunResult } from '../core/agent/agent';
import type { AgentEventDetail, EventPublisher } from '../core/events/events';

/**
 * What every cloud's entry points do with a run's outcome, so an agent answers, fails and
 * announces itself the same way on AWS and on Azure: the verdict on a run (contract/runs), the
 * response body and status, and the run.completed / run.failed events.
 */

/** A run that did not succeed for a reason worth another delivery; thrown so the queue delivers it again. */
export class RetryableRunError extends Error {
  constructor(
    readonly runId: string,
    readonly reason: string,
  ) {
    super(`run ${runId} did not finish: ${reason}`);
    this.name = 'RetryableRunError';
  }
}

/** Time kept back from the platform's deadline to write the audit, job status and events. */
export function deadlineFrom(remainingMs: number, now = Date.now()): number {
  // Whole milliseconds: timers refuse fractions.
  return Math.floor(now + remainingMs - Math.max(2_000, Math.min(10_000, remainingMs * 0.1)));
}

/** The verdict on a run of `definition`: whether it succeeded, may be retried, or failed for good. */
export const verdictOf = (definition: AgentDefinition, result: RunResult): RunVerdict => runVerdict(result, definition.output !== undefined);

/** What a caller gets back for a finished run. */
export function summary(result: RunResult) {
  return {
    runId: result.runId,
    stopReason: result.stopReason,
    output: result.output,
    ...(result.structuredOutput !== undefined && { structuredOutput: result.structuredOutput }),
    usage: result.usage,
    costUsd: result.costUsd,
    ...(result.model && { provider: result.provider, model: result.model }),
    ...(result.chain || result.children?.length ? { correlationId: result.correlationId } : {}),
    ...(result.children?.length && { children: result.children }),
    ...(result.delegatedCostUsd && { delegatedCostUsd: result.delegatedCostUsd }),
  };
}

/** What a synchronous caller is answered, with the verdict behind it. */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly outcome: RunVerdict['outcome'];
  /** Why the run did not succeed. */
  readonly reason?: string;
  /** The run's result, unless the runtime itself failed. */
  readonly result?: RunResult;
}

/**
 * A synchronous run from an HTTP caller, announced, as a status and body: 200 with the answer; for
 * a run that ended without a valid one, the verdict's status (422 without valid output, 502 a model
 * refused the request, 503 no model available, 504 out of time) with the reason; 500 when the
 * runtime itself failed.
 */
export async function answerNow(
  runtime: { readonly agent: Agent; readonly events: EventPublisher },
  definition: AgentDefinition,
  run: { readonly runId: string; readonly input: string | Record<string, unknown>; readonly deadline: number },
): Promise<Answer> {
  const { runId } = run;
  let result: RunResult;
  try {
    result = await runtime.agent.run({ ...run, trigger: 'api' });
  } catch (e) {
    console.error(JSON.stringify({ message: 'run failed', runId, error: (e as Error).message }));
    await publishFailure(runtime.events, definition, runId, 'api', e, { status: 'failed' });
    return { status: 500, body: { message: 'the agent failed; see its logs under this run id', runId }, outcome: 'retryable', reason: `the runtime failed: ${(e as Error).message}` };
  }
  const verdict = verdictOf(definition, result);
  if (verdict.outcome === 'succeeded') {
    await publishRun(runtime.events, definition, 'run.completed', result);
    return { status: 200, body: summary(result), outcome: 'succeeded', result };
  }
  await publishRun(runtime.events, definition, 'run.failed', result, { error: verdict.reason!, status: 'failed' });
  return {
    status: verdict.status,
    outcome: verdict.outcome,
    reason: verdict.reason!,
    result,
    body: {
      message: verdict.reason,
      runId,
      stopReason: result.stopReason,
      ...(verdict.outcome === 'retryable' && { retryable: true }),
      ...(result.validation && { validation: result.validation }),
      ...(result.output && { output: result.output }),
    },
  };
}

/** Announces a finished run. A lost event is logged, never allowed to fail the run it reports. */
export async function publishRun(
  events: EventPublisher,
  definition: AgentDefinition,
  type: 'run.completed' | 'run.failed',
  result: RunResult,
  extra: Partial<AgentEventDetail> = {},
): Promise<void> {
  try {
    await events.publish(type, {
      ...identity(definition, result.runId, extra.trigger ?? 'api'),
      stopReason: result.stopReason,
      output: result.output,
      ...(result.structuredOutput !== undefined && { structuredOutput: result.structuredOutput }),
      ...(result.validation && { validation: result.validation }),
      usage: result.usage,
      costUsd: result.costUsd,
      ...(result.chain && { chain: result.chain }),
      ...extra,
    });
  } catch (e) {
    console.error(JSON.stringify({ message: 'could not publish agent event', type, runId: result.runId, error: (e as Error).message }));
  }
}

/** Announces a run that ended without a result (it threw, or its message was unusable). */
export async function publishFailure(
  events: EventPublisher,
  definition: AgentDefinition,
  runId: string,
  trigger: string,
  error: unknown,
  extra: Partial<AgentEventDetail> & { status: JobStatus },
): Promise<void> {
  await events
    .publish('run.failed', { ...identity(definition, runId, trigger), error: error instanceof Error ? error.message : String(error), ...extra })
    .catch((e) => console.error(JSON.stringify({ message: 'could not publish agent event', runId, error: (e as Error).message })));
}

/** Who announces an agent event, of which run and how it came: the fields every event's detail starts with. */
export function identity(definition: AgentDefinition, runId: string, trigger: string) {
  return { version: 1, runId, agent: definition.name, cohort: definition.cohort, trigger, promptVersion: definition.promptVersion, definitionVersion: definition.version } as const;
}
