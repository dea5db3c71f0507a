import type { AgentDefinition } from '../../contract/definition/define';
import type { Agent, RunResult } from '../core/agent/agent';
import type { AgentEventDetail, EventPublisher } from '../core/events/events';
import { AllTargetsFailedError, ModelCallError } from '../core/models/router';

/**
 * What every cloud's entry points do with a run's outcome, so an agent answers, fails and
 * announces itself the same way on AWS and on Azure: the response body, the HTTP status of a
 * failure, and the run.completed / run.failed events.
 */

/** An answer that broke the agent's output contract even after repair. Not worth a retry. */
export class OutputValidationError extends Error {
  constructor(readonly result: RunResult) {
    super(`the answer failed validation: ${result.validation?.problems.map((p) => `${p.path || '(answer)'}: ${p.message}`).join('; ')}`);
    this.name = 'OutputValidationError';
  }
}

/** Time kept back from the platform's deadline to write the audit, job status and events. */
export function deadlineFrom(remainingMs: number, now = Date.now()): number {
  return now + remainingMs - Math.max(2_000, Math.min(10_000, remainingMs * 0.1));
}

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
  };
}

/**
 * A synchronous run from an HTTP caller, announced, as a status and body: 200 with the answer,
 * 422 when the answer broke its contract, 503 when no model could answer (worth a retry), else 502.
 */
export async function answerNow(
  runtime: { readonly agent: Agent; readonly events: EventPublisher },
  definition: AgentDefinition,
  run: { readonly runId: string; readonly input: string | Record<string, unknown>; readonly deadline: number },
): Promise<{ status: number; body: unknown }> {
  const { runId } = run;
  try {
    const result = await runtime.agent.run({ ...run, trigger: 'api' });
    if (result.validation && !result.validation.ok) {
      await publishRun(runtime.events, definition, 'run.failed', result, { error: 'output validation failed' });
      return { status: 422, body: { message: 'the answer failed validation', runId, validation: result.validation, output: result.output } };
    }
    await publishRun(runtime.events, definition, 'run.completed', result);
    return { status: 200, body: summary(result) };
  } catch (e) {
    console.error(JSON.stringify({ message: 'run failed', runId, error: (e as Error).message }));
    await publishFailure(runtime.events, definition, runId, 'api', e);
    if (e instanceof AllTargetsFailedError || (e instanceof ModelCallError && e.modelError.retryable)) {
      return { status: 503, body: { message: 'no model is available right now; retry later', runId } };
    }
    return { status: 502, body: { message: 'the agent failed; see its logs under this run id', runId } };
  }
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
      ...extra,
    });
  } catch (e) {
    console.error(JSON.stringify({ message: 'could not publish agent event', type, runId: result.runId, error: (e as Error).message }));
  }
}

/** Announces a run that threw before it had a result and will not be run again. */
export async function publishFailure(events: EventPublisher, definition: AgentDefinition, runId: string, trigger: string, error: unknown, extra: Partial<AgentEventDetail> = {}): Promise<void> {
  await events
    .publish('run.failed', { ...identity(definition, runId, trigger), error: (error as Error).message, ...extra })
    .catch((e) => console.error(JSON.stringify({ message: 'could not publish agent event', runId, error: (e as Error).message })));
}

function identity(definition: AgentDefinition, runId: string, trigger: string) {
  return { version: 1, runId, agent: definition.name, cohort: definition.cohort, trigger, promptVersion: definition.promptVersion, definitionVersion: definition.version } as const;
}
