import { parseRequestBody } from '../../contract/api/request';
import type { RequestBody } from '../../contract/api/request';
import type { Runtime } from '../entry/assemble';
import { deadlineFrom } from '../entry/outcome';
import { jobRun, runQueued } from '../entry/queued';

/** A job that failed every delivery, kept with what a dead-letter queue keeps of it. */
export interface DeadLetter {
  /** Its id here: the job's. */
  readonly id: string;
  readonly agent: string;
  readonly jobId: string;
  readonly body: RequestBody;
  readonly deliveries: number;
  /** Why its last delivery failed. */
  readonly error: string;
  readonly deadLetteredAt: string;
}

export interface DevJobQueueOptions {
  /** Deliveries before a job is dead-lettered, as AgentQueue's maxReceiveCount. @default 3 */
  readonly maxDeliveries?: number;
  /** The pause before a failed delivery is tried again (ms). @default 0: at once, on a laptop */
  readonly redeliveryDelayMs?: number;
  readonly log?: (line: string) => void;
}

/**
 * The agents' queues in one process: a job the API accepts is delivered through the same queued-run
 * entry the clouds' queue handlers use (its job record moves through the same states), again after
 * a failure worth another try, and after its last delivery kept as a dead letter, whose job record
 * says `dead_lettered`, until it is redriven.
 */
export class DevJobQueue {
  private readonly dead = new Map<string, DeadLetter>();
  private inFlight = 0;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly runtime: (agent: string) => Runtime,
    private readonly options: DevJobQueueOptions = {},
  ) {}

  /** Queues `body` as job `jobId` of `agent`. */
  send(agent: string, jobId: string, body: RequestBody): void {
    this.deliver(agent, jobId, body, 1);
  }

  /** The dead letters, oldest first. */
  deadLetters(): DeadLetter[] {
    return [...this.dead.values()];
  }

  /** Puts a dead letter back on its agent's queue, its deliveries counted afresh; false if there is none of that id. */
  redrive(id: string): boolean {
    const letter = this.dead.get(id);
    if (!letter) return false;
    this.dead.delete(id);
    this.deliver(letter.agent, letter.jobId, letter.body, 1);
    return true;
  }

  /** Resolves when no job is being delivered or waits to be. */
  idle(): Promise<void> {
    return this.inFlight ? new Promise((resolve) => this.waiters.push(resolve)) : Promise.resolve();
  }

  /** Delivers the job after `delayMs`; counted in flight from now, so `idle` never sees a gap between tries. */
  private deliver(agent: string, jobId: string, body: RequestBody, delivery: number, delayMs = 0): void {
    this.inFlight++;
    const max = this.options.maxDeliveries ?? 3;
    const runtime = this.runtime(agent);
    const last = delivery >= max;
    const run = async () => {
      try {
        await runQueued(runtime, jobRun(jobId, body, parseRequestBody), {
          deadline: deadlineFrom(runtime.config.definition.limits.timeoutSeconds * 1000),
          ...(last && { lastDelivery: 'dead_lettered' as const }),
          ...(this.options.log && { log: this.options.log }),
        });
      } catch (e) {
        if (last) this.dead.set(jobId, { id: jobId, agent, jobId, body, deliveries: delivery, error: (e as Error).message, deadLetteredAt: new Date().toISOString() });
        else this.deliver(agent, jobId, body, delivery + 1, this.options.redeliveryDelayMs ?? 0);
      } finally {
        this.inFlight--;
        if (!this.inFlight) for (const resolve of this.waiters.splice(0)) resolve();
      }
    };
    setTimeout(() => void run(), delayMs);
  }
}
