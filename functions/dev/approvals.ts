import type { ApprovalDecision, WaitingForApproval } from '../../contract/jobs/job-record';
import type { StepRunner } from '../core/agent/steps';
import type { Runtime } from '../entry/assemble';
import { NoLongerWaiting } from '../entry/approvals';
import { approvalDecided, approvalRequested } from '../entry/durable';
import type { QueuedRun } from '../entry/queued';

/** A tool call a durable run waits on, as the console lists it. */
export interface PendingApproval extends WaitingForApproval {
  readonly agent: string;
  readonly jobId: string;
}

/**
 * A durable agent's runs in one process: each step performed at once (a laptop keeps the run in
 * memory, so nothing is replayed), and a call that needs a person waiting, with the job record and
 * `approval.requested` exactly as the clouds' engines leave them, until the approvals route decides
 * it or its timeout expires it.
 */
export class DevApprovals {
  private readonly waits = new Map<string, { readonly pending: PendingApproval; readonly resolve: (decision: ApprovalDecision) => void }>();

  /** The calls waiting for a person, oldest first. */
  pending(): PendingApproval[] {
    return [...this.waits.values()].map((w) => w.pending);
  }

  /** Hands `decision` to the run waiting on `waiting`'s call; NoLongerWaiting if none is. */
  async resume(jobId: string, waiting: WaitingForApproval, decision: ApprovalDecision): Promise<void> {
    const wait = this.waits.get(key(jobId, waiting.callId));
    if (!wait) throw new NoLongerWaiting(`job ${jobId} does not wait on call ${waiting.callId} here`);
    wait.resolve(decision);
  }

  /** Rejects every call still waiting, saying why: the process is stopping, and the runs end. */
  abandon(reason: string): void {
    for (const wait of this.waits.values()) wait.resolve({ decision: 'rejected', reason, at: new Date().toISOString() });
  }

  /** The step runner of one durable run. */
  engine(runtime: Runtime, run: QueuedRun): StepRunner {
    return {
      durable: true,
      step: (_name, perform) => perform(),
      approval: async (name, request) => {
        const step = Number(/^approval-(\d+)-/.exec(name)?.[1] ?? 0);
        const expiresAt = new Date(Date.now() + request.timeoutSeconds * 1000).toISOString();
        const id = key(run.runId, request.callId);
        let timer: NodeJS.Timeout | undefined;
        const decided = new Promise<ApprovalDecision>((resolve) => {
          const waiting: WaitingForApproval = { reason: 'approval', step, callId: request.callId, tool: request.tool, input: request.input, approvers: request.approvers, expiresAt };
          this.waits.set(id, { pending: { ...waiting, agent: runtime.config.definition.name, jobId: run.runId }, resolve });
          timer = setTimeout(() => resolve({ decision: 'expired', at: expiresAt }), request.timeoutSeconds * 1000);
        });
        await approvalRequested(runtime, run)({ ...request, step, expiresAt });
        const decision = await decided;
        clearTimeout(timer);
        this.waits.delete(id);
        await approvalDecided(runtime, run)(decision);
        return decision;
      },
      signal: (deadline) => AbortSignal.timeout(Math.max(0, Math.floor(Math.min(deadline, Date.now() + 2 ** 31 - 1) - Date.now()))),
    };
  }
}

const key = (runId: string, callId: string) => `${runId}\u0000${callId}`;
