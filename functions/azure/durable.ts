import { trace } from '@opentelemetry/api';
import { attemptId } from '../../contract/audit/layout';
import type { ApprovalDecision } from '../../contract/jobs/job-record';
import type { AuditRecord, StepRecord } from '../core/audit/records';
import { withinDeadline, type ApprovalRequest, type RunState } from '../core/agent/steps';
import { RunChain } from '../core/chain/chain';
import type { Runtime } from '../entry/assemble';
import { approvalDecided, approvalRequested, durableJobRunning, failDurable, markStep, parseDecision, settleDurable } from '../entry/durable';
import type { QueuedRun } from '../entry/queued';
import { keepSmall, readKept, type CheckpointReference } from '../entry/checkpoints';

/**
 * Durable runs on Azure Durable Functions. The orchestrator is a generator that only loops: every
 * step of the run (deciding, calling the model, running the tools, checking the answer, writing
 * the job record) is one call of the `agent-step` activity, whose result the framework records
 * and, when the orchestrator replays after a crash, a deploy or a wait, hands back without running
 * the activity again. A call that needs approval waits on an external event raced against a
 * durable timer: no function runs while it waits.
 */

/** The functions a durable agent's app registers. */
export const DURABLE_FUNCTIONS = { orchestrator: 'agent-run', step: 'agent-step' } as const;

/** What starts a durable run: the run, as its job or task describes it. */
export interface DurableRunInput {
  readonly run: QueuedRun;
}

/** The part of durable-functions' orchestration context (`context.df`) the orchestrator uses. */
export interface OrchestrationCalls {
  readonly currentUtcDateTime: Date;
  callActivity(name: string, input?: unknown): unknown;
  waitForExternalEvent(name: string): unknown;
  createTimer(fireAt: Date): { readonly isCompleted: boolean; cancel(): void };
  readonly Task: { any(tasks: unknown[]): unknown };
  newGuid(input: string): string;
}

/** What the `agent-step` activity is asked to do. */
export type StepInput =
  | { readonly type: 'running'; readonly run: QueuedRun }
  | { readonly type: 'step'; readonly run: QueuedRun; readonly attempt: string; readonly started: number; readonly state?: KeptState; readonly decisions: Readonly<Record<string, ApprovalDecision>> }
  | { readonly type: 'approval-requested'; readonly run: QueuedRun; readonly step: number; readonly request: ApprovalRequest; readonly expiresAt: string }
  | { readonly type: 'approval-decided'; readonly run: QueuedRun; readonly decision: ApprovalDecision }
  | { readonly type: 'failed'; readonly run: QueuedRun; readonly error: string }
  | { readonly type: 'finish'; readonly run: QueuedRun; readonly attempt: string; readonly started: number; readonly state: KeptState; readonly records: readonly (StepRecord | CheckpointReference)[] };

/**
 * The run's state as the orchestration carries it: whole while it is small, and once the
 * conversation outgrows a checkpoint, a reference to it in the agent's state store, so the history
 * does not hold the whole conversation again at every step.
 */
export type KeptState = RunState | CheckpointReference;

/** What one `step` gives back: the state after it, whether the run ended, and the turn's record; or the calls waiting for people. */
export type StepResult = { readonly state: KeptState; readonly ended: boolean; readonly record?: StepRecord | CheckpointReference } | { readonly approvals: readonly ApprovalRequest[]; readonly step: number };

/** The orchestrator: the run's steps in order, approvals in between, the ending last. */
export function* orchestrateRun(df: OrchestrationCalls, input: DurableRunInput): Generator<unknown, unknown, unknown> {
  const { run } = input;
  const step = DURABLE_FUNCTIONS.step;
  // The orchestration's clock and ids are replay-safe: the same on every replay.
  const started = df.currentUtcDateTime.getTime();
  const attempt = attemptId(started, df.newGuid(`${run.runId}/attempt`).replace(/-/g, '').slice(0, 6));
  const running = yield df.callActivity(step, { type: 'running', run } satisfies StepInput);
  // Cancelled while it waited in the queue: it never starts.
  if (running === 'cancelled') return { runId: run.runId, status: 'cancelled' };
  let state: KeptState | undefined;
  let decisions: Record<string, ApprovalDecision> = {};
  const records: (StepRecord | CheckpointReference)[] = [];
  try {
    for (;;) {
      const result = (yield df.callActivity(step, { type: 'step', run, attempt, started, ...(state && { state }), decisions } satisfies StepInput)) as StepResult;
      if ('approvals' in result) {
        for (const request of result.approvals) decisions[request.callId] = (yield* awaitApproval(df, run, result.step, request)) as ApprovalDecision;
        continue;
      }
      state = result.state;
      decisions = {};
      if (result.record) records.push(result.record);
      if (result.ended) break;
    }
    return yield df.callActivity(step, { type: 'finish', run, attempt, started, state, records } satisfies StepInput);
  } catch (e) {
    // An activity that failed (a store that refused a write, the host's timeout under a model
    // call) fails the run: recorded and announced, never left `running`; the orchestration then
    // fails with it.
    yield df.callActivity(step, { type: 'failed', run, error: (e as Error).message } satisfies StepInput);
    throw e;
  }
}

/** A person's decision on a call, raced against its expiry; the event is `approval-STEP-CALL`. */
function* awaitApproval(df: OrchestrationCalls, run: QueuedRun, step: number, request: ApprovalRequest): Generator<unknown, ApprovalDecision, unknown> {
  const expiresAt = new Date(df.currentUtcDateTime.getTime() + request.timeoutSeconds * 1000);
  yield df.callActivity(DURABLE_FUNCTIONS.step, { type: 'approval-requested', run, step, request, expiresAt: expiresAt.toISOString() } satisfies StepInput);
  const decided = df.waitForExternalEvent(approvalEventName(step, request.callId));
  const timer = df.createTimer(expiresAt);
  const winner = yield df.Task.any([decided, timer]);
  const raised = (decided as { result?: unknown }).result;
  const decision: ApprovalDecision = winner === decided ? parseDecision(typeof raised === 'string' ? raised : JSON.stringify(raised)) : { decision: 'expired', at: expiresAt.toISOString() };
  if (!timer.isCompleted) timer.cancel();
  yield df.callActivity(DURABLE_FUNCTIONS.step, { type: 'approval-decided', run, decision } satisfies StepInput);
  return decision;
}

/** The external event an approval of call `callId` in step `step` is raised as. */
export const approvalEventName = (step: number, callId: string) => `approval-${step}-${callId}`;

const tracer = trace.getTracer('serverless-agents');

/** The `agent-step` activity: one step of a run, done once; the framework records what it returns. */
export async function agentStep(runtime: Runtime, input: StepInput): Promise<unknown> {
  const { agent } = runtime;
  const definition = runtime.config.definition;
  const chainOf = (run: QueuedRun, started: number) => new RunChain(definition, run.runId, started + definition.limits.timeoutSeconds * 1000, started, run.task);
  switch (input.type) {
    case 'running':
      return durableJobRunning(runtime, input.run);
    case 'approval-requested':
      return approvalRequested(runtime, input.run)({ ...input.request, step: input.step, expiresAt: input.expiresAt });
    case 'approval-decided':
      return approvalDecided(runtime, input.run)(input.decision);
    case 'failed':
      return failDurable(runtime, input.run, input.error);
    case 'step': {
      const { run } = input;
      const chain = chainOf(run, input.started);
      const state = input.state ? await readKept(input.state, runtime.durable) : agent.begin(run.input);
      const action = agent.next(state, chain, Date.now());
      const keep = async (next: RunState, record?: StepRecord): Promise<StepResult> => ({
        state: await keepSmall(next, `${run.runId}/state-${action.type === 'end' ? 'end' : `${action.type}-${action.step}`}`, runtime.durable),
        ended: next.ended !== undefined,
        ...(record && { record: await keepSmall(record, `${run.runId}/record-${next.steps}`, runtime.durable) }),
      });
      if (action.type === 'end') return keep({ ...state, ended: action.ending });
      if (action.type === 'tools' && action.approvals.some((a) => !input.decisions[a.callId])) {
        const now = Date.now();
        return { approvals: action.approvals.filter((a) => !input.decisions[a.callId]).map((a) => withinDeadline(a, chain.deadline, now)), step: action.step } satisfies StepResult;
      }
      await markStep(runtime, run, action.type, action.step);
      const span = tracer.startSpan(`invoke_agent ${definition.name}`);
      try {
        const signal = AbortSignal.timeout(Math.max(0, Math.floor(chain.deadline - Date.now())));
        const outcome = await agent.perform(state, action, { signal, deadline: chain.deadline, span, chain, request: run, approvals: input.decisions });
        const applied = agent.apply(state, action, outcome, { runId: run.runId, attempt: input.attempt });
        return keep(applied.state, applied.record);
      } finally {
        span.end();
      }
    }
    case 'finish': {
      const { run } = input;
      const records: AuditRecord[] = await Promise.all(input.records.map((r) => readKept(r, runtime.durable)));
      const state = await readKept(input.state, runtime.durable);
      const result = agent.conclude({ runId: run.runId, input: run.input, trigger: run.trigger, deadline: input.started + definition.limits.timeoutSeconds * 1000, attempt: input.attempt }, input.started, state, records, chainOf(run, input.started));
      await agent.close(records, input.started);
      return settleDurable(runtime, run, result);
    }
  }
}
