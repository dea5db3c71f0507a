import { hopRefusal, taskRunId, type AgentTask, type ChainEnvelope, type Refusal, type TaskKind, type TaskResult } from '../../../contract/chain/envelope';
import type { AgentDefinition } from '../../../contract/definition/define';
import type { ChainLink, ChildRun, JobRecord } from '../../../contract/jobs/job-record';
import type { Usage } from '../models/types';
import { totalTokens } from '../telemetry/pricing';

export type { AgentTask, ChainEnvelope, TaskResult };

/**
 * How an agent reaches the agents it delegates to, by each cloud's means: a direct invocation
 * (Lambda, or the agent's task route on Azure), the bus (EventBridge, Event Grid) for queued
 * tasks, and the target's job records for a job's result.
 */
export interface AgentDelegates {
  /** Runs the task on its target now; the target's answer, or a throw when it could not answer. */
  call(task: AgentTask, signal?: AbortSignal): Promise<TaskResult>;
  /** Puts the task on its target's queue, by reference when it is too large for a message. */
  send(task: AgentTask): Promise<void>;
  /** The target's record of a task's run. */
  status(agent: string, runId: string): Promise<JobRecord | undefined>;
}

/** A task that arrived with the run: the envelope and how it came. */
export interface IncomingTask {
  readonly kind: TaskKind;
  readonly from: string;
  readonly chain: ChainEnvelope;
}

/** A run's link to the run that sent it as `task`: the chain, the sending run and agent, the hop, how it came. */
export function chainLinkOf(task: Pick<IncomingTask, 'kind' | 'from'> & { readonly chain: Pick<ChainEnvelope, 'correlationId' | 'causationId' | 'hop'> }): ChainLink {
  return { correlationId: task.chain.correlationId, parentRunId: task.chain.causationId, parentAgent: task.from, hop: task.chain.hop, kind: task.kind };
}

/** What a run's delegations have spent and the tasks it sent: the part of its chain that changes as it runs. */
export interface ChainSpend {
  readonly delegatedCostUsd: number;
  readonly delegatedTokens: number;
  readonly children: readonly ChildRun[];
}

export const NO_CHAIN_SPEND: ChainSpend = { delegatedCostUsd: 0, delegatedTokens: 0, children: [] };

/**
 * One run's place in its chain: the limits it inherits (the smaller of its own and what the chain
 * has left), what it spends through its delegations, the tasks it sends, and the envelope each
 * carries. A run nobody sent starts a chain of its own, whose correlation id is its run id.
 */
export class RunChain {
  readonly correlationId: string;
  /** The run's link to the run that sent it, if one did. */
  readonly link?: ChainLink;
  readonly hop: number;
  readonly maxHops: number;
  readonly cohort: string;
  /** The chain's deadline, which hand-offs and jobs inherit. */
  readonly chainDeadline: number;
  /** The run's own deadline: its platform's, or the caller's if sooner. */
  readonly deadline: number;
  readonly costBudget: number;
  readonly tokenBudget: number;
  private readonly path: readonly string[];
  private delegated = { costUsd: 0, tokens: 0 };
  private readonly sent: ChildRun[] = [];

  constructor(
    private readonly agent: AgentDefinition,
    private readonly runId: string,
    runDeadline: number,
    started: number,
    incoming?: IncomingTask,
  ) {
    const chain = incoming?.chain;
    this.correlationId = chain?.correlationId ?? runId;
    if (incoming) this.link = chainLinkOf(incoming);
    this.hop = chain?.hop ?? 0;
    this.maxHops = Math.min(agent.limits.maxHops, chain?.maxHops ?? Infinity);
    this.cohort = chain?.cohort ?? agent.cohort;
    this.chainDeadline = chain?.deadline ?? started + chainTimeoutSeconds(agent.limits) * 1000;
    this.deadline = Math.min(runDeadline, this.chainDeadline);
    this.costBudget = Math.min(agent.limits.budgetUsd, chain?.budget.costUsd ?? Infinity);
    this.tokenBudget = Math.min(agent.limits.maxTotalTokens, chain?.budget.tokens ?? Infinity);
    this.path = [...(chain?.path ?? []), agent.name];
  }

  /** What the run's delegations have spent, counted against its budgets beside its own spending. */
  get delegatedCostUsd(): number {
    return this.delegated.costUsd;
  }

  get delegatedTokens(): number {
    return this.delegated.tokens;
  }

  get children(): readonly ChildRun[] {
    return this.sent;
  }

  /**
   * The task to send `to`, or why it may not go. `spent` is what the run has spent itself so far;
   * the task carries what the chain has left after it and every delegation before.
   */
  task(kind: TaskKind, to: string, input: string | Record<string, unknown>, spent: { costUsd: number; usage: Usage }, traceparent?: string): AgentTask | Refusal {
    const chain: ChainEnvelope = {
      correlationId: this.correlationId,
      causationId: this.runId,
      hop: this.hop + 1,
      maxHops: this.maxHops,
      // A called agent answers within this run; a hand-off or job has what is left of the chain.
      deadline: kind === 'call' ? this.deadline : this.chainDeadline,
      budget: {
        costUsd: this.costBudget - spent.costUsd - this.delegated.costUsd,
        tokens: this.tokenBudget - totalTokens(spent.usage) - this.delegated.tokens,
      },
      cohort: this.cohort,
      ...(traceparent && { traceparent }),
      path: this.path,
    };
    const runId = taskRunId(this.runId, kind, to, input);
    const refused = hopRefusal(chain, to);
    if (refused) {
      this.sent.push({ runId, agent: to, kind, status: 'refused', error: refused.message });
      return refused;
    }
    return { version: 1, kind, from: this.agent.name, to, runId, input, chain };
  }

  /** Counts what a delegation spent against the run's (and so the chain's) budgets. */
  spend(result: Pick<TaskResult, 'usage' | 'costUsd'>): void {
    this.delegated = {
      costUsd: this.delegated.costUsd + (result.costUsd ?? 0),
      tokens: this.delegated.tokens + (result.usage ? totalTokens(result.usage) : 0),
    };
  }

  /** What the delegations have spent and the tasks sent, to keep with the run's state. */
  snapshot(): ChainSpend {
    return { delegatedCostUsd: this.delegated.costUsd, delegatedTokens: this.delegated.tokens, children: [...this.sent] };
  }

  /** Takes up a snapshot again: a run resumed from its state, in whatever process. */
  restore(spend: ChainSpend): void {
    this.delegated = { costUsd: spend.delegatedCostUsd, tokens: spend.delegatedTokens };
    this.sent.splice(0, this.sent.length, ...spend.children);
  }

  /** Records a task sent (or updates it, by run id) as the run last saw it. */
  child(child: ChildRun): void {
    const at = this.sent.findIndex((c) => c.runId === child.runId);
    if (at >= 0) this.sent[at] = child;
    else this.sent.push(child);
  }
}

/** How long a chain an agent starts may run: its own setting, or an hour, or its run limit when that is longer. */
export const chainTimeoutSeconds = (limits: AgentDefinition['limits']) => limits.chainTimeoutSeconds ?? Math.max(3600, limits.timeoutSeconds);

export const isRefusal = (value: AgentTask | Refusal): value is Refusal => typeof (value as Refusal).reason === 'string' && !('chain' in value);
