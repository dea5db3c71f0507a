import { mergeChildren, type CurrentStep, type JobRecord, type WaitingForApproval } from '../../contract/jobs/job-record';
import type { RunResult } from '../core/agent/agent';
import type { ApprovalDecision, ApprovalRequest, StepRunner } from '../core/agent/steps';
import { chainLinkOf } from '../core/chain/chain';
import type { Runtime } from './assemble';
import { reportingTo } from './child-reports';
import { keepingLargeResults } from './checkpoints';
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
export async function runDurable(runtime: Runtime, run: QueuedRun, engine: StepRunner): Promise<unknown> {
  const { agent } = runtime;
  const kept = keepingLargeResults(engine, runtime.durable, run.runId);
  // Each step performed (not replayed) first says on the run's record which step it is.
  const runner: StepRunner = {
    ...kept,
    step: (name, perform) => {
      const current = /^(model|tools|validate)-(\d+)$/.exec(name);
      return kept.step(name, current ? async () => (await markStep(runtime, run, current[1] as CurrentStep['kind'], Number(current[2])), perform()) : perform);
    },
  };
  const started = await runner.step('job-running', () => durableJobRunning(runtime, run));
  // Cancelled while it waited in the queue: it never starts.
  if (started === 'cancelled') return { runId: run.runId, status: 'cancelled' };
  let result: RunResult;
  try {
    result = await agent.run({ runId: run.runId, input: run.input, trigger: run.trigger, deadline: Number.POSITIVE_INFINITY, ...(run.task && { task: run.task }) }, runner);
  } catch (e) {
    await runner.step('job-settled', () => failDurable(runtime, run, (e as Error).message));
    throw e;
  }
  const done = result;
  return runner.step('job-settled', () => settleDurable(runtime, run, done));
}

/** A durable run's job record, with its place in a chain. */
function durableRecord(runtime: Runtime, run: QueuedRun, status: JobRecord['status'], extra: Partial<JobRecord> = {}, previous?: JobRecord): JobRecord {
  return {
    jobId: run.runId,
    agent: runtime.config.definition.name,
    status,
    updatedAt: new Date().toISOString(),
    ...(run.task && { chain: chainLinkOf(run.task) }),
    // The submitted request's fingerprint stays, so a retry of the same keyed request finds its job.
    ...(previous?.request && { request: previous.request }),
    ...(previous?.deliveries !== undefined && { deliveries: previous.deliveries }),
    ...extra,
  };
}

/**
 * A durable run's own write of its record: read, then written as `next` makes it from what was
 * read, unless a person cancelled the run (the cancellation stands: the engine is being stopped) or
 * `next` leaves it as it is. Returns the record as read.
 */
async function writeOwnRecord(runtime: Runtime, runId: string, next: (previous: JobRecord | undefined) => JobRecord | undefined): Promise<JobRecord | undefined> {
  const previous = await runtime.jobs?.get(runId);
  if (previous?.status === 'cancelled') return previous;
  const record = next(previous);
  // What the run's children reported of their ends since (`recordChildReport`) stays.
  if (record) await runtime.jobs?.put(previous?.children ? { ...record, children: mergeChildren(record.children ?? [], previous.children) } : record);
  return previous;
}

/** The step a durable run is on, on its record: the status route shows it. */
export async function markStep(runtime: Runtime, run: Pick<QueuedRun, 'runId'>, kind: CurrentStep['kind'], number: number): Promise<void> {
  const now = new Date().toISOString();
  await writeOwnRecord(runtime, run.runId, (previous) => (previous?.status === 'running' ? { ...previous, currentStep: { number, kind, startedAt: now }, updatedAt: now } : undefined));
}

/**
 * A durable run the runtime itself failed (not a run that ended without a valid answer, which
 * settles): recorded `failed` with the reason and announced, unless it was cancelled.
 */
export async function failDurable(runtime: Runtime, run: QueuedRun, message: string): Promise<void> {
  const error = new Error(`the runtime failed: ${message}`);
  const previous = await writeOwnRecord(runtime, run.runId, (read) => durableRecord(runtime, run, 'failed', { error: error.message }, read));
  if (previous?.status === 'cancelled') return;
  await publishFailure(reportingTo(runtime.events, run.task), runtime.config.definition, run.runId, run.trigger, error, { ...(run.jobId && { jobId: run.jobId }), status: 'failed' });
}

/** Marks a durable run `running`, its first step; unless it was cancelled before it started. */
export async function durableJobRunning(runtime: Runtime, run: QueuedRun): Promise<'running' | 'cancelled'> {
  const previous = await writeOwnRecord(runtime, run.runId, (read) => durableRecord(runtime, run, 'running', {}, read));
  return previous?.status === 'cancelled' ? 'cancelled' : 'running';
}

/**
 * A durable run's ending, written once (as a step): succeeded, or failed with the reason; the last
 * decision on its tool calls stays on its record; the ending is announced.
 */
export async function settleDurable(runtime: Runtime, run: QueuedRun, result: RunResult): Promise<unknown> {
  const events = reportingTo(runtime.events, run.task);
  const { definition } = runtime.config;
  const verdict = verdictOf(definition, result);
  const jobId = run.jobId ? { jobId: run.jobId } : {};
  const succeeded = verdict.outcome === 'succeeded';
  const previous = await writeOwnRecord(runtime, run.runId, (read) =>
    durableRecord(runtime, run, succeeded ? 'succeeded' : 'failed', { ...jobAnswer(result), ...(read?.lastApproval && { lastApproval: read.lastApproval }), ...(!succeeded && { error: verdict.reason! }) }, read),
  );
  // Cancelled while its last step ran: the cancellation stands.
  if (previous?.status === 'cancelled') return { ...summary(result), status: 'cancelled', error: previous.error };
  if (succeeded) {
    await publishRun(events, definition, 'run.completed', result, { trigger: run.trigger, ...jobId });
    return summary(result);
  }
  await publishRun(events, definition, 'run.failed', result, { trigger: run.trigger, error: verdict.reason!, status: 'failed', ...jobId });
  return { ...summary(result), status: 'failed', error: verdict.reason };
}

/**
 * What a durable engine does when a tool call needs a person: the run's record says what it waits
 * for, and `approval.requested` tells whoever decides. Called once, inside the engine's wait.
 */
export function approvalRequested(runtime: Runtime, run: Pick<QueuedRun, 'runId' | 'jobId' | 'trigger'>) {
  const { definition } = runtime.config;
  return async (request: ApprovalRequest & { readonly step: number; readonly expiresAt: string }): Promise<void> => {
    const waiting: WaitingForApproval = { reason: 'approval', step: request.step, callId: request.callId, tool: request.tool, input: request.input, approvers: request.approvers, expiresAt: request.expiresAt };
    const previous = await writeOwnRecord(runtime, run.runId, (read) => ({ ...(read ?? { jobId: run.runId, agent: definition.name }), status: 'waiting_for_approval', updatedAt: new Date().toISOString(), waiting }));
    if (previous?.status === 'cancelled') return;
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
    await writeOwnRecord(runtime, run.runId, (read) => {
      if (!read) return undefined;
      const { waiting: _waiting, ...rest } = read;
      return { ...rest, status: 'running', updatedAt: new Date().toISOString(), lastApproval: decision };
    });
  };
}

/** A decision as the approvals route sends it; anything else is a rejection that says so. */
export function parseDecision(answer: string): ApprovalDecision {
  try {
    const value = JSON.parse(answer) as Partial<ApprovalDecision>;
    if ((value.decision === 'approved' || value.decision === 'rejected') && typeof value.at === 'string') return value as ApprovalDecision;
  } catch {
    // Not JSON: refused below.
  }
  return { decision: 'rejected', reason: 'the decision could not be read', at: new Date().toISOString() };
}
