import type { JobRecord, WaitingForApproval } from '../../contract/jobs/job-record';
import type { ApprovalDecision, ApprovalRequest, StepRunner } from '../core/agent/steps';
import type { Runtime } from './assemble';
import { publishFailure, publishRun, summary, verdictOf } from './outcome';
import { jobAnswer, type QueuedRun } from './queued';

/**
 * A run carried out by a durable engine (Lambda durable functions, Azure Durable Functions), the
 * same on both clouds. The engine starts one execution per run id, so a run is never started
 * twice; each step of the run, and each write of its job record, is a recorded step, replayed
 * after a crash or a deploy without being done again. The run may wait for people: its record then
 * says `waiting_for_approval`, with the call and its approvers, and `approval.requested` is
 * announced. A durable run's ending is final: succeeded, or failed with the reason (an engine's
 * retries have already been spent on the way).
 */
export async function runDurable(runtime: Runtime, run: QueuedRun, runner: StepRunner): Promise<unknown> {
  const { agent, events, jobs } = runtime;
  const { definition } = runtime.config;
  const record = (status: JobRecord['status'], extra: Partial<JobRecord> = {}): JobRecord => ({
    jobId: run.runId,
    agent: definition.name,
    status,
    updatedAt: new Date().toISOString(),
    ...(run.task && { chain: { correlationId: run.task.chain.correlationId, parentRunId: run.task.chain.causationId, parentAgent: run.task.from, hop: run.task.chain.hop, kind: run.task.kind } }),
    ...extra,
  });
  const jobId = run.jobId ? { jobId: run.jobId } : {};
  await runner.step('job-running', async () => void (await jobs?.put(record('running'))));
  let result;
  try {
    result = await agent.run({ runId: run.runId, input: run.input, trigger: run.trigger, deadline: Number.POSITIVE_INFINITY, ...(run.task && { task: run.task }) }, runner);
  } catch (e) {
    const reason = `the runtime failed: ${(e as Error).message}`;
    await runner.step('job-settled', async () => {
      await jobs?.put(record('failed', { error: reason }));
      await publishFailure(events, definition, run.runId, run.trigger, e, { ...jobId, status: 'failed' });
    });
    throw e;
  }
  const verdict = verdictOf(definition, result);
  const done = result;
  return runner.step('job-settled', async () => {
    // The last decision on the run's tool calls stays on its record.
    const decided = (await jobs?.get(run.runId))?.lastApproval;
    const kept = decided ? { lastApproval: decided } : {};
    if (verdict.outcome === 'succeeded') {
      await jobs?.put(record('succeeded', { ...jobAnswer(done), ...kept }));
      await publishRun(events, definition, 'run.completed', done, { trigger: run.trigger, ...jobId });
      return summary(done);
    }
    await jobs?.put(record('failed', { ...jobAnswer(done), ...kept, error: verdict.reason! }));
    await publishRun(events, definition, 'run.failed', done, { trigger: run.trigger, error: verdict.reason!, status: 'failed', ...jobId });
    return { ...summary(done), status: 'failed', error: verdict.reason };
  });
}

/**
 * What a durable engine does when a tool call needs a person: the run's record says what it waits
 * for, and `approval.requested` tells whoever decides. Called once, inside the engine's wait.
 */
export function approvalRequested(runtime: Runtime, run: Pick<QueuedRun, 'runId' | 'jobId' | 'trigger'>) {
  const { definition } = runtime.config;
  return async (request: ApprovalRequest & { readonly step: number; readonly expiresAt: string }): Promise<void> => {
    const waiting: WaitingForApproval = { reason: 'approval', step: request.step, callId: request.callId, tool: request.tool, input: request.input, approvers: request.approvers, expiresAt: request.expiresAt };
    const previous = await runtime.jobs?.get(run.runId);
    await runtime.jobs?.put({ ...(previous ?? { jobId: run.runId, agent: definition.name }), status: 'waiting_for_approval', updatedAt: new Date().toISOString(), waiting });
    await runtime.events.publish('approval.requested', {
      version: 1,
      runId: run.runId,
      ...(run.jobId && { jobId: run.jobId }),
      agent: definition.name,
      cohort: definition.cohort,
      trigger: run.trigger,
      promptVersion: definition.promptVersion,
      definitionVersion: definition.version,
      status: 'waiting_for_approval',
      approval: waiting,
    });
  };
}

/** What the run's record says once a decision came: running again, the decision kept with it. */
export function approvalDecided(runtime: Runtime, run: Pick<QueuedRun, 'runId'>) {
  return async (decision: ApprovalDecision): Promise<void> => {
    const previous = await runtime.jobs?.get(run.runId);
    if (!previous) return;
    const { waiting: _waiting, ...rest } = previous;
    await runtime.jobs?.put({ ...rest, status: 'running', updatedAt: new Date().toISOString(), lastApproval: decision });
  };
}
