import { CallbackTimeoutError, DurableOperationError, type DurableContext } from '@aws/durable-execution-sdk-js';
import type { ApprovalDecision } from '../../contract/jobs/job-record';
import type { ApprovalRequest, StepRunner } from '../core/agent/steps';
import type { AgentTask, TaskResult } from '../core/chain/chain';
import { parseDecision } from '../entry/durable';

/**
 * The steps of a run on a Lambda durable function: each step is a durable step, recorded once and
 * returned from its checkpoint on every replay; an approval is a durable callback, for which no
 * function runs while it waits. The callback's id goes with the waiting record, where the
 * approvals route finds it; an approval not given before its timeout is `expired`.
 */
export function durableSteps(
  ctx: DurableContext,
  hooks: {
    /** The call waits for a person, under `callbackId`: record and announce it (run once). */
    readonly requested: (request: ApprovalRequest & { readonly step: number; readonly expiresAt: string; readonly callbackId: string }) => Promise<void>;
    /** A decision came: record it (run once). */
    readonly decided: (decision: ApprovalDecision) => Promise<void>;
  },
  /** The function (name or ARN, with its alias) each agent this one calls runs in. */
  peers?: Readonly<Record<string, { readonly function: string }>>,
): StepRunner {
  return {
    durable: true,
    // A called agent runs as a chained invoke: this execution suspends, no function runs while
    // the other agent works, and its answer is recorded like a step's.
    ...(peers && {
      awaitAgent: async (name: string, task: AgentTask): Promise<TaskResult> => {
        const peer = peers[task.to];
        if (!peer) return { runId: task.runId, agent: task.to, status: 'failed', error: `agent ${task.to} is not one this agent may call` };
        try {
          return await ctx.invoke<{ agentTask: AgentTask }, TaskResult>(name, peer.function, { agentTask: task });
        } catch (e) {
          // The other agent's function failed or timed out: the model is told, as when it is called directly.
          if (e instanceof DurableOperationError) return { runId: task.runId, agent: task.to, status: 'failed', error: `agent ${task.to} failed: ${e.message}` };
          throw e;
        }
      },
    }),
    step: <T>(name: string, perform: () => Promise<T>) => ctx.step(name, async () => perform()) as Promise<T>,
    approval: async (name, request) => {
      const step = Number(/^approval-(\d+)-/.exec(name)?.[1] ?? 0);
      // When the wait started, as recorded: the expiry the approver is shown is the same on every replay.
      const expiresAt = await ctx.step(`${name}-asked`, async () => new Date(Date.now() + request.timeoutSeconds * 1000).toISOString());
      let decision: ApprovalDecision;
      try {
        const answer = await ctx.waitForCallback(name, async (callbackId) => hooks.requested({ ...request, step, expiresAt, callbackId }), { timeout: { seconds: request.timeoutSeconds } });
        decision = parseDecision(answer);
      } catch (e) {
        // By class: the runtime bundle is minified, and error names with it.
        if (!(e instanceof CallbackTimeoutError)) throw e;
        decision = { decision: 'expired', at: expiresAt };
      }
      await ctx.step(`${name}-decided`, async () => hooks.decided(decision));
      return decision;
    },
    // Cut off at the run's deadline only: an invocation that ends under a step (Lambda's 15 minutes)
    // leaves the step unrecorded, and the engine performs it again in the next invocation, instead
    // of recording a deadline the run has not reached.
    signal: (deadline) => AbortSignal.timeout(Math.max(0, Math.floor(deadline - Date.now()))),
  };
}
