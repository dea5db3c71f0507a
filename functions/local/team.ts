import type { AgentTask, TaskResult } from '../../contract/chain/envelope';
import type { AgentDelegates } from '../core/chain/chain';
import { MemoryTaskInbox, packTask, type TaskInbox } from '../core/chain/inbox';
import type { Runtime } from '../entry/assemble';
import { deadlineFrom } from '../entry/outcome';
import { runTask } from '../entry/tasks';
import { isReportTo, recordChildReport } from '../entry/child-reports';
import type { AgentEventDetail, EventPublisher } from '../core/events/events';

/** A hand-off's or job's end, reported to the agent that sent it. */
interface Report {
  readonly reportTo: string;
  readonly detail: AgentEventDetail;
}

/**
 * A team of agents in one process: calls run the other agent's runtime at once; jobs and hand-offs
 * go on an in-process queue delivered as the clouds deliver them (at least once, up to
 * `maxDeliveries`, the last failure final), through the same task entry the deployed handlers use.
 * For `npm run agent` and tests; it is the deployed wiring minus the network.
 */
export class LocalAgentTeam {
  private readonly runtimes = new Map<string, Runtime>();
  private readonly pending: { task: AgentTask | Report; deliveries: number }[] = [];
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  /** Every task sent on the queue, as sent: for tests that deliver one again. */
  readonly sent: AgentTask[] = [];

  constructor(
    readonly inbox: TaskInbox = new MemoryTaskInbox(),
    private readonly options: { readonly maxDeliveries?: number; readonly log?: (line: string) => void } = {},
  ) {}

  /** Adds an agent's runtime, assembled with `delegates(name)`. */
  add(runtime: Runtime): this {
    this.runtimes.set(runtime.config.definition.name, runtime);
    return this;
  }

  runtime(agent: string): Runtime {
    const runtime = this.runtimes.get(agent);
    if (!runtime) throw new Error(`agent ${agent} is not in this team (${[...this.runtimes.keys()].join(', ')})`);
    return runtime;
  }

  /** How agent `from` reaches the others. */
  delegates(): AgentDelegates {
    return {
      call: (task) => this.deliver(task, 'call'),
      send: async (task) => {
        const packed = await packTask(task, this.inbox);
        this.sent.push(packed);
        this.enqueue(packed);
      },
      status: async (agent, runId) => this.runtime(agent).jobs?.get(runId),
    };
  }

  /**
   * An agent's event publisher in the team: events go to `publisher` as they are, and the reports
   * of a hand-off's or job's end (`result.to.SENDER`) also to their sender's queue, as the team's
   * rule delivers them in the clouds.
   */
  events(publisher: EventPublisher): EventPublisher {
    return {
      publish: async (type, detail) => {
        await publisher.publish(type, detail);
        const to = [...this.runtimes.keys()].find((name) => isReportTo(type, name));
        if (to) this.enqueue({ reportTo: to, detail });
      },
    };
  }

  /** Delivers `task` once more, as a queue delivering a duplicate would. */
  redeliver(task: AgentTask): void {
    this.enqueue(task);
  }

  /** Resolves when no task is waiting or running. */
  idle(): Promise<void> {
    if (!this.pending.length && !this.inFlight) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    await Promise.all([...this.runtimes.values()].map((r) => r.close()));
  }

  private enqueue(task: AgentTask | Report, deliveries = 0): void {
    this.pending.push({ task, deliveries });
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    const next = this.pending.shift();
    if (!next) return;
    this.inFlight++;
    const deliveries = next.deliveries + 1;
    const max = this.options.maxDeliveries ?? 3;
    try {
      if ('reportTo' in next.task) await recordChildReport(this.runtime(next.task.reportTo).jobs, next.task.reportTo, next.task.detail, this.options.log);
      else await this.deliver(next.task, deliveries >= max ? 'last' : 'queue');
    } catch (e) {
      this.options.log?.(JSON.stringify({ message: 'task delivery failed; delivering it again', runId: 'reportTo' in next.task ? next.task.detail.runId : next.task.runId, deliveries, error: (e as Error).message }));
      if (deliveries < max) this.pending.push({ task: next.task, deliveries });
    } finally {
      this.inFlight--;
      if (this.pending.length) setImmediate(() => void this.drain());
      else if (!this.inFlight) for (const resolve of this.waiters.splice(0)) resolve();
    }
  }

  private deliver(task: AgentTask, how: 'call' | 'queue' | 'last'): Promise<TaskResult> {
    const runtime = this.runtime(task.to);
    const deadline = deadlineFrom(runtime.config.definition.limits.timeoutSeconds * 1000);
    return runTask(runtime, task, { deadline, ...(how === 'last' && { lastDelivery: 'dead_lettered' as const }), ...(this.options.log && { log: this.options.log }) });
  }
}
